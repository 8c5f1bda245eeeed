"""Seed-corpus readers (issue 7), each on a small file written here in the real layout.

Expected note tables are worked out by hand from the data written, at 24 ticks per quarter.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pickle
import pickletools
import tarfile
import warnings
import zipfile

import mido
import numpy as np
import pytest

from scorelab.corpora.archives import abc_zip_jobs, maestro_jobs
from scorelab.corpora.build import assign_split
from scorelab.corpora.jsb import jsb_16th_jobs, jsb_16th_scores, jsb_pickle_scores, load_jsb_pickle
from scorelab.corpora.local import CLASSICAL_COMPOSERS, classical_jobs, local_jobs
from scorelab.corpora.lpd import iter_npz_members, lpd_jobs, lpd_npz_score, roll_runs, spread
from scorelab.corpora.sources import SOURCES, Job, dedupe, list_jobs, midi_folder_jobs, read_job
from scorelab.errors import CorpusReadError
from scorelab.io.midi import read_midi, read_midi_bytes, write_midi
from scorelab.score import Score, Track

NOTE = ["track", "pitch", "onset", "duration"]
NOTE_V = [*NOTE, "velocity"]


def rows(score: Score, cols=NOTE) -> list[list[int]]:
    return score.notes[cols].values.tolist()


# ---------------------------------------------------------------- JSB pickle


def jsb_dict() -> dict:
    """Two train pieces, one valid, one test; numpy ints, a set frame, an array frame, a rest."""
    return {
        "train": [
            [(60, 64), (np.int64(60), 67), (), {62}],  # 60 held over frames 0-1; frame 2 silent
            [np.array([70, 74], dtype=np.int64)],
        ],
        "valid": [[(np.int64(72),), (np.int64(72),), (np.int64(72),)]],
        "test": [[(48, 52, 55)]],
    }


def write_py2_pickle(path, obj, numpy_core: bool = True) -> bytes:
    """A protocol-2 pickle, with NumPy 1's ``numpy.core`` names as in a file of the Python 2 era."""
    raw = pickle.dumps(obj, protocol=2)
    if numpy_core:  # GLOBAL opcodes are newline-terminated text: a same-meaning rename is safe
        raw = raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    path.write_bytes(raw)
    return raw


def test_jsb_pickle_reads_python2_layout_with_numpy_scalars(tmp_path):
    path = tmp_path / "jsb_chorales.pickle"
    raw = write_py2_pickle(path, jsb_dict())
    names = {arg for op, arg, _ in pickletools.genops(raw) if op.name == "GLOBAL"}
    assert {"numpy.core.multiarray scalar", "numpy.core.multiarray _reconstruct", "__builtin__ set"} <= names
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy.core DeprecationWarning: names are resolved here
        data = load_jsb_pickle(path)
    assert data["train"][0] == [(60, 64), (60, 67), (), (62,)]
    assert data["train"][1] == [(70, 74)]
    assert type(data["valid"][0][0][0]) is int
    scores = jsb_pickle_scores(path, "jsb")
    assert [s.piece_id for s in scores] == [
        "jsb_bl_train_000",
        "jsb_bl_train_001",
        "jsb_bl_valid_000",
        "jsb_bl_test_000",
    ]
    assert [s.split for s in scores] == ["train", "train", "valid", "test"]
    first = scores[0]
    assert first.tracks == [Track("piano")] and first.corpus == "jsb"
    # 60 over two quarter frames is one half note; the silent frame 2 delays 62 to beat 4
    assert rows(first) == [[0, 60, 0, 48], [0, 64, 0, 24], [0, 67, 24, 24], [0, 62, 72, 24]]
    assert rows(scores[2]) == [[0, 72, 0, 72]]  # three frames of 72: one dotted half
    assert rows(scores[3]) == [[0, 48, 0, 24], [0, 52, 0, 24], [0, 55, 0, 24]]


