"""Batched, columnar ingest (issue 7): same Scores as read_midi, same tables as before, bounded.

The reference for "same Scores" is the per-file pandas conversion read_midi used before
batching (kept below as ``old_read_midi_bytes``); the reference for "same tables" is
the old writer, ``scores_to_tables`` + ``to_parquet`` (``write_notes``).
"""

from __future__ import annotations

import hashlib
import json
import pickle
import zipfile
from pathlib import Path
from types import SimpleNamespace

import mido
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import scorelab.io.midi as midi_io
from scorelab.corpora import ingest
from scorelab.corpora.build import CorpusConfig, assign_split, build_corpus, ensure_every_split
from scorelab.corpora.sources import dedupe, list_jobs, read_job
from scorelab.errors import CorpusReadError, EmptyCorpusError, ScoreValidationError
from scorelab.io.midi import MidiBatch, read_midi, read_midi_bytes, tempo_map, tick_seconds, write_midi
from scorelab.score import NOTE_COLUMNS, NOTE_DTYPES, Score, Track, read_notes, write_notes

# ---------------------------------------------------------------- the reference


def old_read_midi_bytes(data: bytes, source: str, corpus: str = "", piece_id=None, resolution=24, midi=None):
    """read_midi_bytes as it was before batching: a pandas frame per track, concat, astype, sort."""
    import symusic

    if midi is None:
        try:
            midi = symusic.Score.from_midi(data)
        except (RuntimeError, ValueError, IndexError, OverflowError) as err:
            raise CorpusReadError(f"{source}: not a readable MIDI file: {err}") from err
    tpq = int(midi.ticks_per_quarter)
    tempo_ticks = np.array([t.time for t in midi.tempos], dtype=np.int64)
    tempo_mspq = np.array([t.mspq for t in midi.tempos], dtype=np.float64)
    frames, tracks = [], []
    for index, track in enumerate(midi.tracks):
        ticks = track.notes.numpy()
        start = ticks["time"].astype(np.int64)
        stop = start + ticks["duration"].astype(np.int64)
        onset, end = midi_io._rescale(start, tpq, resolution), midi_io._rescale(stop, tpq, resolution)
        start_s = tick_seconds(start, tempo_ticks, tempo_mspq, tpq)
        frames.append(
            pd.DataFrame(
                {
                    "track": index,
                    "pitch": ticks["pitch"].astype(np.int64),
                    "onset": onset,
                    "duration": np.maximum(end - onset, 1),
                    "velocity": ticks["velocity"].astype(np.int64),
                    "onset_s": start_s,
                    "duration_s": tick_seconds(stop, tempo_ticks, tempo_mspq, tpq) - start_s,
                }
            )
        )
        tracks.append(Track(str(track.name), int(track.program), bool(track.is_drum)))
    notes = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=NOTE_COLUMNS)
    if len(notes) == 0:
        raise CorpusReadError(f"{source}: no notes")
    notes = notes[NOTE_COLUMNS].astype(NOTE_DTYPES)
    notes = notes.sort_values(["onset", "track", "pitch"], kind="stable").reset_index(drop=True)
    score = Score(
        notes=notes,
        tracks=tracks,
        resolution=resolution,
        piece_id=piece_id or Path(source).stem,
        corpus=corpus,
        source=source,
        sha256=hashlib.sha256(data).hexdigest(),
        tempo=6e7 / float(tempo_map(tempo_ticks, tempo_mspq)[1][0]),
        time_signature=(
            (int(midi.time_signatures[0].numerator), int(midi.time_signatures[0].denominator))
            if len(midi.time_signatures)
            else (4, 4)
        ),
    )
    try:
        return score.validate()
    except ScoreValidationError as err:
        raise CorpusReadError(f"{source}: {err}") from err


def assert_same_score(a: Score, b: Score, split: bool = True) -> None:
    pd.testing.assert_frame_equal(a.notes, b.notes, check_exact=True)
    assert list(a.notes.dtypes) == [np.dtype(NOTE_DTYPES[c]) for c in NOTE_COLUMNS]
    for name in ("tracks", "resolution", "piece_id", "corpus", "time_signature", "key", "source", "sha256"):
        assert getattr(a, name) == getattr(b, name), name
    assert a.tempo == b.tempo and type(a.tempo) is type(b.tempo)
    if split:
        assert a.split == b.split


