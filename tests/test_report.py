"""The report from a small hand-made tree: table values, links, figures, stable bytes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scorelab.io.audio import render_audio
from scorelab.io.midi import write_midi
from scorelab.metrics import evaluate_scores
from scorelab.metrics.registry import headline_keys
from scorelab.pictures import plot_rolls
from scorelab.report.build import KDE_FEATURES, build_report, format_value, trained_on
from scorelab.score import Score, Track, write_notes
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
    """Evaluate ``scores``; headline numbers to metrics/``rel``, everything to evaluation/``rel``
    with the per-piece table beside it (``<set>.pieces.parquet``), as evaluate writes them."""
    ev = evaluate_scores(scores, step_ticks=6, n_bars=n_bars)
    write_json(root / "metrics" / rel, ev.headline())
    write_json(root / "evaluation" / rel, ev.to_json())
    ev.frame().to_parquet(root / "evaluation" / rel.replace(".json", ".pieces.parquet"), index=False)


def put_comparison(root: Path, variant: str, scores, train_scores) -> None:
    """evaluation/variants/``variant``/samples.compare.json, written by evaluate's own code."""
    from scorelab.metrics.notes import NoteSet
    from scorelab.metrics.sets import evaluate_notes
    from scorelab.pipeline.evaluate import compare_with, write_comparison

    ns, train = (NoteSet.from_scores(s, step_ticks=6) for s in (scores, train_scores))
    comparison = compare_with(evaluate_notes(ns, 0, reference=train), ns, train, {})
    folder = root / "evaluation/variants" / variant
    folder.mkdir(parents=True, exist_ok=True)
    write_comparison(folder, "samples", comparison)


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
    accompaniment = [hand_score(f"acc_{i:03d}") for i in range(2)]
    for set_name, scores in (("samples", gan), ("accompaniment", accompaniment)):
        for s in scores:
            s.split = set_name
            write_midi(s, samples / "gan/midi" / f"{s.piece_id}.mid")
    write_notes(samples / "gan", gan + accompaniment)  # pieces.parquet: each set's order
    plot_rolls(gan, samples / "gan/rolls.png", title="gan")
    plot_rolls(accompaniment, samples / "gan/accompaniment.png", title="gan accompaniment")
    for s in (gan[0], gan[1], accompaniment[0]):  # the sample stage renders the first few of a set
        render_audio(s, samples / "gan/audio" / f"{s.piece_id}.wav", sample_rate=8000)
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
        # copies in the report's own folder: they open from a clone without samples/
        assert "media/gan/000.mid" in text and "media/gan/007.mid" in text
        assert "008.mid" not in text  # at most 8 per variant
        assert "media/gan/000.ogg" in text
        assert "media/lstm/000.mid" in text
        assert "../samples" not in text and str(tree) not in text  # nothing outside the report
    assert "first 8 of 12" in readme
    assert '<audio controls preload="none" src="media/gan/000.ogg">' in page
    assert (out / "media/gan/000.mid").read_bytes() == (tree / "samples/gan/midi/000.mid").read_bytes()
    assert "<script" not in page and "http" not in page
    figures = ("pch_jsb_roll", "losses_gan", "losses_lstm", "rolls_gan", "accompaniment_gan")
    figures += ("transitions_gan", "transitions_lstm", "pitches_gan", "pitches_lstm")
    for name in figures:
        assert (out / "figures" / f"{name}.png").is_file()
        assert f"figures/{name}.png" in readme and f'src="figures/{name}.png"' in page
    assert not (out / "figures/rolls_lstm.png").exists()
    # one training piece: no intra-set distances, so no MGEval overlap to draw
    assert not list((out / "figures").glob("mgeval_*.png")) and "MGEval overlap" not in readme
    assert (out / "figures/rolls_gan.png").read_bytes() == (tree / "samples/gan/rolls.png").read_bytes()
    for link in re.findall(r"\]\(([^)]+)\)", readme):
        if link.startswith("#"):  # the summary's and the contents' in-page links
            assert f'id="{link[1:]}"' in page and f'href="{link}"' in page, link
            continue
        assert (out / link).is_file(), link