def test_jsb_pickle_source_jobs_keep_the_file_split(tmp_path):
    path = tmp_path / "jsb_chorales.pickle"
    write_py2_pickle(path, jsb_dict(), numpy_core=False)  # NumPy 2's numpy._core names load too
    jobs = list_jobs("jsb_pickle", [str(path)])
    assert [j.split for j in jobs] == ["train", "train", "valid", "test"]
    score = read_job(jobs[2], "jsb", 1)
    assert score.split == "valid" and rows(score) == [[0, 72, 0, 72]]
    assert jobs[0].source == "jsb_chorales.pickle#train/0"


class Evil:
    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.mark.parametrize("evil", ["system", "eval"])
def test_jsb_pickle_refuses_code_and_runs_nothing(tmp_path, evil):
    marker = tmp_path / "pwned"
    payload = Evil(f"touch {marker}") if evil == "system" else EvalEvil(f"open({str(marker)!r}, 'w')")
    path = tmp_path / "jsb_chorales.pickle"
    path.write_bytes(pickle.dumps({"train": [payload], "valid": [], "test": []}, protocol=2))
    forbidden = f"{os.system.__module__}.system" if evil == "system" else "builtins.eval"
    with pytest.raises(CorpusReadError, match=rf"^jsb_chorales\.pickle: refuses to unpickle {forbidden}$"):
        load_jsb_pickle(path)
    assert not marker.exists()


class EvalEvil:
    def __init__(self, code: str):
        self.code = code

    def __reduce__(self):
        return (eval, (self.code,))


def test_jsb_pickle_wrong_shape_and_truncation_are_read_errors(tmp_path):
    path = tmp_path / "j.pickle"
    path.write_bytes(pickle.dumps({"train": [[(60.5,)]], "valid": [], "test": []}, protocol=2))
    with pytest.raises(CorpusReadError, match=r"j\.pickle: train\[0\] frame 0: 60\.5 is not a whole"):
        load_jsb_pickle(path)
    path.write_bytes(pickle.dumps({"train": []}, protocol=2))
    with pytest.raises(CorpusReadError, match=r"no \['valid', 'test'\] key"):
        load_jsb_pickle(path)
    path.write_bytes(pickle.dumps(jsb_dict(), protocol=2)[:40])
    with pytest.raises(CorpusReadError, match="j.pickle: not a readable pickle"):
        load_jsb_pickle(path)


# ---------------------------------------------------------------- JSB 16th JSON


def test_jsb_16th_json_voices_rests_and_held_notes(tmp_path):
    piece = [
        [67, 64, 60, 48],
        [67.0, 64, 60, 48],  # a float pitch, as numpy's tolist() writes them
        [69, -1, 60, 48],  # alto rests (-1)
        [69, float("nan"), 59, None],  # NaN and null rest too
    ]
    path = tmp_path / "Jsb16thSeparated.json"
    path.write_text(json.dumps({"train": [piece], "valid": [piece[:1]], "test": [piece[:2]]}))
    scores = jsb_16th_scores(path, "jsb16")
    assert [(s.piece_id, s.split) for s in scores] == [
        ("jsb_16th_train_000", "train"),
        ("jsb_16th_valid_000", "valid"),
        ("jsb_16th_test_000", "test"),
    ]
    s = scores[0]
    assert [t.name for t in s.tracks] == ["soprano", "alto", "tenor", "bass"]
    # a 16th is 6 ticks; equal neighbours in a voice merge into one note
    assert rows(s) == [
        [0, 67, 0, 12],
        [1, 64, 0, 12],
        [2, 60, 0, 18],
        [3, 48, 0, 18],
        [0, 69, 12, 12],
        [2, 59, 18, 6],
    ]
    assert rows(scores[2]) == [[0, 67, 0, 12], [1, 64, 0, 12], [2, 60, 0, 12], [3, 48, 0, 12]]
    assert read_job(jsb_16th_jobs([str(path)])[1], "jsb16", 4).split == "valid"


