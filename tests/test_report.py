"""The report from a small hand-made tree: table values, links, figures, stable bytes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from scorelab.io.audio import render_audio
from scorelab.io.midi import write_midi
from scorelab.metrics import evaluate_scores
from scorelab.report.build import build_report, format_value
from scorelab.report.pictures import plot_rolls
from scorelab.score import Score, Track
from scorelab.utils import write_json

PARAMS = {
    "base": {"seed": 7, "profile": "tiny"},
    "datasets": {"jsb_roll": {"corpus": "jsb", "codec": "pianoroll"}, "unused": {"corpus": "x"}},
    "variants": {
        "gan": {"trainer": "adversarial", "dataset": "jsb_roll", "model": "s0_unet"},
        "lstm": {"trainer": "likelihood", "dataset": "jsb_roll", "model": "s4_lstm"},
    },
}


def hand_score(piece_id: str = "a") -> Score:
    """2 tracks, 2 bars, bass silent in bar 2: empty_bar_rate 0.25, QN 80 %, 5 pitches."""
    rows = [(0, 60, 0, 48), (0, 64, 48, 48), (0, 67, 96, 96), (0, 66, 96, 12), (1, 48, 0, 96)]
    return Score.from_notes(rows, tracks=[Track("soprano", 52), Track("bass", 32)], piece_id=piece_id)


def one_note(piece_id: str) -> Score:
    return Score.from_notes([(0, 62, 0, 24)], tracks=[Track("melody", 0)], piece_id=piece_id)


def put(root: Path, rel: str, scores, n_bars=None) -> None:
    """Evaluate ``scores``; headline numbers to metrics/``rel``, everything to evaluation/``rel``."""
    ev = evaluate_scores(scores, step_ticks=6, n_bars=n_bars)
    write_json(root / "metrics" / rel, ev.headline())
    write_json(root / "evaluation" / rel, ev.to_json())


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    logs, samples = tmp_path / "models", tmp_path / "samples"
    put(tmp_path, "data/jsb_roll/train.json", [hand_score()])
    put(tmp_path, "data/jsb_roll/test.json", [hand_score(), one_note("b")])
    put(tmp_path, "variants/gan/samples.json", [one_note("s")])
    put(tmp_path, "variants/gan/accompaniment.json", [])
    put(tmp_path, "variants/lstm/samples.json", [one_note("t")], n_bars=2)
    (logs / "gan").mkdir(parents=True)
    pd.DataFrame(
        {
            "step": [0, 1, 2],
            "loss_g": [1.0, 0.5, 0.2],
            "loss_d": [0.1, 0.2, 0.3],
            "wasserstein": [2.0, 1.0, 0.5],
            "gradient_penalty": [0.3, 0.2, 0.1],
        }
    ).to_csv(logs / "gan/train_log.tsv", sep="\t", index=False)
    (logs / "lstm").mkdir(parents=True)
    pd.DataFrame({"step": [0, 1, 2, 3], "epoch": [0, 0, 1, 1], "train_loss": [3.0, 2.0, 1.5, 1.2]}).to_csv(
        logs / "lstm/train_log.tsv", sep="\t", index=False
    )
    pd.DataFrame({"step": [1, 3], "epoch": [0, 1], "valid_loss": [2.5, 1.8]}).to_csv(
        logs / "lstm/valid_log.tsv", sep="\t", index=False
    )
    gan = [hand_score(f"{i:03d}") for i in range(10)]
    plot_rolls(gan[:4], samples / "gan/rolls.png", title="gan")
    plot_rolls(gan[:2], samples / "gan/accompaniment.png", title="gan accompaniment")
    for s in gan:
        write_midi(s, samples / "gan/midi" / f"{s.piece_id}.mid")
    render_audio(gan[0], samples / "gan/audio/000.wav", sample_rate=8000)
    write_midi(one_note("000"), samples / "lstm/midi/000.mid")
    return tmp_path


def build(tree: Path) -> Path:
    out = tree / "reports"
    build_report(out, tree / "metrics", tree / "models", tree / "samples", PARAMS, tree / "evaluation")
    return out


def markdown_rows(text: str) -> dict[str, dict[str, str]]:
    """Every Markdown table row keyed by its first cell, as {column: cell}."""
    rows, header = {}, None
    for line in text.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if header is None:
            header = cells
        elif not set(line) <= set("|-: "):
            rows[cells[0]] = dict(zip(header, cells, strict=True))
    return rows


def snapshot(folder: Path) -> dict[str, bytes]:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}


def test_table_values(tree):
    readme = (build(tree) / "README.md").read_text()
    rows = markdown_rows(readme)
    train = rows["jsb_roll train"]
    # headline metrics, each with its bootstrap interval (one piece: the interval is the value)
    assert train["EB"] == "25 [25, 25]"  # bass silent in bar 2: 1 of 4 (track, bar) cells
    assert train["unique_pitches"] == "5 [5, 5]" and train["in_scale_ratio"] == "0.8 [0.8, 0.8]"
    assert train["UPC"] == "1.667 [1.667, 1.667]"  # (2 + 1 + 2) / 3 non-empty cells
    assert train["diversity"] == "–"  # a set property: undefined for one piece
    assert "QN" not in train and "pch_00" not in train  # full results only
    test = rows["jsb_roll test"]
    assert test["unique_pitches"].startswith("3 [")  # (5 + 1) / 2
    assert rows["gan samples"]["unique_pitches"] == "1 [1, 1]"
    assert rows["gan accompaniment"]["EB"] == "–"  # an empty set
    assert rows["lstm samples"]["EB"] == "50 [50, 50]"  # 1 note in 2 fixed bars
    assert "lstm accompaniment" not in rows  # optional, absent
    # published numbers, kept apart, labelled as the paper's, and flagged as not comparable
    assert rows["paper: training data"]["EB %"] == "24.8" and rows["paper: MuseGAN"]["QN %"] == "62.2"
    assert rows["paper: generated"]["S4's Manhattan distance"] == "234.88"
    assert rows["paper: data"]["used pitches per piece, std"] == "1.11"
    assert "not directly comparable" in readme
    assert "Profile: tiny. Seed: 7." in readme


def test_links_and_figures(tree):
    out = build(tree)
    readme, page = (out / "README.md").read_text(), (out / "index.html").read_text()
    for text in (readme, page):
        assert "../samples/gan/midi/000.mid" in text and "../samples/gan/midi/007.mid" in text
        assert "008.mid" not in text  # at most 8 per variant
        assert "../samples/gan/audio/000.wav" in text
        assert "../samples/lstm/midi/000.mid" in text
        assert str(tree) not in text  # no absolute paths
    assert "first 8 of 10" in readme
    assert '<audio controls preload="none" src="../samples/gan/audio/000.wav">' in page
    assert "<script" not in page and "http" not in page
    for name in ("pch_jsb_roll", "losses_gan", "losses_lstm", "rolls_gan", "accompaniment_gan"):
        assert (out / "figures" / f"{name}.png").is_file()
        assert f"figures/{name}.png" in readme and f'src="figures/{name}.png"' in page
    assert not (out / "figures/rolls_lstm.png").exists()
    assert (out / "figures/rolls_gan.png").read_bytes() == (tree / "samples/gan/rolls.png").read_bytes()
    for link in [line.split("](")[1].rstrip(")") for line in readme.splitlines() if "](" in line]:
        assert (out / link).is_file(), link


def test_same_inputs_same_bytes(tree):
    first = snapshot(build(tree))
    second = snapshot(build(tree))
    assert first == second
    assert set(first) >= {"README.md", "index.html", "figures/losses_gan.png"}


def test_missing_variant_metrics_is_an_error_naming_the_file(tree):
    before = snapshot(build(tree))
    (tree / "metrics/variants/lstm/samples.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"variants/lstm/samples\.json"):
        build(tree)
    assert snapshot(tree / "reports") == before  # the previous report is left whole


def test_missing_optional_inputs_are_skipped(tmp_path):
    put(tmp_path, "variants/gan/samples.json", [one_note("s")])
    put(tmp_path, "variants/lstm/samples.json", [one_note("t")])
    out = tmp_path / "reports"
    build_report(out, tmp_path / "metrics", tmp_path / "models", tmp_path / "samples", PARAMS)
    readme = (out / "README.md").read_text()
    assert "No training logs found." in readme and "No samples found." in readme
    assert "jsb_roll train" not in markdown_rows(readme)


def test_format_value():
    values = (None, 3, 0.333333, 88.4, 1234.5)
    assert [format_value(v) for v in values] == ["–", "3", "0.3333", "88.4", "1234"]


def test_baseline_table_says_where_a_variant_is_not_closer_than_noise():
    from scorelab.report.build import baseline_table

    rows = [
        ("d train", {"EB": 10.0, "UPC": 3.0, "unique_pitches": 8.0, "diversity": 0.99}),
        ("d noise baseline", {"EB": 0.0, "UPC": 9.0, "unique_pitches": 30.0, "diversity": 0.97}),
        ("g samples", {"EB": 5.0, "UPC": 9.5, "unique_pitches": 12.0, "diversity": 0.5}),
    ]
    table = baseline_table("d", rows)
    # EB: |5-10| < |0-10|; UPC: |9.5-3| > |9-3|; pitches: 4 < 22; diversity: 0.49 > 0.02
    assert table.rows == (("g", "EB, unique_pitches", "UPC, diversity"),)
    assert baseline_table("d", rows[:1]) is None


def test_pitch_class_bars_are_in_pitch_order_not_json_order():
    from scorelab.report.build import pitch_class_rows

    bins = {"pitch_class_histogram": {c: float(i) for i, c in enumerate(sorted(PC))}}  # A, A#, B, C, ...
    rows = [("x", {"__bins": bins}), ("none", {})]
    got = pitch_class_rows(rows)
    assert list(got) == ["x"]
    assert got["x"] == [float(sorted(PC).index(c)) for c in PC]  # C first, B last
    assert got["x"][0] == 3.0  # C is the 4th key alphabetically


PC = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
