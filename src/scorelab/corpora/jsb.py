"""JSB Chorales as frame lists: Boulanger-Lewandowski's pickle and Huang's 16th-note JSON.

Both files hold the same 382 chorales in the same train/valid/test split (229/76/77),
already cut to a time grid, so a piece's split comes from the file, not from a hash:

- ``jsb_chorales.pickle`` (Boulanger-Lewandowski et al. 2012, as mirrored by
  pyro-ppl/datasets): ``{'train'|'valid'|'test': [piece, ...]}``, a piece a list of
  quarter-note frames, a frame a tuple of the MIDI pitches sounding (maybe empty).
  The frames are chords without voices, so a piece is one track, and a pitch held over
  consecutive frames is one note (a repeated note cannot be told from a held one).
- ``Jsb16thSeparated.json`` (czhuang/JSB-Chorales-dataset): the same keys, a piece a
  list of 16th-note steps, a step four pitches in SATB order. Its README says a rest is
  ``NaN``; the file (commit 9a7f733) shows integers, so a rest is taken to be ``NaN``,
  ``null`` or a negative number, and ``67.0`` reads as 67. Each voice is one track;
  equal consecutive pitches in a voice are one note (the README: held and repeated
  notes are not distinguished).

The pickle is a Python 2 pickle, i.e. code: it is loaded with an unpickler that resolves
only the handful of NumPy and builtin names such a file needs and refuses any other
global before it is called, so a tampered file cannot run anything.

Neither format carries a meter, key or tempo: pieces get 4/4 (most chorales are in
common time) and the default tempo.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import numbers
import pickle
from pathlib import Path

from scorelab.constants import DEFAULT_RESOLUTION, MIDI_PITCHES, SPLITS
from scorelab.corpora.jobs import Job
from scorelab.errors import CorpusReadError, ScoreValidationError
from scorelab.score import Score, Track

# The files' split keys are the project's split names already (constants.SPLITS).
JSB_SPLIT_KEYS = SPLITS
SATB_TRACKS = ("soprano", "alto", "tenor", "bass")  # the names music21_reader gives chorale voices
QUARTERS_PER_FRAME = 1  # the pickle's frames are quarter notes
STEPS_PER_QUARTER = 4  # the JSON's steps are 16th notes


def _allowed_globals() -> dict[tuple[str, str], object]:
    """The only globals a JSB pickle may name, resolved here rather than imported by name.

    NumPy 2 moved ``numpy.core`` to ``numpy._core``; both spellings map to the same
    functions, so an old file loads without touching the deprecated module.
    ``_codecs.encode`` is how Python 3 writes ``bytes`` into a protocol-2 pickle.
    """
    import _codecs

    import numpy as np

    try:
        from numpy._core import multiarray
    except ImportError:  # NumPy < 2
        from numpy.core import multiarray

    allowed: dict[tuple[str, str], object] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
        ("_codecs", "encode"): _codecs.encode,
    }
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = multiarray._reconstruct
        allowed[(module, "scalar")] = multiarray.scalar
    return allowed


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only :func:`_allowed_globals` and refuses every other name."""

    def __init__(self, file, name: str):
        super().__init__(file, encoding="latin1")  # Python 2 str -> latin-1, as NumPy expects
        self._name = name
        self._allowed = _allowed_globals()

    def find_class(self, module: str, name: str):
        """The allowed object, or CorpusReadError naming the refused global (never imported)."""
        if module == "__builtin__":  # Python 2's name of builtins
            module = "builtins"
        found = self._allowed.get((module, name))
        if found is None:
            raise CorpusReadError(f"{self._name}: refuses to unpickle {module}.{name}")
        return found