def test_jsb_16th_json_bad_steps_name_the_place(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"train": [[[60, 62, 64]]], "valid": [], "test": []}))
    with pytest.raises(CorpusReadError, match=r"bad\.json: train\[0\] step 0: expected 4 voices"):
        jsb_16th_scores(path, "c")
    path.write_text(json.dumps({"train": [[[60, 62, 64, 67.5]]], "valid": [], "test": []}))
    with pytest.raises(CorpusReadError, match="67.5 is not a whole MIDI pitch"):
        jsb_16th_scores(path, "c")


# ---------------------------------------------------------------- LPD npz

N_STEPS = 144


def lpd_rolls(dtype=np.uint8) -> list[np.ndarray]:
    """Drums, Piano, Bass rolls (steps, 128), the Bass empty."""
    drums, piano, bass = (np.zeros((N_STEPS, 128), dtype) for _ in range(3))
    drums[[0, 24, 48, 72], 36] = 110  # four one-step hits
    piano[0:24, 60] = 100
    piano[24:36, 60] = 80  # no gap: still the same note, velocity of its first step
    piano[48:72, 64] = 90
    piano[72:84, 60] = 200  # above 127: clipped
    if dtype == np.bool_:
        drums, piano = drums.astype(bool), piano.astype(bool)
    return [drums, piano, bass]


def csc_parts(roll: np.ndarray, name: str) -> dict:
    """SciPy's CSC components of a dense roll, computed with NumPy (column = pitch)."""
    cols = [np.flatnonzero(roll[:, p]) for p in range(roll.shape[1])]
    return {
        f"{name}_csc_data": np.concatenate([roll[c, p] for p, c in enumerate(cols)]),
        f"{name}_csc_indices": np.concatenate(cols).astype(np.int32),
        f"{name}_csc_indptr": np.r_[0, np.cumsum([len(c) for c in cols])].astype(np.int32),
        f"{name}_csc_shape": np.array(roll.shape),
    }


def write_lpd_npz(target, rolls, old: bool = False, steps_per_beat: int = 24, info_array: bool = False):
    """A pypianoroll npz: arrays by savez_compressed, then info.json as a raw zip member.

    ``info_array``: info.json saved as a 0-d text array instead (other writers' variant).
    """
    names = [("Drums", 0, True), ("Piano", 0, False), ("Bass", 33, False)]
    arrays = {"tempo": np.full((N_STEPS, 1), 100.0)}
    downbeat = np.zeros((N_STEPS, 1), bool)
    downbeat[[0, 72]] = True  # bars of 72 steps
    arrays["downbeat"] = downbeat
    info = {"beat_resolution" if old else "resolution": steps_per_beat, "name": "song"}
    for i, (roll, (name, program, drum)) in enumerate(zip(rolls, names, strict=True)):
        arrays.update(csc_parts(roll, f"pianoroll_{i}"))
        info[str(i)] = {"program": program, "is_drum": drum, "name": name}
    if info_array:
        np.savez_compressed(target, **arrays, **{"info.json": np.array(json.dumps(info))})
        return
    np.savez_compressed(target, **arrays)
    if hasattr(target, "seek"):
        target.seek(0)
    with zipfile.ZipFile(target, "a") as zf:
        zf.writestr("info.json", json.dumps(info), zipfile.ZIP_DEFLATED)


def test_lpd_npz_new_layout_notes_velocities_and_empty_track(tmp_path):
    path = tmp_path / "b97c529a.npz"
    write_lpd_npz(path, lpd_rolls())
    s = lpd_npz_score(path, "lpd")
    assert s.piece_id == "b97c529a" and s.source == str(path)
    assert s.tracks == [Track("Drums", 0, True), Track("Piano", 0, False), Track("Bass", 33, False)]
    assert s.tempo == 100.0 and s.time_signature == (3, 4)  # 72 steps / 24 per beat
    assert rows(s, NOTE_V) == [
        [0, 36, 0, 1, 110],
        [1, 60, 0, 36, 100],
        [0, 36, 24, 1, 110],
        [0, 36, 48, 1, 110],
        [1, 64, 48, 24, 90],
        [0, 36, 72, 1, 110],
        [1, 60, 72, 12, 127],
    ]