def sample_rows(page: str) -> list[tuple[str, str, str]]:
    """(name, audio src, MIDI href) of every row of the page's sample tables."""
    rows = re.findall(r"<tr><td>([^<]*)</td>(.*?)</tr>", page)
    out = []
    for name, rest in rows:
        audio = re.findall(r'<audio controls preload="none" src="([^"]+)"></audio>', rest)
        midi = re.findall(r'<a href="([^"]+\.mid)">', rest)
        if audio or midi:
            out.append((name, *(audio or [""]), *(midi or [""])))
    return out


def test_every_shown_sample_has_a_player_and_a_midi_link(tree):
    out = build(tree)
    readme, page = (out / "README.md").read_text(), (out / "index.html").read_text()
    rows = sample_rows(page)
    # the pictures' pieces that have audio, in the pictures' order: samples, then accompaniment
    assert [name for name, _, _ in rows] == ["000", "001", "acc_000"]
    for name, audio, midi in rows:
        assert audio == f"media/gan/{name}.ogg" and midi == f"media/gan/{name}.mid"
        assert (out / audio).is_file() and (out / midi).is_file()
        # Markdown says the same: one table row with both links
        assert f"| {name} | [{name}.ogg]({audio}) | [{name}.mid]({midi}) |" in readme
    assert "samples: 2 of the 8 pieces of the picture" in readme  # SAMPLES_SHOWN
    assert "accompaniment: 1 of the 2 pieces of the picture" in readme
    assert page.count("<audio ") == len(rows)  # no player outside the rows


def test_plot_data_has_one_row_per_variant(tree):
    out = build(tree)
    rows = json.loads((out / "plots/headline.json").read_text())
    assert [(r["variant"], r["set"], r["dataset"]) for r in rows] == [
        ("gan", "samples", "jsb_roll"),
        ("lstm", "samples", "jsb_roll"),
    ]
    for row in rows:
        assert set(row) == {"variant", "set", "dataset", *headline_keys(), "score", "relative"}
        headline = json.loads((tree / "metrics/variants" / row["variant"] / "samples.json").read_text())
        assert {k: row[k] for k in headline} == headline
        assert row["relative"] is None  # no references in this tree


def melody(piece_id: str, pitches, step: int = 24) -> Score:
    """One track, one note per ``step`` ticks."""
    rows = [(0, p, i * step, step) for i, p in enumerate(pitches)]
    return Score.from_notes(rows, tracks=[Track("melody", 0)], piece_id=piece_id)


def test_mgeval_densities_draw_the_overlap_evaluate_reports(tmp_path):
    # training melodies all span an octave (pitch_range constant: a zero-width distribution),
    # generated ones a fifth; note counts, pitches and note lengths vary within each set
    train = [melody(f"t{k}", [60, *range(61, 61 + k), 72] * (1 + k % 2), 12 * (1 + k % 3)) for k in range(6)]
    gen = [melody(f"g{k}", [62, *range(63, 63 + k), 69] * (1 + k % 3), 24) for k in range(5)]
    put(tmp_path, "data/jsb_roll/train.json", train)
    put(tmp_path, "variants/gan/samples.json", gen)
    put(tmp_path, "variants/lstm/samples.json", [one_note("t")])
    put_comparison(tmp_path, "gan", gen, train)
    out = tmp_path / "reports"
    build_report(
        out, tmp_path / "metrics", tmp_path / "models", tmp_path / "samples", PARAMS, tmp_path / "evaluation"
    )
    readme = (out / "README.md").read_text()
    assert (out / "figures/mgeval_gan.png").is_file() and "figures/mgeval_gan.png" in readme
    (tmp_path / "evaluation/variants/gan/samples.mgeval_curves.npz").unlink()
    build_report(
        out, tmp_path / "metrics", tmp_path / "models", tmp_path / "samples", PARAMS, tmp_path / "evaluation"
    )
    assert not (out / "figures/mgeval_gan.png").exists()  # no curves from evaluate: nothing drawn
    assert not (out / "figures/mgeval_lstm.png").exists()  # no comparison at all
    put_comparison(tmp_path, "gan", gen, train)
    build_report(
        out, tmp_path / "metrics", tmp_path / "models", tmp_path / "samples", PARAMS, tmp_path / "evaluation"
    )
    readme = (out / "README.md").read_text()
    compare = json.loads((tmp_path / "evaluation/variants/gan/samples.compare.json").read_text())["mgeval"]
    drawn = re.search(r"MGEval overlap with the training set: (.*)\.\n", readme).group(1)
    overlaps = dict(item.rsplit(" ", 1) for item in drawn.split(", "))
    assert list(overlaps) == list(KDE_FEATURES)
    for feature, text in overlaps.items():
        assert f"{float(text):.3g}" == f"{compare[feature]['overlap']:.3g}", feature
    assert overlaps["pitch_range"] == "0"  # two constants, 12 vs 7: disjoint spikes
    pieces = pd.read_parquet(tmp_path / "evaluation/data/jsb_roll/train.pieces.parquet")
    assert np.ptp(pieces["pitch_range"]) == 0  # the constant feature really is constant


