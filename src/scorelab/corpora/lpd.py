"""Lakh Pianoroll Dataset (LPD-5 cleansed) ``.npz`` files -> Score, without pypianoroll.

A pypianoroll npz (``Multitrack.save``; pypianoroll/outputs.py in 1.x, multitrack.py
in 0.x, which LPD was made with) is a zip of ``.npy`` arrays plus one raw member:

- ``info.json``: a JSON text member (not an array): ``resolution`` (1.x) or
  ``beat_resolution`` (0.x), time steps per beat, 24 for LPD; ``name``; and per track
  ``"0"``, ``"1"``, ... an object with ``name``, ``program``, ``is_drum``;
- ``tempo`` (bpm per step) and, when present, ``downbeat`` (bool per step);
- per track ``i``: ``pianoroll_{i}_csc_data``, ``_csc_indices``, ``_csc_indptr``,
  ``_csc_shape``, the SciPy CSC parts of the ``(n_steps, 128)`` piano roll (time on
  rows, pitch on columns, velocities, or ``True`` in a binarised roll, as data).

The roll is never densified: runs are found on the sparse parts directly (a run of
consecutive non-zero steps on one pitch is one note, as pypianoroll's own MIDI writer
reads it), so neither SciPy nor a 128-column dense array per song is needed. A note's
velocity is its first step's value clipped to 1-127 (a binarised roll has no
velocity: those notes get ``DEFAULT_VELOCITY``). All tracks are kept, empty ones too,
in file order: LPD-5's fixed five tracks (Drums, Piano, Guitar, Bass, Strings) are its
layout, and a codec relies on the order. LPD-5 cleansed is 4/4; the meter is read from
the first two downbeats when they are there.

Members of the LPD tar are read without extracting its 21 425 files:
:func:`iter_npz_members` streams them, and :func:`lpd_jobs` lists an uncompressed tar
by member offset so worker processes read one member each with one seek.
"""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from scorelab.constants import DEFAULT_RESOLUTION, DEFAULT_TEMPO_QPM, DEFAULT_VELOCITY, MIDI_PITCHES
from scorelab.corpora.download import archive_format
from scorelab.corpora.jobs import Job
from scorelab.errors import CorpusReadError, ScoreValidationError
from scorelab.score import Score, Track

LPD5_TRACKS = ("Drums", "Piano", "Guitar", "Bass", "Strings")
CSC_PARTS = ("data", "indices", "indptr", "shape")


def _info(npz, source: str) -> dict:
    """The ``info.json`` member as a dict (raw bytes in real files; a text array also works)."""
    if "info.json" not in npz.files:
        raise CorpusReadError(f"{source}: no info.json member (not a pypianoroll npz)")
    raw = npz["info.json"]
    if isinstance(raw, np.ndarray):  # a JSON text saved as an array by other writers
        raw = raw.tobytes() if raw.dtype == np.uint8 else str(raw.item() if raw.ndim == 0 else raw[0])
    try:
        info = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise CorpusReadError(f"{source}: info.json is not JSON: {err}") from err
    if not isinstance(info, dict):
        raise CorpusReadError(f"{source}: info.json is not a JSON object")
    return info