def _pitch(value, where: str) -> int | None:
    """A MIDI pitch from an int, a NumPy integer or an integral float; None for a rest.

    A rest is ``None``, ``NaN`` or a negative number (the 16th JSON's silence markers).

    Raises
    ------
    CorpusReadError
        For a non-number, a fractional number or a pitch above 127, naming ``where``.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise CorpusReadError(f"{where}: {value!r} is not a MIDI pitch")
    if isinstance(value, numbers.Integral):
        pitch = int(value)
    else:
        if math.isnan(float(value)):
            return None
        if not float(value).is_integer():
            raise CorpusReadError(f"{where}: {value!r} is not a whole MIDI pitch")
        pitch = int(value)
    if pitch < 0:
        return None
    if pitch >= MIDI_PITCHES:
        raise CorpusReadError(f"{where}: pitch {pitch} is above 127")
    return pitch


def _items(value, where: str) -> list:
    """The elements of a list, tuple, set or array; CorpusReadError for anything else."""
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise CorpusReadError(f"{where}: expected a sequence, got {type(value).__name__}")
    return list(value)


def _split_lists(data, name: str) -> dict[str, list]:
    """The train/valid/test piece lists of a loaded file, checked for shape."""
    if not isinstance(data, dict):
        raise CorpusReadError(f"{name}: expected a dict of splits, got {type(data).__name__}")
    missing = [k for k in JSB_SPLIT_KEYS if k not in data]
    if missing:
        raise CorpusReadError(f"{name}: no {missing} key(s); has {sorted(map(str, data))}")
    return {k: _items(data[k], f"{name}: {k}") for k in JSB_SPLIT_KEYS}


def load_jsb_pickle(path: Path | str) -> dict[str, list[list[tuple[int, ...]]]]:
    """Load the Boulanger-Lewandowski JSB pickle safely into plain Python ints.

    Returns ``{'train'|'valid'|'test': pieces}``, a piece a list of quarter-note frames,
    a frame a sorted tuple of MIDI pitches (empty for silence).

    Raises
    ------
    CorpusReadError
        When the file cannot be read, names a global outside the allow-list (naming it:
        "jsb_chorales.pickle: refuses to unpickle posix.system"), or is not shaped
        like the JSB pickle.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise CorpusReadError(f"{path}: cannot read file: {err}") from err
    try:
        data = _RestrictedUnpickler(io.BytesIO(raw), path.name).load()
    except CorpusReadError:
        raise
    except Exception as err:  # a truncated or foreign pickle raises many types; all are unreadable
        raise CorpusReadError(f"{path.name}: not a readable pickle: {type(err).__name__}: {err}") from err
    out: dict[str, list[list[tuple[int, ...]]]] = {}
    for key, pieces in _split_lists(data, path.name).items():
        out[key] = []
        for i, piece in enumerate(pieces):
            frames = []
            for t, frame in enumerate(_items(piece, f"{path.name}: {key}[{i}]")):
                where = f"{path.name}: {key}[{i}] frame {t}"
                pitches = {_pitch(v, where) for v in _items(frame, where)}
                frames.append(tuple(sorted(p for p in pitches if p is not None)))
            out[key].append(frames)
    return out


def chord_frames_notes(frames: list[list[int]], frame_ticks: int) -> list[tuple[int, int, int, int]]:
    """``(track 0, pitch, onset, duration)`` rows from chord frames: a held pitch is one note."""
    rows = []
    start: dict[int, int] = {}  # sounding pitch -> frame it began
    for t, frame in enumerate([*frames, []]):  # a final silent frame closes every note
        now = set(frame)
        for p in sorted(set(start) - now):
            rows.append((0, p, start[p] * frame_ticks, (t - start.pop(p)) * frame_ticks))
        for p in sorted(now - set(start)):
            start[p] = t
    return rows


def voice_steps_notes(steps: list[list[int | None]], step_ticks: int) -> list[tuple[int, int, int, int]]:
    """``(voice, pitch, onset, duration)`` rows from per-voice steps; equal neighbours merge."""
    rows = []
    n_voices = len(steps[0]) if steps else 0
    for v in range(n_voices):
        run_pitch, run_start = None, 0
        for t, step in enumerate([*steps, [None] * n_voices]):
            if step[v] != run_pitch:
                if run_pitch is not None:
                    rows.append((v, run_pitch, run_start * step_ticks, (t - run_start) * step_ticks))
                run_pitch, run_start = step[v], t
    return rows


def _score(rows, tracks, job: Job, corpus: str, resolution: int) -> Score:
    """A validated Score for a frame job, or CorpusReadError naming its source."""
    if not rows:
        raise CorpusReadError(f"{job.source}: no notes")
    try:
        return Score.from_notes(
            rows,
            tracks=tracks,
            resolution=resolution,
            piece_id=job.piece_id,
            corpus=corpus,
            split=job.split,
            source=job.source,
            sha256=hashlib.sha256(job.payload.encode()).hexdigest(),
        )
    except ScoreValidationError as err:
        raise CorpusReadError(f"{job.source}: {err}") from err