# ---------------------------------------------------------------- test files


def _track(events, name=None, program=None, channel=0):
    """A mido track from (absolute tick, message) pairs."""
    msgs = []
    if name is not None:
        msgs.append((0, mido.MetaMessage("track_name", name=name)))
    if program is not None:
        msgs.append((0, mido.Message("program_change", channel=channel, program=program)))
    msgs += events
    msgs.sort(key=lambda m: m[0])
    out, now = mido.MidiTrack(), 0
    for tick, msg in msgs:
        out.append(msg.copy(time=tick - now))
        now = tick
    return out


def _on(tick, pitch, vel=80, ch=0):
    return (tick, mido.Message("note_on", channel=ch, note=pitch, velocity=vel))


def _off(tick, pitch, ch=0):
    return (tick, mido.Message("note_off", channel=ch, note=pitch, velocity=0))


def _tempo(tick, bpm):
    return (tick, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)))


def write_tempo_480(path):
    """tpq 480: tempo changes mid-piece, overlapping same-pitch notes, a 5-tick note, a
    note-less track, drums, onsets on half-tick boundaries, time signature only at tick 960."""
    midi = mido.MidiFile(type=1, ticks_per_beat=480)
    conductor = _track(
        [
            _tempo(0, 90),
            _tempo(700, 140),
            _tempo(1930, 61.5),
            _tempo(2400, 200),
            (960, mido.MetaMessage("time_signature", numerator=6, denominator=8)),
        ]
    )
    melody = _track(
        [
            _on(0, 60),
            _on(240, 60, 70),  # overlaps the first 60
            _off(480, 60),
            _off(720, 60),
            _on(730, 64, 99),
            _off(735, 64),  # 5 ticks: a quarter of a target tick
            _on(10, 67),  # half a target tick: rounds up
            _off(1210, 67),
            _on(2000, 72, 1),
            _off(2999, 72),
            _on(3000, 127, 127),
            _off(4000, 127),
        ],
        name="lead",
        program=73,
    )
    silent = _track([], name="silent", program=5, channel=1)
    drums = _track(
        [_on(0, 36, 100, 9), _off(60, 36, 9), _on(960, 38, 100, 9), _off(970, 38, 9)],
        name="kit",
        program=0,
        channel=9,
    )
    midi.tracks.extend([conductor, melody, silent, drums])
    midi.save(str(path))


def write_tempo_96(path):
    """tpq 96, two tempi at tick 0 (the last wins), two channels in one track (two symusic tracks)."""
    midi = mido.MidiFile(type=1, ticks_per_beat=96)
    conductor = _track([_tempo(0, 100), _tempo(0, 75), _tempo(192, 150)])
    both = _track(
        [
            _on(2, 50, 60, 0),  # 2/96 of a quarter = half a target tick
            _off(98, 50, 0),
            _on(0, 55, 61, 3),
            _off(400, 55, 3),
            _on(96, 50, 62, 0),
            _off(100, 50, 0),
        ],
        name="two channels",
    )
    midi.tracks.extend([conductor, both])
    midi.save(str(path))


def write_late_tempo(path):
    """No tempo before tick 200 (120 qpm holds), no time signature."""
    midi = mido.MidiFile(type=1, ticks_per_beat=120)
    midi.tracks.extend(
        [_track([_tempo(200, 80)]), _track([_on(0, 60), _off(600, 60), _on(100, 62), _off(300, 62)])]
    )
    midi.save(str(path))


def chorale_like() -> Score:
    rows = [
        (0, 67, 0, 24, 90),
        (0, 67, 24, 24, 70),
        (0, 69, 48, 12, 64),
        (1, 48, 0, 72, 80),
        (2, 36, 0, 6, 100),
    ]
    tracks = [Track("soprano", 52), Track("bass", 32), Track("kit", 0, True)]
    return Score.from_notes(rows, tracks=tracks, tempo=100.0, time_signature=(3, 4), piece_id="x")