def test_same_inputs_same_bytes(tree):
    first = snapshot(build(tree))
    second = snapshot(build(tree))
    assert first == second
    assert set(first) >= {"README.md", "index.html", "figures/losses_gan.png"}


def test_figures_and_clips_from_worker_processes_are_the_bytes_drawn_in_process(tree, monkeypatch):
    """scorelab.workers: the report's figures and clips made in two forked workers, and in this
    process (one worker), give the same files; a drawing's error fails the build."""
    from scorelab import workers as drawing

    monkeypatch.setattr(drawing.os, "cpu_count", lambda: 2)
    before = drawing.pooled
    with drawing.workers():  # as stages/report.py opens them
        parallel = snapshot(build(tree))
    handed = drawing.pooled - before
    monkeypatch.setattr(drawing.os, "cpu_count", lambda: 1)
    with drawing.workers():
        alone = snapshot(build(tree))
    assert drawing.pooled - before == handed  # one process: nothing went to a pool
    # every figure drawn and clip encoded went to the workers (the sample stage's rolls are copied)
    copied = ("figures/rolls_", "figures/accompaniment_")
    made = [k for k in parallel if k.endswith((".png", ".ogg")) and not k.startswith(copied)]
    assert handed == len(made) > 0, sorted(made)
    assert parallel == alone
    assert any(k.endswith(".png") for k in alone) and any(k.endswith(".ogg") for k in alone)
    monkeypatch.setattr(drawing.os, "cpu_count", lambda: 2)
    with drawing.workers(), pytest.raises(RuntimeError, match="a drawing failed"):
        drawing.draw(_broken_drawing)
        drawing.finish()


def _broken_drawing() -> None:
    raise RuntimeError("a drawing failed")