def test_lpd_npz_old_layout_binarised_and_rescaled(tmp_path):
    path = tmp_path / "old.npz"
    write_lpd_npz(path, lpd_rolls(np.bool_), old=True, steps_per_beat=12)
    s = lpd_npz_score(path, "lpd")
    # 12 steps per beat -> every step is 2 ticks; a binarised roll has no velocity: 80
    assert s.time_signature == (6, 4)
    assert rows(s, NOTE_V) == [
        [0, 36, 0, 2, 80],
        [1, 60, 0, 72, 80],
        [0, 36, 48, 2, 80],
        [0, 36, 96, 2, 80],
        [1, 64, 96, 48, 80],
        [0, 36, 144, 2, 80],
        [1, 60, 144, 24, 80],
    ]


def test_lpd_track_selection_and_inputs(tmp_path):
    buf = io.BytesIO()
    write_lpd_npz(buf, lpd_rolls())
    data = buf.getvalue()
    piano = lpd_npz_score(data, "lpd", tracks=["piano"], source="lpd.tar#x/abc.npz")
    assert piano.piece_id == "abc" and piano.tracks == [Track("Piano")]
    assert rows(piano, NOTE_V) == [[0, 60, 0, 36, 100], [0, 64, 48, 24, 90], [0, 60, 72, 12, 127]]
    two = lpd_npz_score(io.BytesIO(data), "lpd", tracks=["Piano", "Drums"])
    assert [t.name for t in two.tracks] == ["Piano", "Drums"]
    assert rows(two)[:2] == [[0, 60, 0, 36], [1, 36, 0, 1]]
    with pytest.raises(CorpusReadError, match=r"<bytes>: no track \['Guitar'\]"):
        lpd_npz_score(data, "lpd", tracks=["Guitar"])
    with pytest.raises(CorpusReadError, match="g.npz: not a readable npz"):
        lpd_npz_score(b"garbage", source="g.npz")
    write_lpd_npz(tmp_path / "arr.npz", lpd_rolls(), info_array=True)
    assert rows(lpd_npz_score(tmp_path / "arr.npz", tracks=["Piano"])) == rows(piano)
    np.savez(tmp_path / "plain.npz", a=np.arange(3))
    with pytest.raises(CorpusReadError, match="plain.npz: no info.json"):
        lpd_npz_score(tmp_path / "plain.npz")


def test_roll_runs_on_unsorted_indices_with_explicit_zero():
    # pitch 0: steps 3, 1, 2 (unsorted) and an explicit zero at step 5; pitch 1: steps 0 and 2
    data = np.array([7, 5, 6, 0, 9, 9], np.uint8)
    indices = np.array([3, 1, 2, 5, 0, 2])
    indptr = np.array([0, 4, 6])
    pitch, start, length, first = roll_runs(data, indices, indptr)
    assert pitch.tolist() == [0, 1, 1] and start.tolist() == [1, 0, 2]
    assert length.tolist() == [3, 1, 1] and first.tolist() == [5, 9, 9]


def lpd_archives(tmp_path):
    """The same four npz members in a zip, an uncompressed tar and a tar.gz."""
    members = {}
    for name, pitch in zip("abcd", (60, 62, 64, 65), strict=True):
        rolls = lpd_rolls()
        rolls[1][:] = 0
        rolls[1][0:24, pitch] = 70
        buf = io.BytesIO()
        write_lpd_npz(buf, rolls)
        members[f"lpd/cleansed/{name.upper()}/{name}.npz"] = buf.getvalue()
    paths = {}
    with zipfile.ZipFile(tmp_path / "lpd.zip", "w") as zf:
        for name in reversed(members):  # archive order differs from sorted order
            zf.writestr(name, members[name])
    paths["zip"] = tmp_path / "lpd.zip"
    for mode, suffix in (("w", "tar"), ("w:gz", "tar.gz")):
        with tarfile.open(tmp_path / f"lpd.{suffix}", mode) as tf:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
        paths[suffix] = tmp_path / f"lpd.{suffix}"
    return paths


