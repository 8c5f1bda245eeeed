"""`scorelab evaluate GENERATED --reference REF`: any two MIDI folders, no DVC, no params."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from scorelab.cli import app
from scorelab.errors import ScorelabError
from scorelab.io.midi import write_midi
from scorelab.pipeline.evaluate_folders import evaluate_folders
from scorelab.score import Score, Track

runner = CliRunner()


def _piece(pitches: list[int], pid: str) -> Score:
    """One bar of 4/4 at 24 ticks per quarter: the pitches as equal notes filling the bar."""
    step = 96 // len(pitches)
    rows = [(0, p, i * step, step) for i, p in enumerate(pitches)]
    return Score.from_notes(rows, tracks=[Track("piano")], piece_id=pid)


@pytest.fixture
def folders(tmp_path):
    gen, ref, base = (tmp_path / n for n in ("gen", "ref", "base"))
    for d in (gen, ref / "nested", base):
        d.mkdir(parents=True)
    for i in range(3):  # C E G C: 4 pitches, 3 pitch classes; three identical pieces
        write_midi(_piece([60, 64, 67, 72], f"g{i}"), gen / f"g{i}.mid")
    (gen / "broken.mid").write_bytes(b"this is not a MIDI file")
    (gen / "notes.txt").write_text("not MIDI, not read")
    for i in range(4):  # D D A D5: 3 pitches, 2 pitch classes
        write_midi(_piece([62, 62, 69, 74], f"r{i}"), (ref if i < 2 else ref / "nested") / f"r{i}.mid")
    for i in range(2):  # the chromatic scale: 12 pitches, 12 pitch classes
        write_midi(_piece(list(range(60 + i, 72 + i)), f"b{i}"), base / f"b{i}.midi")
    return gen, ref, base


def test_cli_scores_two_folders_by_hand(folders, tmp_path):
    gen, ref, base = folders
    out = tmp_path / "out.json"
    result = runner.invoke(
        app, ["evaluate", str(gen), "--reference", str(ref), "--baseline", str(base), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    r = json.loads(out.read_text())
    # the broken file is listed with its reason, the .txt is not MIDI, the nested folder is read
    assert [x["path"].endswith("broken.mid") for x in r["generated"]["rejected"]] == [True]
    assert "not a readable MIDI file" in r["generated"]["rejected"][0]["reason"]
    assert (r["generated"]["n_pieces"], r["reference"]["n_pieces"], r["baseline"]["n_pieces"]) == (3, 4, 2)
    m = {k: r[k]["metrics"] for k in ("generated", "reference", "baseline")}
    assert m["generated"]["UPC"]["value"] == 3 and m["reference"]["UPC"]["value"] == 2
    assert m["baseline"]["UPC"]["value"] == 12
    assert m["generated"]["unique_pitches"]["value"] == 4 and m["reference"]["unique_pitches"]["value"] == 3
    # identical pieces: no diversity, and no spread of used pitches across pieces
    assert m["generated"]["diversity"]["value"] == 0
    assert m["generated"]["unique_pitches_std"]["value"] == 0
    # |gen - ref| / |baseline - ref|: UPC 1/10, unique pitches 1/9
    devs = r["comparison"]["normalized_deviations"]
    assert devs["UPC"] == pytest.approx(0.1) and devs["unique_pitches"] == pytest.approx(1 / 9)
    assert set(r["comparison"]["mgeval"]) >= {"unique_pitches", "pitch_class_histogram"}
    # the terminal table: the skipped file with its reason, the metrics with intervals
    assert "skipped" in result.output and "broken.mid" in result.output
    assert "UPC" in result.output and "3 [3, 3]" in result.output
    assert "headline score" in result.output and "overlap" in result.output


def test_without_baseline_there_is_no_deviation(folders):
    gen, ref, _ = folders
    r = evaluate_folders(gen, ref)
    assert "baseline" not in r
    assert r["comparison"]["normalized_deviations"] == {}
    # the headline score without its references: closeness only, no place, no verdict
    assert set(r["headline"]) == {"generated"} and "verdict" not in r["headline"]["generated"]


def test_a_folder_without_readable_midi_is_an_error_naming_it(folders, tmp_path):
    gen, ref, _ = folders
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ScorelabError, match="empty: no MIDI files"):
        evaluate_folders(empty, ref)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.mid").write_bytes(b"MThd garbage")
    with pytest.raises(ScorelabError, match=r"bad: none of its 1 MIDI files could be read \(x.mid: "):
        evaluate_folders(gen, bad)
    with pytest.raises(ScorelabError, match="missing: not a folder"):
        evaluate_folders(tmp_path / "missing", ref)