def write_test_files(folder: Path) -> list[Path]:
    """Every readable kind of file the tests use, in sorted order."""
    folder.mkdir(parents=True, exist_ok=True)
    write_midi(chorale_like(), folder / "a_chorale.mid")
    write_tempo_480(folder / "b_tempo480.mid")
    write_tempo_96(folder / "c_tempo96.mid")
    write_late_tempo(folder / "d_late.mid")
    for i in range(4):
        rows = [(0, 60 + i, 0, 24), (0, 64, 24, 12 + i), (1, 40, 0, 48)]
        s = Score.from_notes(rows, tracks=[Track("a", 1), Track("b", 33)], tempo=60.0 + 10 * i)
        write_midi(s, folder / f"e_plain{i}.mid")
    return sorted(folder.glob("*.mid"))


def write_bad_files(folder: Path) -> None:
    (folder / "f_corrupt.mid").write_bytes(b"MThd this is not a midi file")
    write_midi(Score.from_notes([], tracks=[Track("solo")]), folder / "g_silent.mid")


# ---------------------------------------------------------------- same Scores


def test_batch_gives_read_midis_scores_and_the_old_conversion(tmp_path):
    files = write_test_files(tmp_path / "m")
    batch = MidiBatch()
    for f in files:
        batch.add(f.read_bytes(), str(f), f.stem)
    notes = batch.convert(24)
    assert notes.errors == [None] * len(files)
    for i, f in enumerate(files):
        got = notes.score(i, corpus="c")
        assert_same_score(got, read_midi(f, corpus="c"))
        assert_same_score(got, old_read_midi_bytes(f.read_bytes(), str(f), corpus="c"))
        assert_same_score(
            read_midi_bytes(f.read_bytes(), str(f), "c", "p", 480),
            old_read_midi_bytes(f.read_bytes(), str(f), "c", "p", 480),
        )
    by_name = {f.stem: notes.score(i) for i, f in enumerate(files)}
    b = by_name["b_tempo480"]
    assert [t.name for t in b.tracks] == ["lead", "kit"]  # symusic drops the note-less track
    assert (
        b.tracks[1].is_drum and b.time_signature == (6, 8) and b.tempo == 6e7 / 666667
    )  # 90 qpm, in whole µs
    assert b.notes["duration"].min() == 1 and (b.notes["pitch"] == 60).sum() == 2
    assert b.notes["onset"].tolist()[:4] == [0, 0, 1, 12]  # 10/480 of a quarter rounds up to 1 of 24
    assert by_name["c_tempo96"].tempo == 75.0 and len(by_name["c_tempo96"].tracks) == 2
    assert by_name["d_late"].tempo == 120.0 and by_name["d_late"].time_signature == (4, 4)


def test_bad_pieces_are_rejected_alone_with_read_midis_message(tmp_path, monkeypatch):
    """Notes that break a Score invariant reject their piece only, in read_midi's words;
    a tick before 0 that still rounds to onset 0 is kept, with tick_seconds' seconds
    (so a piece of several tempo maps in one batch takes its own map's last entry)."""
    import symusic

    files = write_test_files(tmp_path / "m")[:5]  # a, b (480, tempo changes), c (96), d (late), e0
    real = symusic.Score.from_midi
    changes = {1: ("time", -1), 2: ("pitch", -3), 3: ("velocity", -1), 4: ("time", -500)}

    def mutate(k: int, midi):
        if k in changes:
            setattr(midi.tracks[0].notes[1], *changes[k])
        return midi

    def from_midi(data):
        k = [f.read_bytes() for f in files].index(data)
        return mutate(k, real(data))

    fake = SimpleNamespace(Score=SimpleNamespace(from_midi=from_midi))
    monkeypatch.setattr(midi_io, "_symusic", lambda: fake)
    batch = MidiBatch()
    for f in files:
        batch.add(f.read_bytes(), str(f), f.stem)
    notes = batch.convert(24)
    for k in (0, 1):  # kept: 1 has a note at tick -1 (onset rounds to 0)
        assert notes.errors[k] is None
        data = files[k].read_bytes()
        assert_same_score(
            notes.score(k), old_read_midi_bytes(data, str(files[k]), midi=mutate(k, real(data)))
        )
    # tick_seconds wraps a tick before 0 to the last tempo entry: a quirk kept bit for bit
    assert notes.score(1).notes["onset"].tolist().count(0) == 3
    for k in (2, 3, 4):
        data = files[k].read_bytes()
        with pytest.raises(CorpusReadError) as want:
            old_read_midi_bytes(data, str(files[k]), midi=mutate(k, real(data)))
        assert notes.errors[k] == str(want.value)
        with pytest.raises(CorpusReadError, match="must be"):
            read_midi(files[k])
    assert "pitch must be 0-127" in notes.errors[2] and "velocity must be 0-127" in notes.errors[3]
    assert "onset must be >= 0" in notes.errors[4]
    assert int(notes.counts[2:].sum()) == 0
    assert len(notes.columns["onset"]) == len(notes.score(0).notes) + len(notes.score(1).notes)