def test_npz_members_stream_from_zip_and_tar_with_an_even_spread(tmp_path):
    paths = lpd_archives(tmp_path)
    assert spread(list("dcba"), 2) == ["a", "c"] and spread(list("ab"), 0) == ["a", "b"]
    for kind in ("zip", "tar", "tar.gz"):
        got = dict(iter_npz_members(paths[kind], max_pieces=2))
        assert sorted(got) == ["lpd/cleansed/A/a.npz", "lpd/cleansed/C/c.npz"], kind
        score = lpd_npz_score(got["lpd/cleansed/C/c.npz"], tracks=["Piano"])
        assert rows(score, NOTE_V) == [[0, 64, 0, 24, 70]]
    assert len(list(iter_npz_members(paths["tar.gz"]))) == 4


def test_lpd_jobs_read_zip_and_tar_members_in_workers(tmp_path):
    paths = lpd_archives(tmp_path)
    for kind in ("zip", "tar"):
        jobs = list_jobs("lpd", [str(paths[kind])], tracks=["Piano"], max_pieces=2)
        assert [j.piece_id for j in jobs] == ["a", "c"]
        assert jobs[1].source == f"{paths[kind]}#lpd/cleansed/C/c.npz"
        score = read_job(jobs[1], "lpd", 1)
        assert score.tracks == [Track("Piano")] and rows(score) == [[0, 64, 0, 24]]
    with pytest.raises(CorpusReadError, match="compressed tar cannot be read by member"):
        lpd_jobs([str(paths["tar.gz"])])
    folder = tmp_path / "extracted"
    folder.mkdir()
    write_lpd_npz(folder / "z.npz", lpd_rolls())
    (job,) = lpd_jobs([str(folder)])
    assert len(read_job(job, "lpd", 3).notes) == 7


# ---------------------------------------------------------------- MAESTRO


def tiny_midi(pitch: int, tpq: int = 480, qpm: float = 120.0) -> bytes:
    """A type-1 MIDI with one note: ``pitch`` for a quarter starting on beat 2."""
    midi = mido.MidiFile(type=1, ticks_per_beat=tpq)
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=round(mido.bpm2tempo(qpm)), time=0))
    track.append(mido.Message("note_on", note=pitch, velocity=64, time=tpq))
    track.append(mido.Message("note_off", note=pitch, velocity=0, time=tpq))
    track.append(mido.MetaMessage("end_of_track", time=0))
    midi.tracks.append(track)
    buf = io.BytesIO()
    midi.save(file=buf)
    return buf.getvalue()


MAESTRO_ROWS = [
    ("Chopin", "Ballade", "train", "2004", "2004/MIDI-Unprocessed_01.midi", 60),
    ("Bach", "Prelude", "validation", "2006", "2006/MIDI-Unprocessed_02.midi", 62),
    ("Liszt", "Etude", "test", "2018", "2018/MIDI-Unprocessed_03.midi", 64),
]


def write_maestro_zip(path, skip_last_midi: bool = False):
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(
        [
            "canonical_composer",
            "canonical_title",
            "split",
            "year",
            "midi_filename",
            "audio_filename",
            "duration",
        ]
    )
    for composer, title, split, year, midi, _ in MAESTRO_ROWS:
        w.writerow([composer, title, split, year, midi, midi.replace(".midi", ".wav"), "1.0"])
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("maestro-v3.0.0/maestro-v3.0.0.csv", out.getvalue())
        for *_, midi, pitch in MAESTRO_ROWS[: 2 if skip_last_midi else 3]:
            zf.writestr(f"maestro-v3.0.0/{midi}", tiny_midi(pitch))