def roll_runs(
    data: np.ndarray, indices: np.ndarray, indptr: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Runs of non-zero steps in a CSC piano roll: ``(pitch, start_step, n_steps, first_value)``.

    Column ``p`` of the CSC matrix is pitch ``p``; its stored rows are the steps where
    it sounds. Explicit zeros are dropped; rows are sorted within each pitch, so a run
    starts wherever the pitch changes or the step is not the previous step plus one.
    """
    counts = np.diff(indptr)
    pitch = np.repeat(np.arange(len(counts)), counts)
    step = indices.astype(np.int64)
    keep = data != 0
    pitch, step, data = pitch[keep], step[keep], data[keep]
    order = np.lexsort((step, pitch))
    pitch, step, data = pitch[order], step[order], data[order]
    new = np.ones(len(step), bool)
    new[1:] = (pitch[1:] != pitch[:-1]) | (step[1:] != step[:-1] + 1)
    starts = np.flatnonzero(new)
    lengths = np.diff(np.append(starts, len(step)))
    return pitch[starts], step[starts], lengths, data[starts]


def _track_rows(npz, i: int, steps_per_beat: int, resolution: int, source: str) -> np.ndarray:
    """``(track, pitch, onset, duration, velocity)`` rows of track ``i``, in ticks."""
    name = f"pianoroll_{i}_csc"
    data, indices, indptr, shape = (np.asarray(npz[f"{name}_{part}"]) for part in CSC_PARTS)
    n_steps, n_pitches = (int(x) for x in shape.reshape(-1)[:2])
    if n_pitches != MIDI_PITCHES or len(indptr) != n_pitches + 1 or len(data) != len(indices):
        raise CorpusReadError(f"{source}: track {i} is not a (steps, 128) CSC roll (shape {shape.tolist()})")
    if len(indices) and (indices.min() < 0 or indices.max() >= n_steps or indptr[-1] != len(indices)):
        raise CorpusReadError(f"{source}: track {i} has CSC indices outside its {n_steps} steps")
    pitch, start, length, first = roll_runs(data, indices, indptr)
    if data.dtype == np.bool_:
        velocity = np.full(len(pitch), DEFAULT_VELOCITY, np.int64)
    else:
        velocity = np.clip(np.rint(first.astype(np.float64)), 1, 127).astype(np.int64)
    # steps -> ticks, rounded half up (exact when resolution == steps_per_beat, LPD's case)
    onset = (2 * start * resolution + steps_per_beat) // (2 * steps_per_beat)
    end = (2 * (start + length) * resolution + steps_per_beat) // (2 * steps_per_beat)
    return np.stack([np.full(len(pitch), i), pitch, onset, np.maximum(end - onset, 1), velocity], axis=1)


def _meter(npz, steps_per_beat: int) -> tuple[int, int]:
    """Beats per bar from the first two downbeats, over quarter-note beats; 4/4 otherwise."""
    if "downbeat" not in npz.files:
        return (4, 4)
    marks = np.flatnonzero(np.asarray(npz["downbeat"]).reshape(-1))
    if len(marks) < 2 or (marks[1] - marks[0]) % steps_per_beat:
        return (4, 4)
    return (int((marks[1] - marks[0]) // steps_per_beat), 4)


def lpd_npz_score(
    npz: str | Path | bytes | BinaryIO,
    corpus: str = "",
    tracks: list[str] | None = None,
    *,
    piece_id: str | None = None,
    source: str | None = None,
    resolution: int = DEFAULT_RESOLUTION,
) -> Score:
    """Read one pypianoroll ``.npz`` (LPD layout, pypianoroll 0.x or 1.x) into a Score.

    Parameters
    ----------
    npz
        A path, the file's bytes, or a readable binary file object (a tar member).
    corpus
        Stored in the Score.
    tracks
        Track names to keep, in this order (case-insensitive, e.g. ``["Piano"]``);
        ``None`` keeps every track in file order.
    piece_id, source
        Stored in the Score and named in errors; default to the path's stem and the path
        (``"<bytes>"`` for bytes without a ``source``).
    resolution
        Ticks per quarter note of the Score; steps are rescaled from the file's steps per beat.

    Raises
    ------
    CorpusReadError
        Naming ``source``: not an npz, no ``info.json``, no steps-per-beat, a malformed
        roll, a requested track that is absent, or no notes in the kept tracks.
    """
    if isinstance(npz, (str, Path)):
        source = source or str(npz)
        try:
            data = Path(npz).read_bytes()
        except OSError as err:
            raise CorpusReadError(f"{source}: cannot read file: {err}") from err
    else:
        data = bytes(npz) if isinstance(npz, (bytes, bytearray, memoryview)) else npz.read()
    source = source or "<bytes>"
    piece_id = piece_id or Path(source).stem
    try:
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise CorpusReadError(f"{source}: not a readable npz file: {err}") from err
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise CorpusReadError(f"{source}: a single .npy array, not a pypianoroll npz")
    with loaded as npz_file:
        try:
            return _score(npz_file, corpus, tracks, piece_id, source, resolution)
        except (KeyError, ValueError, OSError, zipfile.BadZipFile) as err:  # a member missing or corrupt
            raise CorpusReadError(f"{source}: malformed pianoroll npz: {type(err).__name__}: {err}") from err


def _score(npz, corpus: str, wanted, piece_id: str, source: str, resolution: int) -> Score:
    """The Score of an opened npz (see :func:`lpd_npz_score`)."""
    info = _info(npz, source)
    steps_per_beat = info.get("resolution", info.get("beat_resolution"))
    if not isinstance(steps_per_beat, int) or steps_per_beat <= 0:
        raise CorpusReadError(f"{source}: info.json has no positive resolution/beat_resolution")
    n = 0
    while f"pianoroll_{n}_csc_data" in npz.files:
        n += 1
    found = []
    for i in range(n):
        entry = info.get(str(i), {})
        found.append(
            Track(
                str(entry.get("name", f"track{i}")), int(entry.get("program", 0)), bool(entry.get("is_drum"))
            )
        )
    if wanted is None:
        keep = list(range(n))
    else:
        by_name = {t.name.lower(): i for i, t in reversed(list(enumerate(found)))}  # first of a name wins
        absent = [w for w in wanted if w.lower() not in by_name]
        if absent:
            raise CorpusReadError(f"{source}: no track {absent} (tracks: {[t.name for t in found]})")
        keep = [by_name[w.lower()] for w in wanted]
    rows = [_track_rows(npz, i, steps_per_beat, resolution, source) for i in keep]
    table = np.concatenate(rows) if rows else np.zeros((0, 5), np.int64)
    table[:, 0] = np.repeat(np.arange(len(keep)), [len(r) for r in rows])  # new track indices
    if len(table) == 0:
        raise CorpusReadError(f"{source}: no notes")
    tempo = np.asarray(npz["tempo"]).reshape(-1) if "tempo" in npz.files else np.zeros(0)
    try:
        return Score.from_notes(
            table,
            tracks=[found[i] for i in keep],
            resolution=resolution,
            piece_id=piece_id,
            corpus=corpus,
            source=source,
            time_signature=_meter(npz, steps_per_beat),
            tempo=float(tempo[0]) if len(tempo) and tempo[0] > 0 else DEFAULT_TEMPO_QPM,
        )
    except ScoreValidationError as err:
        raise CorpusReadError(f"{source}: {err}") from err


def spread(names: list[str], max_pieces: int) -> list[str]:
    """``max_pieces`` names evenly spread over the sorted list (all of them when 0 or enough).

    Evenly spread rather than the first N: LPD's member paths sort by MSD track id, so
    the first N would all share one id prefix; a spread sample is deterministic and
    covers the whole set.
    """
    names = sorted(names)
    if max_pieces <= 0 or max_pieces >= len(names):
        return names
    return [names[i * len(names) // max_pieces] for i in range(max_pieces)]


def iter_npz_members(archive: str | Path, max_pieces: int = 0) -> Iterator[tuple[str, bytes]]:
    """Yield ``(member name, bytes)`` for the ``.npz`` members of a zip or tar (any compression).

    Which members: :func:`spread` over the sorted names (``max_pieces`` = 0: all). Order:
    the archive's own, so a compressed tar is read in one forward pass after one pass
    over its headers, and only one member is in memory at a time.

    Raises
    ------
    CorpusReadError
        When the archive is missing, or neither a zip nor a tar.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise CorpusReadError(f"{archive}: no such archive")
    if archive_format(archive) == "zip":
        with zipfile.ZipFile(archive) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir() and i.filename.lower().endswith(".npz")]
            chosen = set(spread([i.filename for i in infos], max_pieces))
            for info in infos:
                if info.filename in chosen:
                    yield info.filename, zf.read(info)
        return
    if not tarfile.is_tarfile(archive):
        raise CorpusReadError(f"{archive}: not a zip or tar archive")
    with tarfile.open(archive, "r:*") as tf:
        members = [m for m in tf.getmembers() if m.isfile() and m.name.lower().endswith(".npz")]
        chosen = set(spread([m.name for m in members], max_pieces))
        for m in sorted((m for m in members if m.name in chosen), key=lambda m: m.offset_data):
            yield m.name, tf.extractfile(m).read()