def read_chord_frames_job(job: Job, corpus: str, resolution: int = DEFAULT_RESOLUTION) -> Score:
    """Read a ``jsb_chords`` job (payload: JSON list of quarter-note frames) into a one-track Score."""
    frames = json.loads(job.payload)
    rows = chord_frames_notes(frames, QUARTERS_PER_FRAME * resolution)
    return _score(rows, [Track("piano")], job, corpus, resolution)


def read_voice_steps_job(job: Job, corpus: str, resolution: int = DEFAULT_RESOLUTION) -> Score:
    """Read a ``jsb_satb`` job (payload: JSON list of 16th-note SATB steps) into four tracks.

    Raises
    ------
    CorpusReadError
        When ``resolution`` has no whole number of ticks per 16th, or there are no notes.
    """
    if resolution % STEPS_PER_QUARTER:
        raise CorpusReadError(f"{job.source}: resolution {resolution} has no whole 16th note")
    steps = json.loads(job.payload)
    rows = voice_steps_notes(steps, resolution // STEPS_PER_QUARTER)
    return _score(rows, [Track(v) for v in SATB_TRACKS], job, corpus, resolution)


def jsb_pickle_jobs(paths: list[str]) -> list[Job]:
    """One ``jsb_chords`` job per piece of each JSB pickle, ids ``jsb_bl_<split>_<NNN>``.

    Raises
    ------
    CorpusReadError
        As :func:`load_jsb_pickle`.
    """
    jobs = []
    for path in map(Path, paths):
        for split, pieces in load_jsb_pickle(path).items():
            for i, frames in enumerate(pieces):
                jobs.append(
                    Job(
                        f"jsb_bl_{split}_{i:03d}",
                        "jsb_chords",
                        json.dumps([list(f) for f in frames]),
                        f"{path.name}#{split}/{i}",
                        split,
                    )
                )
    return jobs


def jsb_pickle_scores(path: Path | str, corpus: str) -> list[Score]:
    """Every piece of the JSB pickle as a one-track Score, in file order, split from the file.

    Raises
    ------
    CorpusReadError
        As :func:`load_jsb_pickle`, or for a piece without notes.
    """
    return [read_chord_frames_job(j, corpus) for j in jsb_pickle_jobs([str(path)])]


def jsb_16th_jobs(paths: list[str]) -> list[Job]:
    """One ``jsb_satb`` job per piece of each ``Jsb16thSeparated.json``, ids ``jsb_16th_<split>_<NNN>``.

    Rests become ``null`` in the payload; every step must have four voices.

    Raises
    ------
    CorpusReadError
        When a file is unreadable, not this layout, or holds a non-pitch value.
    """
    jobs = []
    for path in map(Path, paths):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise CorpusReadError(f"{path}: not a readable JSON file: {err}") from err
        for split, pieces in _split_lists(data, path.name).items():
            for i, piece in enumerate(pieces):
                steps = []
                for t, step in enumerate(_items(piece, f"{path.name}: {split}[{i}]")):
                    where = f"{path.name}: {split}[{i}] step {t}"
                    if not isinstance(step, list) or len(step) != len(SATB_TRACKS):
                        raise CorpusReadError(f"{where}: expected {len(SATB_TRACKS)} voices, got {step!r}")
                    steps.append([_pitch(v, where) for v in step])
                jobs.append(
                    Job(
                        f"jsb_16th_{split}_{i:03d}",
                        "jsb_satb",
                        json.dumps(steps),
                        f"{path.name}#{split}/{i}",
                        split,
                    )
                )
    return jobs


def jsb_16th_scores(path: Path | str, corpus: str) -> list[Score]:
    """Every piece of ``Jsb16thSeparated.json`` as a four-track SATB Score, split from the file.

    Raises
    ------
    CorpusReadError
        As :func:`jsb_16th_jobs`, or for a piece without notes.
    """
    return [read_voice_steps_job(j, corpus) for j in jsb_16th_jobs([str(path)])]