def test_maestro_official_split_from_csv_and_notes_from_zip(tmp_path):
    path = tmp_path / "maestro-v3.0.0-midi.zip"
    write_maestro_zip(path)
    jobs = maestro_jobs(path)
    assert [j.piece_id for j in jobs] == ["MIDI-Unprocessed_01", "MIDI-Unprocessed_02", "MIDI-Unprocessed_03"]
    assert [j.split for j in jobs] == ["train", "valid", "test"]
    assert jobs[1].source == f"{path}#maestro-v3.0.0/2006/MIDI-Unprocessed_02.midi"
    scores = [read_job(j, "maestro", 1) for j in jobs]
    assert [s.split for s in scores] == ["train", "valid", "test"]
    assert [rows(s, NOTE_V) for s in scores] == [[[0, p, 24, 24, 64]] for *_, p in MAESTRO_ROWS]
    assert scores[0].notes["onset_s"].tolist() == [0.5]  # beat 2 at 120 qpm
    assert scores[2].source == jobs[2].source


def test_maestro_hash_split_is_deterministic_and_missing_member_is_recorded(tmp_path):
    path = tmp_path / "m.zip"
    write_maestro_zip(path, skip_last_midi=True)
    a = maestro_jobs(path, split_mode="70/20/10", seed=3)
    assert a == maestro_jobs(path, split_mode="70/20/10", seed=3)
    assert [j.split for j in a] == [assign_split(j.piece_id, 3, 0.2, 0.1) for j in a]
    assert [j.split for j in list_jobs("maestro", [str(path)])] == ["train", "valid", "test"]
    with pytest.raises(CorpusReadError, match=r"MIDI-Unprocessed_03\.midi: cannot read member"):
        read_job(a[2], "maestro", 1)
    with pytest.raises(ValueError, match="split_mode"):
        maestro_jobs(path, split_mode="80/10/10")


# ---------------------------------------------------------------- ABC zips

ONE_ABC = """% a collection
X:1
T:first
M:4/4
L:1/8
K:G
G2A2 B2c2 | d8 |]

X:2
T:second
M:3/4
L:1/4
K:C
c d e | c3 |]
"""
BROKEN_ABC = "X:5\nT:broken\nM:4/4\nL:1/8\nK:C\n|: ABC [[[ z9/0 |\n"


def test_abc_zip_tunes_become_jobs_and_scores(tmp_path):
    path = tmp_path / "esac.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("esac/europa/one.abc", ONE_ABC)
        zf.writestr("esac/asia/two.abc", BROKEN_ABC.encode("latin-1"))
        zf.writestr("esac/readme.txt", "not a tune")
    jobs = abc_zip_jobs(path)
    assert [(j.piece_id, j.kind) for j in jobs] == [
        ("two_0005", "abc_tune"),
        ("one_0001", "abc_tune"),
        ("one_0002", "abc_tune"),
    ]
    assert jobs[1].source == f"{path}#esac/europa/one.abc#X:1"
    first = read_job(jobs[1], "essen", 1)
    assert first.key == "G major"
    assert rows(first) == [[0, 67, 0, 24], [0, 69, 24, 24], [0, 71, 48, 24], [0, 72, 72, 24], [0, 74, 96, 96]]
    second = read_job(jobs[2], "essen", 1)
    assert second.time_signature == (3, 4)
    assert rows(second) == [[0, 72, 0, 24], [0, 74, 24, 24], [0, 76, 48, 24], [0, 72, 72, 72]]
    with pytest.raises(CorpusReadError, match="^two_0005: ABCHandlerException"):
        read_job(jobs[0], "essen", 1)
    assert list_jobs("abc_zip", [str(path)]) == jobs