def _npz_payload(tracks: list[str] | None, **where) -> str:
    """The JSON payload of an ``lpd_npz`` job."""
    return json.dumps({**where, "tracks": tracks})


def lpd_jobs(paths: list[str], tracks: list[str] | None = None, max_pieces: int = 0) -> list[Job]:
    """``lpd_npz`` jobs for ``.npz`` files, folders of them, zip archives and uncompressed tars.

    ``max_pieces`` applies per path (see :func:`spread`); ``tracks`` is passed to
    :func:`lpd_npz_score`. A member's id is its file stem (LPD's stems are the MD5 of
    the source MIDI file, unique in the dataset).

    Raises
    ------
    CorpusReadError
        For a missing path, one that is none of those, or a compressed tar: listing it by member would
        make every worker decompress it from the start; decompress it to a ``.tar``
        (one file) or stream it with :func:`iter_npz_members`.
    """
    jobs = []
    for path in map(Path, paths):
        if not path.exists():
            raise CorpusReadError(f"{path}: no such file or folder")
        if path.is_dir() or path.suffix.lower() == ".npz":
            files = (
                spread([str(f) for f in path.rglob("*.npz")], max_pieces) if path.is_dir() else [str(path)]
            )
            jobs += [Job(Path(f).stem, "lpd_npz", _npz_payload(tracks, path=f), f) for f in files]
        elif archive_format(path) == "zip":
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if n.lower().endswith(".npz")]
            for name in spread(names, max_pieces):
                payload = _npz_payload(tracks, path=str(path), member=name)
                jobs.append(Job(Path(name).stem, "lpd_npz", payload, f"{path}#{name}"))
        elif tarfile.is_tarfile(path):
            try:
                with tarfile.open(path, "r:") as tf:
                    members = {
                        m.name: m for m in tf.getmembers() if m.isfile() and m.name.lower().endswith(".npz")
                    }
            except tarfile.ReadError as err:
                raise CorpusReadError(
                    f"{path}: a compressed tar cannot be read by member; decompress it to a .tar "
                    "or stream it with iter_npz_members"
                ) from err
            for name in spread(list(members), max_pieces):
                m = members[name]
                payload = _npz_payload(tracks, path=str(path), member=name, offset=m.offset_data, size=m.size)
                jobs.append(Job(Path(name).stem, "lpd_npz", payload, f"{path}#{name}"))
        else:
            raise CorpusReadError(f"{path}: not an .npz file, a folder, a zip or a tar")
    return jobs


def read_lpd_job(job: Job, corpus: str) -> Score:
    """Read an ``lpd_npz`` job: a file, a zip member, or a tar member at a byte offset.

    Raises
    ------
    CorpusReadError
        As :func:`lpd_npz_score`, or when the archive or member cannot be read.
    """
    where = json.loads(job.payload)
    path = Path(where["path"])
    try:
        if "offset" in where:
            with open(path, "rb") as f:
                f.seek(where["offset"])
                data = f.read(where["size"])
            if len(data) != where["size"]:
                raise CorpusReadError(f"{job.source}: archive ends inside the member")
        elif "member" in where:
            with zipfile.ZipFile(path) as zf:
                data = zf.read(where["member"])
        else:
            data = path.read_bytes()
    except (OSError, KeyError, zipfile.BadZipFile) as err:
        raise CorpusReadError(f"{job.source}: cannot read: {type(err).__name__}: {err}") from err
    return lpd_npz_score(data, corpus, where["tracks"], piece_id=job.piece_id, source=job.source)