def test_packed_sort_key_is_lexsorts_order():
    rng = np.random.default_rng(1)
    n = 5000
    piece = np.sort(rng.integers(0, 300, n))
    onset = rng.integers(-5, 400, n)
    track = rng.integers(0, 3, n)
    pitch = rng.integers(-128, 128, n).astype(np.int16)
    want = np.lexsort((pitch, track, onset, piece))
    assert (midi_io._note_order(piece, onset, track, pitch) == want).all()
    huge = onset * 2**50  # too wide to pack: falls back to lexsort
    assert (midi_io._note_order(piece, huge, track, pitch) == np.lexsort((pitch, track, huge, piece))).all()
    assert len(midi_io._note_order(piece[:0], onset[:0], track[:0], pitch[:0])) == 0


def test_one_ticks_seconds_in_python_are_tick_seconds_bit_for_bit():
    """MidiBatch.add's scalar length in seconds (_seconds_at) against the NumPy tick_seconds:
    random maps with changes at shared ticks, before and after the tick, at tick 0, none."""
    rng = np.random.default_rng(7)
    for case in range(3000):
        k = int(rng.integers(0, 5))
        ticks = rng.integers(0, 50, k) if case % 2 else rng.integers(0, 5000, k)
        mspq = rng.integers(30_000, 2_000_000, k)
        tpq = int(rng.choice([24, 96, 480, 960]))
        tick = int(rng.integers(0, 6000))
        want = float(tick_seconds(np.array([tick], np.int64), ticks, mspq, tpq)[0])
        got = midi_io._seconds_at(tick, ticks.tolist(), mspq.tolist(), tpq)
        assert got == want, (case, ticks, mspq, tpq, tick)
    # by hand: 120 qpm for 480 ticks (0.5 s), then 60 qpm from tick 480 (1 s per quarter)
    assert midi_io._seconds_at(960, [480], [1_000_000], 480) == 1.5
    assert midi_io._seconds_at(960, [480, 480], [250_000, 1_000_000], 480) == 1.5  # the last at a tick wins
    assert midi_io._seconds_at(960, [], [], 480) == 1.0


# ---------------------------------------------------------------- same tables


def old_path_build(jobs, corpus: str, n_tracks: int, seed: int, out: Path) -> None:
    """What build_corpus wrote before batching, for the same jobs (reader split winning)."""
    scores = []
    for job in jobs:
        try:
            score = read_job(job, corpus, n_tracks)
        except CorpusReadError:
            continue
        score.split = job.split or score.split or assign_split(score.piece_id, seed, 0.1, 0.1)
        scores.append(score)
    ensure_every_split(scores, seed)
    write_notes(out, scores)


def assert_same_tables(new: Path, old: Path) -> None:
    for name in ("notes.parquet", "pieces.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(new / name), pd.read_parquet(old / name), check_exact=True
        )
    assert pq.read_schema(new / "notes.parquet").equals(
        pq.read_schema(old / "notes.parquet"), check_metadata=True
    )
    a, b = read_notes(new), read_notes(old)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert_same_score(x, y)