def test_abc_zip_ids_stay_unique_for_shared_stems_and_repeated_numbers(tmp_path):
    path = tmp_path / "nottingham_database.zip"
    tune = "X:{n}\nT:t\nL:1/4\nK:C\nC D |]\n"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a/jigs.abc", tune.format(n=1) + "\n" + tune.format(n=1))
        zf.writestr("b/jigs.abc", tune.format(n=1))
    ids = [j.piece_id for j in abc_zip_jobs(path)]
    assert ids == ["a__jigs_0001", "a__jigs_0001_2", "b__jigs_0001"]
    assert dedupe(abc_zip_jobs(path))[1] == []


# ---------------------------------------------------------------- local folders

MUSICXML = """<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.1">
  <part-list><score-part id="P1"><part-name>Flute</part-name></score-part></part-list>
  <part id="P1">
    <measure number="1">
      <attributes><divisions>2</divisions><key><fifths>0</fifths></key>
        <time><beats>2</beats><beat-type>4</beat-type></time></attributes>
      <note><pitch><step>E</step><octave>5</octave></pitch><duration>1</duration><type>eighth</type></note>
      <note><pitch><step>G</step><octave>5</octave></pitch><duration>3</duration><type>quarter</type><dot/></note>
    </measure>
  </part>
</score-partwise>
"""


def write_local_folder(root):
    """Good and bad files of every supported kind, one nested under folders with spaces."""
    nested = root / "nested dir" / "with space"
    nested.mkdir(parents=True)
    write_midi(
        Score.from_notes([(0, 60, 0, 24), (0, 64, 24, 48)], tracks=[Track("piano")]), root / "good.mid"
    )
    (root / "good.abc").write_text("X:3\nT:g\nL:1/4\nK:D\nd2 |]\n")
    write_midi(Score.from_notes([(0, 55, 12, 6)], tracks=[Track("lead", 73)]), nested / "inner song.midi")
    good = (root / "good.mid").read_bytes()
    (root / "x.mid").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(64)))
    (root / "truncated.mid").write_bytes(good[: len(good) - 10])
    (root / "empty.mid").write_bytes(b"")
    type2 = mido.MidiFile(type=2, ticks_per_beat=96)
    for pitch in (60, 62):
        t = mido.MidiTrack([mido.Message("note_on", note=pitch, velocity=90, time=0)])
        t += [mido.Message("note_off", note=pitch, time=96), mido.MetaMessage("end_of_track", time=0)]
        type2.tracks.append(t)
    type2.save(root / "type2.mid")
    mido.MidiFile(type=1, ticks_per_beat=96).save(root / "zerotracks.mid")
    (root / "score.musicxml").write_text(MUSICXML)
    (root / "tunes.abc").write_text(ONE_ABC)
    (root / "notes.txt").write_text("ignored: not a music suffix")


def test_local_folder_reads_the_valid_files_and_names_each_bad_one(tmp_path):
    root = tmp_path / "my music"
    write_local_folder(root)
    jobs = local_jobs([str(root)])
    by_id = {j.piece_id: j for j in jobs}
    assert [j.piece_id for j in jobs] == [
        "empty",
        "good_abc_0003",
        "good_mid",
        "nested dir__with space__inner song",
        "score",
        "truncated",
        "tunes_0001",
        "tunes_0002",
        "type2",
        "x",
        "zerotracks",
    ]
    assert list_jobs("local", [str(root)]) == jobs and jobs == local_jobs([str(root)])
    good = read_job(by_id["good_mid"], "mine", 1)
    assert rows(good) == [[0, 60, 0, 24], [0, 64, 24, 48]] and good.source == str(root / "good.mid")
    inner = read_job(by_id["nested dir__with space__inner song"], "mine", 1)
    assert rows(inner) == [[0, 55, 12, 6]] and inner.tracks == [Track("lead", 73)]
    xml = read_job(by_id["score"], "mine", 1)
    assert xml.time_signature == (2, 4) and rows(xml) == [[0, 76, 0, 12], [0, 79, 12, 36]]
    assert rows(read_job(by_id["good_abc_0003"], "mine", 1)) == [[0, 74, 0, 48]]
    assert rows(read_job(by_id["tunes_0002"], "mine", 1))[0] == [0, 72, 0, 24]
    reasons = {
        "x": r"x\.mid: not a readable MIDI file: .*header is not MThd",
        "truncated": r"truncated\.mid: not a readable MIDI file",
        "empty": r"empty\.mid: not a readable MIDI file: .*less than 14",
        "type2": r"type2\.mid: MIDI type 2 \(independent sequential patterns\) is not supported",
        "zerotracks": r"zerotracks\.mid: MIDI header declares zero tracks",
    }
    for piece_id, reason in reasons.items():
        with pytest.raises(CorpusReadError, match=reason):
            read_job(by_id[piece_id], "mine", 1)


