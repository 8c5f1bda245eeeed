"""Corpora: music21 reading, bad files recorded not fatal, deterministic splits."""

from __future__ import annotations

import pandas as pd
import pytest

from scorelab.corpora.build import (
    CorpusConfig,
    assign_split,
    build_corpus,
    ensure_every_split,
    limited_jobs,
)
from scorelab.corpora.sources import Job, _abc_tunes, dedupe, read_job
from scorelab.errors import CorpusReadError, EmptyCorpusError, ScorelabError
from scorelab.score import Score, Track, read_notes

ABC_TWO_TUNES = """X:1
T:first
M:4/4
L:1/8
K:G
G2A2 B2c2 | d8 |]

X:2
T:pickup
M:3/4
L:1/4
K:Em
E | G A B | e3 |]
"""


def test_abc_file_splits_into_tunes():
    tunes = _abc_tunes(ABC_TWO_TUNES)
    assert [n for n, _ in tunes] == ["1", "2"]
    assert tunes[1][1].startswith("X:2")


def test_abc_tune_read_with_key_and_bar_aligned_pickup():
    _, text = _abc_tunes(ABC_TWO_TUNES)[1]
    s = read_job(Job("t2", "abc_tune", text, "x.abc#X:2"), "c", 1)
    assert s.time_signature == (3, 4)
    assert s.key == "E minor"
    # the pickup quarter E4 is shifted so that G4 starts on the first downbeat (3 beats = 72 ticks)
    rows = s.notes[["pitch", "onset", "duration"]].values.tolist()
    assert rows[0] == [64, 48, 24]
    assert rows[1] == [67, 72, 24]
    assert rows[-1] == [76, 144, 72]


def test_abc_tune_major_key_and_eighths():
    _, text = _abc_tunes(ABC_TWO_TUNES)[0]
    s = read_job(Job("t1", "abc_tune", text, "x.abc#X:1"), "c", 1)
    assert s.key == "G major"
    assert s.notes["pitch"].tolist() == [67, 69, 71, 72, 74]
    assert s.notes["onset"].tolist() == [0, 24, 48, 72, 96]
    assert s.notes["duration"].tolist() == [24, 24, 24, 24, 96]


def test_broken_abc_tune_raises_corpus_read_error_naming_piece():
    with pytest.raises(CorpusReadError, match="bad"):
        read_job(Job("bad", "abc_tune", "X:1\nT:x\nK:C\n", "x.abc#X:1"), "c", 1)


def test_split_is_deterministic_and_seed_dependent():
    ids = [f"p{i}" for i in range(400)]
    a = [assign_split(i, 0, 0.1, 0.1) for i in ids]
    assert a == [assign_split(i, 0, 0.1, 0.1) for i in ids]
    assert a != [assign_split(i, 1, 0.1, 0.1) for i in ids]
    share = {s: a.count(s) / len(a) for s in ("train", "valid", "test")}
    assert 0.05 < share["test"] < 0.15 and 0.05 < share["valid"] < 0.15


def test_every_split_gets_a_piece():
    scores = [Score.from_notes([(0, 60, 0, 24)], piece_id=f"p{i}") for i in range(4)]
    for s in scores:
        s.split = "train"
    ensure_every_split(scores, 0)
    assert sorted(s.split for s in scores) == ["test", "train", "train", "valid"]


def test_duplicate_piece_ids_are_reported():
    jobs = [Job("a", "midi", "1", "one"), Job("a", "midi", "2", "two"), Job("b", "midi", "3", "three")]
    kept, dropped = dedupe(jobs)
    assert [j.source for j in kept] == ["one", "three"]
    assert "duplicate" in dropped[0][1] and dropped[0][0].source == "two"


def _write_midi_folder(folder, n_good: int, n_bad: int):
    from scorelab.io.midi import write_midi

    folder.mkdir()
    for i in range(n_good):
        s = Score.from_notes([(0, 60 + i, 0, 24), (0, 64, 24, 24)], tracks=[Track("piano")], piece_id=f"g{i}")
        write_midi(s, folder / f"good{i}.mid")
    for i in range(n_bad):
        (folder / f"bad{i}.mid").write_bytes(b"MThd this is not a midi file")


def test_corrupt_midi_is_skipped_and_recorded(tmp_path):
    _write_midi_folder(tmp_path / "midi", n_good=5, n_bad=1)
    cfg = CorpusConfig(source="midi_folder", paths=[str(tmp_path / "midi")], tracks=1)
    summary = build_corpus("mine", cfg, 0, tmp_path / "out", workers=1)
    assert summary["pieces_kept"] == 5 and summary["pieces_rejected"] == 1
    rejected = pd.read_parquet(tmp_path / "out/rejected.parquet")
    assert rejected["source"].str.endswith("bad0.mid").all()
    assert rejected["reason"].str.contains("bad0.mid").all()
    scores = read_notes(tmp_path / "out")
    assert {s.split for s in scores} == {"train", "valid", "test"}