def test_midi_folder_build_matches_the_old_path_and_is_byte_identical(tmp_path):
    write_test_files(tmp_path / "m")
    write_bad_files(tmp_path / "m")
    cfg = CorpusConfig(source="midi_folder", paths=[str(tmp_path / "m")], tracks=1, max_reject_fraction=0.5)
    one = build_corpus("mine", cfg, 0, tmp_path / "one", workers=1)
    build_corpus("mine", cfg, 0, tmp_path / "two", workers=1)
    for name in ("notes.parquet", "pieces.parquet", "rejected.parquet", "summary.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    assert one["pieces_kept"] == 8 and one["pieces_rejected"] == 2
    rejected = pd.read_parquet(tmp_path / "one/rejected.parquet")
    assert rejected["source"].str.rsplit("/", n=1).str[-1].tolist() == ["f_corrupt.mid", "g_silent.mid"]
    assert "f_corrupt.mid: not a readable MIDI file" in rejected["reason"][0]
    assert rejected["reason"][1].endswith("g_silent.mid: no notes")
    old_path_build(list_jobs("midi_folder", cfg.paths), "mine", 1, 0, tmp_path / "old")
    assert_same_tables(tmp_path / "one", tmp_path / "old")
    assert one["notes"] == sum(len(s.notes) for s in read_notes(tmp_path / "old"))
    # every MIDI file read by read_midi gives the Score read back from the corpus
    for s in read_notes(tmp_path / "one"):
        assert_same_score(s, read_midi(s.source, corpus="mine", piece_id=s.piece_id), split=False)


def test_row_groups_are_batches_and_do_not_change_what_is_read(tmp_path, monkeypatch):
    write_test_files(tmp_path / "m")
    write_bad_files(tmp_path / "m")
    cfg = CorpusConfig(source="midi_folder", paths=[str(tmp_path / "m")], tracks=1, max_reject_fraction=0.5)
    build_corpus("mine", cfg, 0, tmp_path / "whole", workers=1)
    sizes = []
    real_write = ingest.NotesWriter.write

    def spy(self, table):
        sizes.append(table.num_rows)
        return real_write(self, table)

    monkeypatch.setattr(ingest.NotesWriter, "write", spy)
    build_corpus("mine", cfg, 0, tmp_path / "pairs", workers=1, batch_pieces=2)
    # 10 files in batches of 2; the batch holding the two bad files writes nothing
    assert pq.ParquetFile(tmp_path / "pairs/notes.parquet").num_row_groups == 4 == len(sizes)
    assert pq.ParquetFile(tmp_path / "whole/notes.parquet").num_row_groups == 1
    sizes.clear()
    build_corpus("mine", cfg, 0, tmp_path / "few_notes", workers=1, batch_notes=5)
    biggest_piece = max(len(s.notes) for s in read_notes(tmp_path / "whole"))
    assert len(sizes) > 4 and max(sizes) < 5 + biggest_piece  # a batch closes at the note bound
    for other in ("pairs", "few_notes"):
        assert_same_tables(tmp_path / other, tmp_path / "whole")
        assert (tmp_path / other / "pieces.parquet").read_bytes() == (
            tmp_path / "whole/pieces.parquet"
        ).read_bytes()


def test_mixed_local_folder_keeps_job_order_and_the_old_tables(tmp_path):
    """MIDI read in-process and ABC through read_job interleave in job order."""
    folder = tmp_path / "mix"
    write_test_files(folder)
    (folder / "b_tunes.abc").write_text(
        "X:1\nT:one\nM:4/4\nL:1/4\nK:C\nC D E F | G4 |]\n\nX:2\nT:two\nM:3/4\nL:1/4\nK:G\nG A B | d3 |]\n"
    )
    (folder / "c_broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x02\x00\x01\x00\x60")  # type 2
    cfg = CorpusConfig(source="local", paths=[str(folder)], tracks=1, max_reject_fraction=0.5)
    summary = build_corpus("mix", cfg, 3, tmp_path / "new", workers=1, batch_pieces=3)
    jobs, _ = dedupe(list_jobs("local", [str(folder)]))
    old_path_build(jobs, "mix", 1, 3, tmp_path / "old")
    assert_same_tables(tmp_path / "new", tmp_path / "old")
    ids = pd.read_parquet(tmp_path / "new/pieces.parquet")["piece_id"].tolist()
    assert ids == [j.piece_id for j in jobs if j.piece_id != "c_broken"]
    rejected = pd.read_parquet(tmp_path / "new/rejected.parquet")
    assert rejected["reason"].tolist() == [
        f"{folder / 'c_broken.mid'}: MIDI type 2 (independent sequential patterns) is not supported"
    ]
    assert summary["pieces_kept"] == len(ids)


# ---------------------------------------------------------------- failures write nothing


def test_zero_readable_pieces_raise_naming_why_and_write_nothing(tmp_path):
    (tmp_path / "m").mkdir()
    write_bad_files(tmp_path / "m")
    cfg = CorpusConfig(source="midi_folder", paths=[str(tmp_path / "m")], tracks=1)
    with pytest.raises(
        EmptyCorpusError, match=r"corpus mine: no piece could be read \(2 tried; first reasons: "
    ) as err:
        build_corpus("mine", cfg, 0, tmp_path / "out", workers=1)
    assert "f_corrupt.mid: not a readable MIDI file" in str(err.value) and "g_silent.mid: no notes" in str(
        err.value
    )
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no temporary folder left either


def test_an_error_inside_the_build_leaves_no_output_and_keeps_the_previous(tmp_path, monkeypatch):
    write_test_files(tmp_path / "m")
    cfg = CorpusConfig(source="midi_folder", paths=[str(tmp_path / "m")], tracks=1)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("scorelab.corpora.build.write_rejected", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        build_corpus("mine", cfg, 0, tmp_path / "out", workers=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    monkeypatch.undo()
    build_corpus("mine", cfg, 0, tmp_path / "out", workers=1)
    before = (tmp_path / "out/notes.parquet").read_bytes()
    monkeypatch.setattr("scorelab.corpora.build.write_rejected", boom)
    with pytest.raises(RuntimeError):
        build_corpus("mine", cfg, 0, tmp_path / "out", workers=1, batch_pieces=2)
    assert (tmp_path / "out/notes.parquet").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "out"]


def test_too_few_tracks_are_rejected_as_read_job_says(tmp_path):
    write_test_files(tmp_path / "m")
    cfg = CorpusConfig(source="midi_folder", paths=[str(tmp_path / "m")], tracks=2, max_reject_fraction=0.5)
    build_corpus("mine", cfg, 0, tmp_path / "out", workers=1)
    reasons = pd.read_parquet(tmp_path / "out/rejected.parquet")["reason"].tolist()
    assert reasons == [f"{tmp_path / 'm' / 'd_late.mid'}: has 1 tracks, expected 2"]
    with pytest.raises(CorpusReadError, match="has 1 tracks, expected 2"):
        read_job(list_jobs("midi_folder", cfg.paths)[3], "mine", 2)


# ---------------------------------------------------------------- splits


def _tiny_midi(pitch: int) -> bytes:
    import io

    midi = mido.MidiFile(type=1, ticks_per_beat=96)
    midi.tracks.append(_track([_on(96, pitch), _off(192, pitch)]))
    buf = io.BytesIO()
    midi.save(file=buf)
    return buf.getvalue()


def test_reader_split_wins_over_the_hash_split(tmp_path):
    # MAESTRO's CSV split (zip_midi, read in-process): every piece in "test"
    rows = [f"C,T{i},test,2004,2004/p{i}.midi,2004/p{i}.wav,1.0" for i in range(5)]
    csv = "canonical_composer,canonical_title,split,year,midi_filename,audio_filename,duration\n"
    with zipfile.ZipFile(tmp_path / "maestro.zip", "w") as zf:
        zf.writestr("maestro-v3.0.0/maestro-v3.0.0.csv", csv + "\n".join(rows) + "\n")
        for i in range(5):
            zf.writestr(f"maestro-v3.0.0/2004/p{i}.midi", _tiny_midi(60 + i))
    cfg = CorpusConfig(source="maestro", paths=[str(tmp_path / "maestro.zip")], tracks=1)
    build_corpus("m", cfg, 0, tmp_path / "maestro", workers=1)
    pieces = pd.read_parquet(tmp_path / "maestro/pieces.parquet")
    assert pieces["split"].tolist() == ["test"] * 5
    assert any(assign_split(p, 0, 0.1, 0.1) != "test" for p in pieces["piece_id"])
    jobs = list_jobs("maestro", cfg.paths)
    old_path_build(jobs, "m", 1, 0, tmp_path / "old_maestro")
    assert_same_tables(tmp_path / "maestro", tmp_path / "old_maestro")

    # JSB pickle (a reader in worker processes: 12 jobs, 2 workers): the file's splits
    data = {"train": [[(60 + i,), (62,)] for i in range(6)], "valid": [[(64,)]] * 3, "test": [[(65, 69)]] * 3}
    (tmp_path / "jsb.pickle").write_bytes(pickle.dumps(data, protocol=2))
    cfg = CorpusConfig(
        source="jsb_pickle", paths=[str(tmp_path / "jsb.pickle")], tracks=1, valid_fraction=0.5
    )
    summary = build_corpus("jsb", cfg, 0, tmp_path / "jsb", workers=2)
    pieces = pd.read_parquet(tmp_path / "jsb/pieces.parquet")
    assert pieces["split"].tolist() == ["train"] * 6 + ["valid"] * 3 + ["test"] * 3
    assert summary["splits"] == {"train": 6, "valid": 3, "test": 3}
    old_path_build(list_jobs("jsb_pickle", cfg.paths), "jsb", 1, 0, tmp_path / "old_jsb")
    assert_same_tables(tmp_path / "jsb", tmp_path / "old_jsb")


def test_summary_counts_what_was_written(tmp_path):
    write_test_files(tmp_path / "m")
    cfg = CorpusConfig(source="midi_folder", paths=[str(tmp_path / "m")], tracks=1)
    summary = build_corpus("mine", cfg, 0, tmp_path / "out", workers=1)
    assert json.loads((tmp_path / "out/summary.json").read_text()) == summary
    assert summary["notes"] == pq.ParquetFile(tmp_path / "out/notes.parquet").metadata.num_rows
    assert sum(summary["splits"].values()) == summary["pieces_kept"] == 8


def test_worker_processes_give_the_same_bytes_as_one_process(tmp_path, monkeypatch):
    """MIDI and ABC read in two worker processes, tasks of 3 MIDI files: nothing changes.

    Batches close by job order and note counts only, so the pool's tasks (and how many
    workers ran them) never reach the output; small batches make them straddle tasks.
    """
    folder = tmp_path / "mix"
    write_test_files(folder)
    write_bad_files(folder)
    (folder / "b_tunes.abc").write_text(
        "X:1\nT:one\nM:4/4\nL:1/4\nK:C\nC D E F | G4 |]\n\nX:2\nT:two\nM:3/4\nL:1/4\nK:G\nG A B | d3 |]\n"
    )
    cfg = CorpusConfig(source="local", paths=[str(folder)], tracks=1, max_reject_fraction=0.5)
    monkeypatch.setattr(ingest, "MIDI_TASK", 3)
    monkeypatch.setattr(ingest, "MIDI_POOL_MIN", 1)
    jobs, _ = dedupe(list_jobs("local", [str(folder)]))
    # music21's jobs always get guarded reader processes; MIDI alone only on several cores
    assert ingest._use_pool(jobs, 2) and ingest._use_pool(jobs, 1)
    midi_only = [j for j in jobs if j.kind in ingest.MIDI_KINDS]
    assert ingest._use_pool(midi_only, 2) and not ingest._use_pool(midi_only, 1)
    tasks = ingest._tasks(jobs)
    assert max(len(t) for t in tasks) == 3 and len(tasks) >= 5
    from scorelab.corpora import guard

    pool_started = []
    real_pool = guard.GuardedPool.__init__

    def spy(self, fn, workers, *a, **k):
        pool_started.append(workers)
        return real_pool(self, fn, workers, *a, **k)

    monkeypatch.setattr(guard.GuardedPool, "__init__", spy)
    for batch_pieces, batch_notes in ((3, 1 << 20), (256, 5)):
        one = build_corpus(
            "mix",
            cfg,
            0,
            tmp_path / f"one{batch_notes}",
            workers=1,
            batch_pieces=batch_pieces,
            batch_notes=batch_notes,
        )
        assert pool_started == [1]  # one guarded reader for the ABC tunes
        pool_started.clear()
        two = build_corpus(
            "mix",
            cfg,
            0,
            tmp_path / f"two{batch_notes}",
            workers=2,
            batch_pieces=batch_pieces,
            batch_notes=batch_notes,
        )
        assert pool_started == [2]
        pool_started.clear()
        assert one == two and one["pieces_rejected"] == 2
        for name in ("notes.parquet", "pieces.parquet", "rejected.parquet", "summary.json"):
            a = (tmp_path / f"one{batch_notes}" / name).read_bytes()
            assert a == (tmp_path / f"two{batch_notes}" / name).read_bytes(), name
    assert pq.ParquetFile(tmp_path / "one5/notes.parquet").num_row_groups > 3