def test_local_several_folders_prefix_ids_and_missing_folder_is_named(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        write_midi(Score.from_notes([(0, 60, 0, 24)]), tmp_path / name / "same.mid")
    jobs = local_jobs([str(tmp_path / "a"), str(tmp_path / "b")])
    assert [j.piece_id for j in jobs] == ["a__same", "b__same"]
    with pytest.raises(CorpusReadError, match="nowhere: not a folder"):
        local_jobs([str(tmp_path / "nowhere")])


def test_read_midi_keeps_its_behaviour_and_bytes_path_matches(tmp_path):
    path = tmp_path / "p.mid"
    write_midi(Score.from_notes([(0, 60, 0, 24)], tracks=[Track("piano")]), path)
    from_file = read_midi(path, corpus="c")
    from_bytes = read_midi_bytes(path.read_bytes(), str(path), corpus="c")
    assert from_file.piece_id == from_bytes.piece_id == "p" and from_file.source == str(path)
    assert from_file.notes.equals(from_bytes.notes) and from_file.sha256 == from_bytes.sha256
    (tmp_path / "bad.mid").write_bytes(b"MThd nonsense")
    with pytest.raises(CorpusReadError, match="bad.mid: not a readable MIDI file"):
        read_midi(tmp_path / "bad.mid")
    # the original midi_folder source and the 'midi' kind are unchanged (type 2 is still read there)
    (job,) = midi_folder_jobs([str(tmp_path)])[1:]
    assert job == Job("p", "midi", str(path), str(path)) and rows(read_job(job, "c", 1)) == [[0, 60, 0, 24]]


# ---------------------------------------------------------------- classical, registry


def test_classical_lists_music21_keyboard_and_chamber_works():
    jobs = classical_jobs()
    ids = [j.piece_id for j in jobs]
    assert len(jobs) == 65 and ids == sorted(ids) and len(set(ids)) == 65
    assert {i.split("__")[0] for i in ids} == set(CLASSICAL_COMPOSERS)
    assert "beethoven__opus18no1__movement1" in ids  # kern + MusicXML: listed once, as MusicXML
    assert next(j for j in jobs if j.piece_id == "beethoven__opus18no1__movement1").payload.endswith(".mxl")
    (op19,) = [j for j in classical_jobs(["schoenberg"]) if j.piece_id.endswith("movement2")]
    score = read_job(op19, "classical", 1)
    assert len(score.notes) == 32
    assert rows(score)[:4] == [[0, 83, 168, 12], [0, 86, 168, 12], [0, 66, 180, 12], [0, 63, 192, 36]]
    with pytest.raises(CorpusReadError, match="scarlatti"):
        classical_jobs(["scarlatti"])


def test_registry_names_every_reader_and_rejects_unknown_names():
    assert {"jsb_pickle", "jsb_16th", "lpd", "maestro", "abc_zip", "classical", "local"} <= set(SOURCES)
    assert {"music21", "midi_folder"} <= set(SOURCES)
    with pytest.raises(ValueError, match="valid: .*'zip_midi'"):
        read_job(Job("p", "nope", "", "s"), "c", 1)