def test_too_many_rejections_stop_the_stage_naming_files(tmp_path):
    _write_midi_folder(tmp_path / "midi", n_good=1, n_bad=3)
    cfg = CorpusConfig(source="midi_folder", paths=[str(tmp_path / "midi")], tracks=1)
    with pytest.raises(ScorelabError, match="bad0.mid"):
        build_corpus("mine", cfg, 0, tmp_path / "out", workers=1)
    assert not (tmp_path / "out").exists()


def test_nothing_readable_is_an_empty_corpus_error(tmp_path):
    _write_midi_folder(tmp_path / "midi", n_good=0, n_bad=2)
    cfg = CorpusConfig(source="midi_folder", paths=[str(tmp_path / "midi")], tracks=1)
    with pytest.raises(EmptyCorpusError, match="corpus mine"):
        build_corpus("mine", cfg, 0, tmp_path / "out", workers=1)


def test_a_limit_takes_the_smallest_files_in_listed_order(tmp_path):
    sizes = {"a": 500, "b": 20, "c": 300, "d": 20, "e": 10}
    jobs = []
    for name, size in sizes.items():
        (tmp_path / f"{name}.mid").write_bytes(b"x" * size)
        jobs.append(Job(name, "midi", str(tmp_path / f"{name}.mid"), name))
    # the three smallest (e 10, b 20, d 20: a tie keeps the listed order), in listed order
    assert [j.piece_id for j in limited_jobs(jobs, 3)] == ["b", "d", "e"]
    # a file that cannot be stat'ed ranks first: its reader records why
    gone = Job("gone", "m21_file", str(tmp_path / "gone.mxl"), "gone")
    assert [j.piece_id for j in limited_jobs([*jobs, gone], 2)] == ["e", "gone"]
    # tunes (text payloads) are not files: the first N as listed
    tunes = [Job(f"t{i}", "abc_tune", "X:1\n" + "a" * (9 - i), f"t{i}") for i in range(5)]
    assert [j.piece_id for j in limited_jobs(tunes, 2)] == ["t0", "t1"]
    assert limited_jobs(jobs, 10) == jobs


def test_jsb_chorales_first_pieces_parse_to_four_voices(tmp_path):
    cfg = CorpusConfig(source="music21", paths=["chorales"], tracks=4, limit=6)
    summary = build_corpus("jsb", cfg, 0, tmp_path / "jsb", workers=2)
    scores = read_notes(tmp_path / "jsb")
    assert summary["pieces_kept"] == len(scores) >= 5
    for s in scores:
        assert [t.name for t in s.tracks] == ["soprano", "alto", "tenor", "bass"]
        # soprano above bass on average: voices were kept in order
        assert s.track_notes(0)["pitch"].mean() > s.track_notes(3)["pitch"].mean()


# A pickup, ties across bar lines, a chord, a triplet, and measures too long for M:
# (reBar splits those, and the halves are tied): the notes-only parse must agree.
ABC_HARD = """X:7
T:hard
M:2/4
L:1/8
K:D
A | d2 f2- | f2 e2 | [DFA]4 | (3ABc d2 | e2 f2 g2 a2 | b4- | b2 z2 | a8 |]
"""


@pytest.mark.parametrize("text", [ABC_HARD, _abc_tunes(ABC_TWO_TUNES)[1][1], _abc_tunes(ABC_TWO_TUNES)[0][1]])
def test_notes_only_abc_parse_gives_music21s_full_parse(text):
    from scorelab.io.music21_reader import read_abc_tune

    kw = dict(piece_id="t", corpus="c", n_tracks=1, source="x.abc#X:7")
    fast, full = read_abc_tune(text, **kw), read_abc_tune(text, fast=False, **kw)
    pd.testing.assert_frame_equal(fast.notes, full.notes, check_exact=True)
    assert fast.piece_row() == full.piece_row()
    assert len(fast.notes) >= 5
    from music21.abcFormat import translate
    from music21.stream import Stream

    assert translate.reBar.__name__ == "reBar" and Stream.makeBeams.__name__ == "makeBeams"  # put back


def test_hard_abc_tune_keeps_its_ties_and_overfull_bars():
    from scorelab.io.music21_reader import read_abc_tune

    s = read_abc_tune(ABC_HARD, piece_id="t", corpus="c", n_tracks=1)
    eighth = s.resolution // 2
    # f2- | f2: one note of four eighths; b4- | b2: six eighths
    row = s.notes[s.notes["pitch"] == 78].iloc[0]
    assert row["duration"] == 4 * eighth
    assert s.notes[s.notes["pitch"] == 83]["duration"].max() == 6 * eighth


def test_abc_text_naming_a_file_is_not_read_as_that_file(tmp_path):
    """converter.parse(text) took a string naming an existing file for that file."""
    other = tmp_path / "elsewhere.abc"
    other.write_text(_abc_tunes(ABC_TWO_TUNES)[0][1])
    with pytest.raises(CorpusReadError, match="p1"):
        read_job(Job("p1", "abc_tune", str(other), "x.abc#X:1"), "c", 1)