def test_missing_variant_metrics_is_an_error_naming_the_file(tree):
    before = snapshot(build(tree))
    (tree / "metrics/variants/lstm/samples.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"variants/lstm/samples\.json"):
        build(tree)
    assert snapshot(tree / "reports") == before  # the previous report is left whole


def test_a_report_on_part_of_the_zoo_needs_only_its_variants(tree):
    """make try's report (scorelab report --only): the named variants, their datasets, nothing else."""
    from scorelab.errors import ParamsError
    from scorelab.pipeline.report import only_variants, run_report

    shutil.rmtree(tree / "metrics/variants/lstm")  # not trained in the try: not read
    part = only_variants(PARAMS, ["gan"])
    assert list(part["variants"]) == ["gan"] and list(part["datasets"]) == ["jsb_roll"]
    out = tree / "reports"
    logs, samples = tree / "models", tree / "samples"
    run_report(PARAMS, tree / "metrics", logs, samples, out, tree / "evaluation", only=["gan"])
    page = (out / "README.md").read_text()
    assert "This report covers 1 of the 2 variants (report --only)." in page
    assert "### gan" in page and "### lstm" not in page
    with pytest.raises(FileNotFoundError, match=r"variants/lstm/samples\.json"):
        build(tree)  # the whole zoo's report still needs every variant
    with pytest.raises(ParamsError, match="'nope' is not a variant; valid: \\['gan', 'lstm'\\]"):
        only_variants(PARAMS, ["gan", "nope"])


def test_make_try_names_one_declared_variant_of_each_paper():
    """The Makefile's quick try: its variants exist in params.yaml, one per paper S0-S4."""
    import re

    import yaml

    root = Path(__file__).resolve().parents[1]
    line = re.search(r"^TRY := (.+)$", (root / "Makefile").read_text(), re.M)
    assert line, "Makefile: no TRY := line"
    names = line.group(1).split()
    declared = yaml.safe_load((root / "params.yaml").read_text())["variants"]
    assert all(n in declared for n in names), names
    assert sorted(n[:2] for n in names) == ["s0", "s1", "s2", "s3", "s4"]


def test_missing_optional_inputs_are_skipped(tmp_path):
    put(tmp_path, "variants/gan/samples.json", [one_note("s")])
    put(tmp_path, "variants/lstm/samples.json", [one_note("t")])
    out = tmp_path / "reports"
    build_report(out, tmp_path / "metrics", tmp_path / "models", tmp_path / "samples", PARAMS)
    readme = (out / "README.md").read_text()
    assert "No training logs found." in readme and "No samples found." in readme
    assert "jsb_roll train" not in markdown_rows(readme)
    # no bins, no per-piece tables: none of the per-variant set pictures, and no error
    assert sorted(p.name for p in (out / "figures").iterdir()) == []
    assert [r["variant"] for r in json.loads((out / "plots/headline.json").read_text())] == ["gan", "lstm"]


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


def test_what_the_encodings_lose_is_a_table_per_dataset(tree):
    write_json(
        tree / "evaluation/data/jsb_roll/fidelity.json",
        {
            "pieces": 348,
            "pieces_kept": 311,
            "pieces_filtered": 0.106322,
            "filtered_by": {"time_signature": 37},
            "notes": 71587,
            "out_of_range": 0.0,
            "dropped": 0.133181,
            "moved": 4.2e-05,
            "shortened": 0.0,
            "lengthened": 0.101345,
            "extra": 0.0,
            "meter_changed": 0.0,
        },
    )
    readme = (build(tree) / "README.md").read_text()
    row = markdown_rows(readme)["jsb_roll"]
    assert row["pieces kept"] == "311 of 348" and row["notes dropped"] == "13.32 %"
    assert row["notes moved"] == "0.00 %" and row["meter not kept"] == "0.00 %"
    assert "Pieces refused, by filter: jsb_roll: time_signature 37." in readme
    assert "QN is 100 % on these grids by construction" in readme


def test_no_fidelity_files_no_section(tree):
    assert "What the encodings lose" not in (build(tree) / "README.md").read_text()


def test_no_test_nll_no_likelihood_table(tree):
    assert "Held-out likelihood" not in (build(tree) / "README.md").read_text()


def test_test_nll_in_nats_bits_and_perplexity(tree):
    import math

    pd.DataFrame(
        {"step": [1, 3], "epoch": [1, 2], "valid_loss": [2.5, 1.8], "test_nll": [2.0, math.log(4)]}
    ).to_csv(tree / "models/lstm/valid_log.tsv", sep="\t", index=False)
    readme = (build(tree) / "README.md").read_text()
    assert "| lstm | jsb_roll | 2 | 1.3863 | 2.0000 | 4.000 |" in readme  # ln 4 nats = 2 bits


def add_audio_variant(tree: Path) -> dict:
    """An autoencoder on an audio dataset, as the evaluate and sample stages write them."""
    from scorelab.io.audio import write_wav

    params = {
        **PARAMS,
        "variants": {
            **PARAMS["variants"],
            "ae": {"trainer": "autoencoder", "dataset": "hil", "model": "s3_hilbert_ae"},
        },
    }
    for split, rms in (("train", -20.0), ("test", -21.5)):
        write_json(
            tree / "metrics/data/hil" / f"{split}.json", {"images": 8, "seconds": 11.9, "rms_dbfs": rms}
        )
    write_json(tree / "metrics/variants/ae/samples.json", {"mse": 0.0125, "snr_db": 3.25})
    write_json(tree / "metrics/variants/ae/transfer.json", {"mse": 0.02, "snr_db": None})
    for set_name in ("samples", "transfer"):
        for part in ("input", "output"):
            write_wav(tree / "samples/ae/audio" / f"{set_name}_{part}.wav", np.zeros(100, np.int16), 8000)
    return params


def test_audio_variant_gets_its_own_section_with_players_and_no_note_table(tree):
    params = add_audio_variant(tree)
    out = tree / "reports"
    build_report(out, tree / "metrics", tree / "models", tree / "samples", params, tree / "evaluation")
    readme = (out / "README.md").read_text()
    rows = markdown_rows(readme)
    assert (
        rows["ae piano (held out)"]["MSE"] == "0.0125" and rows["ae piano (held out)"]["SNR (dB)"] == "3.25"
    )
    assert rows["ae guitar (style transfer)"]["SNR (dB)"] == "–"  # an infinite or missing value
    assert rows["hil test"]["loudness"] == "-21.5 dBFS"
    assert "### hil" not in readme  # no note-metric table for an audio dataset
    page = (out / "index.html").read_text()
    for set_name in ("samples", "transfer"):
        for part in ("input", "output"):
            assert f'src="media/ae/{set_name}_{part}.ogg"' in page
    assert all(r["variant"] != "ae" for r in json.loads((out / "plots/headline.json").read_text()))


def test_latent_scatter_gan_epochs_and_next_column_scores(tree):
    logs = tree / "models"
    pd.DataFrame(
        {"step": [5] * 4, "piece": [0, 0, 1, 2], "z1": [0.1, 0.2, -1.0, 2.0], "z2": [0, 1, 0, 1]}
    ).to_csv(logs / "lstm/latent_log.tsv", sep="\t", index=False)
    pd.DataFrame(
        {
            "step": [1, 2, 3, 4],
            "epoch": [1, 1, 2, 2],
            "loss_g": [1.0, 3.0, 2.0, 2.0],
            "loss_d": [0.5, 0.5, 0.7, 0.9],
            "d_acc_real": [1.0, 0.5, 0.25, 0.75],
            "d_acc_fake": [0.0, 1.0, 1.0, 1.0],
        }
    ).to_csv(logs / "gan/train_log.tsv", sep="\t", index=False)
    pd.DataFrame(
        {
            "step": [100, 200],
            "test_loss": [0.3, 0.25],
            "test_precision": [0.5, 0.6],
            "test_recall": [0.4, 0.45],
            "test_f1": [0.44, 0.514],
        }
    ).to_csv(logs / "lstm/valid_log.tsv", sep="\t", index=False)
    out = build(tree)
    readme = (out / "README.md").read_text()
    assert "(3 pieces)" in readme and (out / "figures/latent_lstm.png").is_file()
    assert (out / "figures/gan_epochs_gan.png").is_file()
    assert markdown_rows(readme)["lstm"] == {
        "variant": "lstm",
        "step": "200",
        "test loss": "0.25",
        "precision": "0.6",
        "recall": "0.45",
        "F1": "0.514",
    }
    from scorelab.report.training import gan_epochs

    per_epoch = gan_epochs(logs / "gan/train_log.tsv")  # S2's per-epoch means, by hand
    assert per_epoch.loc[1].tolist() == [2.0, 0.5, 0.75, 0.5] and per_epoch.loc[2].tolist() == [
        2.0,
        0.8,
        0.5,
        1.0,
    ]


def test_s1_beside_musegan_code_values(tree):
    from scorelab.report.build import _ours
    from scorelab.report.published import S1_MUSEGAN_CODE

    readme = (build(tree) / "README.md").read_text()
    assert "ours computed as MuseGAN's released code computes them" in readme
    assert "S0, S2 and S3 published no numbers" in readme
    # our rows of that table read the code's metrics from the full results
    found = {"__all": {"UPC_musegan_code": 1.0, "QN_musegan_code": 100.0, "UPC": 1.667}, "EB": 25.0}
    rows = _ours(S1_MUSEGAN_CODE, {"jsb_piano": [("jsb_piano train", found)]})
    assert rows == (("ours: jsb_piano train", "25", "1", "100"),)


def test_media_fit_the_budget_and_are_byte_stable(tree, tmp_path):
    """Clips are cut shorter, all alike, until the media folder fits its budget; the same
    inputs give the same bytes (Ogg's random stream serial is fixed)."""
    import soundfile as sf

    from scorelab.report.media import Media

    wavs = sorted((tree / "samples/gan/audio").glob("*.wav"))
    seconds = [sf.info(str(w)).duration for w in wavs]
    media = Media()
    for w in wavs:
        media.clip(w, "gan")
    full = media.write(tmp_path / "a")
    assert full["clip_seconds"] == 8.0 and full["clips"] == len(wavs)
    budget = int(full["bytes"] * 0.6)
    cut = media.write(tmp_path / "b", budget=budget)
    assert cut["bytes"] <= budget and cut["clip_seconds"] < min(8.0, max(seconds))
    again = media.write(tmp_path / "c", budget=budget)
    for w in wavs:
        name = f"media/gan/{w.stem}.ogg"
        assert (tmp_path / "b" / name).read_bytes() == (tmp_path / "c" / name).read_bytes()
        assert sf.info(str(tmp_path / "b" / name)).duration <= cut["clip_seconds"] + 0.01
    assert again == cut
    with pytest.raises(ValueError, match="over the budget"):
        media.write(tmp_path / "d", budget=100)


def test_the_committed_report_fits_its_media_budget():
    """The report in git carries its media (it plays from a clone) within 5 MB."""
    from scorelab.report.media import BUDGET_BYTES

    root = Path(__file__).resolve().parents[1] / "reports"
    media = root / "media"
    assert media.is_dir(), "the committed report has no media folder"
    total = sum(p.stat().st_size for p in media.rglob("*") if p.is_file())
    assert 0 < total <= BUDGET_BYTES
    page = (root / "index.html").read_text()
    for src in re.findall(r'<audio controls preload="none" src="([^"]+)"', page):
        assert src.startswith("media/") and (root / src).is_file(), src


def test_the_report_renders_and_never_computes():
    """Metrics compute, the report renders: no module of scorelab.report imports the
    pipeline or a metric's computation (it reads the evaluate stages' files)."""
    root = Path(__file__).resolve().parents[1] / "src/scorelab/report"
    for path in sorted(root.glob("*.py")):
        text = path.read_text()
        assert "scorelab.pipeline" not in text, path.name
        for name in ("mgeval_compare", "compute_piece_metrics", "evaluate_notes"):
            assert name not in text, f"{path.name} uses {name}"


def test_trained_on_shows_the_device_and_the_measured_time_when_there_is_one(tmp_path):
    """The device comes from the model's run_info.json (a DVC output, no clock in it); the
    time from timings/train/<v>.json, written beside it, so a forced rerun keeps the bytes."""
    info = {"device": "cpu", "device_name": "AMD EPYC", "processes": 1, "compute": {"threads": 2}}
    write_json(tmp_path / "models/v/run_info.json", info)
    assert trained_on(tmp_path / "models", "v") == "AMD EPYC (cpu, 2 threads)"
    write_json(tmp_path / "timings/v.json", {"variant": "v", "seconds": 185.4, "device": "cpu"})
    shown = trained_on(tmp_path / "models", "v", tmp_path / "timings")
    assert shown == "AMD EPYC (cpu, 2 threads), 3 min 05 s"
    write_json(tmp_path / "timings/v.json", {"variant": "v", "seconds": 41.6, "device": "cpu"})
    assert trained_on(tmp_path / "models", "v", tmp_path / "timings").endswith(", 42 s")
    assert trained_on(tmp_path / "models", "w", tmp_path / "timings") == "–"  # never trained here
