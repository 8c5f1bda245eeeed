"""The Score: the one currency between every layer of scorelab.

A :class:`Score` is one piece: a note table (one row per note) plus its tracks and a
little metadata. Times are integer ticks at ``resolution`` ticks per quarter note
(24 by default, so 16ths, triplets and LPD's 24-per-beat grid are exact), and also
seconds, so performance timing survives when a source has it.

A corpus on disk is two Parquet tables (``notes.parquet``, one row per note with
``piece_id``; ``pieces.parquet``, one row per piece) plus ``rejected.parquet`` for the
sources that could not be read. Splitting, filtering and statistics are column
operations on those tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from scorelab.constants import DEFAULT_RESOLUTION, DEFAULT_TEMPO_QPM, DEFAULT_VELOCITY, MIDI_PITCHES
from scorelab.errors import ScoreValidationError
from scorelab.utils import atomic_path

NOTE_DTYPES = {
    "track": "int16",
    "pitch": "int16",
    "onset": "int64",  # ticks
    "duration": "int64",  # ticks
    "velocity": "int16",
    "onset_s": "float64",  # seconds, from the source's tempo
    "duration_s": "float64",
}
NOTE_COLUMNS = list(NOTE_DTYPES)
PIECE_COLUMNS = [
    "piece_id",
    "corpus",
    "split",
    "source",
    "sha256",
    "resolution",
    "length",
    "time_signature",
    "tempo",
    "key",
    "tracks",
    "n_notes",
]
REJECTED_COLUMNS = ["corpus", "source", "reason"]


@dataclass(frozen=True)
class Track:
    """One instrument line: a name, a General MIDI program (0-127), a drum flag."""

    name: str
    program: int = 0
    is_drum: bool = False


@dataclass
class Score:
    """One piece of music as a note table plus metadata.

    Parameters
    ----------
    notes
        DataFrame with the columns of ``NOTE_COLUMNS``; use :meth:`from_notes` to build
        one from tuples, which also fills in seconds and sorts.
    tracks
        One :class:`Track` per track index used in ``notes.track``.
    resolution
        Ticks per quarter note.
    """

    notes: pd.DataFrame
    tracks: list[Track]
    resolution: int = DEFAULT_RESOLUTION
    piece_id: str = "piece"
    corpus: str = ""
    split: str = ""
    time_signature: tuple[int, int] = (4, 4)
    tempo: float = DEFAULT_TEMPO_QPM  # quarter notes per minute
    key: str | None = None  # e.g. "C major", "a minor" when known
    source: str = ""
    sha256: str = ""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_notes(
        cls,
        notes: Iterable[Sequence[float]] | np.ndarray,
        tracks: Sequence[Track] | None = None,
        **meta,
    ) -> Score:
        """Build a Score from ``(track, pitch, onset, duration[, velocity])`` rows in ticks.

        Seconds are derived from ``meta['tempo']`` (a single tempo); the table is sorted
        by onset, track and pitch and validated.

        Raises
        ------
        ScoreValidationError
            If a pitch is outside 0-127, a duration is not positive or an onset negative.
        """
        arr = np.asarray(notes if isinstance(notes, np.ndarray) else list(notes), dtype=np.int64)
        if arr.size == 0:
            arr = arr.reshape(0, 5)
        if arr.ndim != 2 or arr.shape[1] not in (4, 5):
            raise ScoreValidationError(f"notes must be rows of 4 or 5 numbers, got shape {arr.shape}")
        if arr.shape[1] == 4:
            arr = np.concatenate([arr, np.full((len(arr), 1), DEFAULT_VELOCITY, dtype=np.int64)], axis=1)
        n_tracks = int(arr[:, 0].max()) + 1 if len(arr) else 1
        if tracks is None:
            tracks = [Track(f"track{i}") for i in range(n_tracks)]
        score = cls(notes=pd.DataFrame(), tracks=list(tracks), **meta)
        score.notes = score._table(arr, sort=False)
        score.validate()  # before sorting, so an error's row number is the caller's row
        score.notes = score._table(arr)
        return score

    def _table(self, arr: np.ndarray, sort: bool = True) -> pd.DataFrame:
        """The note table from (track, pitch, onset, duration, velocity) rows, sorted, with seconds.

        Built column by column from NumPy arrays: decoding thousands of generated windows
        goes through here, and a DataFrame built row-wise costs milliseconds each.
        """
        if sort:
            order = np.lexsort((arr[:, 1], arr[:, 0], arr[:, 2]))  # by onset, then track, then pitch
            arr = arr[order]
        sec_per_tick = 60.0 / (self.tempo * self.resolution)
        cols = {
            "track": arr[:, 0].astype(np.int16),
            "pitch": arr[:, 1].astype(np.int16),
            "onset": arr[:, 2].astype(np.int64),
            "duration": arr[:, 3].astype(np.int64),
            "velocity": arr[:, 4].astype(np.int16),
            "onset_s": arr[:, 2] * sec_per_tick,
            "duration_s": arr[:, 3] * sec_per_tick,
        }
        return pd.DataFrame(cols, copy=False)

    def validate(self) -> Score:
        """Check the invariants every layer relies on; return self.

        Raises
        ------
        ScoreValidationError
            Naming the piece, the column and the first offending row.
        """
        df = self.notes
        missing = [c for c in NOTE_COLUMNS if c not in df.columns]
        if missing:
            raise ScoreValidationError(f"{self.piece_id}: note table lacks columns {missing}")
        col = {c: df[c].to_numpy() for c in ("pitch", "duration", "onset", "velocity", "track")}
        checks = [
            ("pitch", (col["pitch"] < 0) | (col["pitch"] >= MIDI_PITCHES), "pitch must be 0-127"),
            ("duration", col["duration"] <= 0, "duration must be > 0"),
            ("onset", col["onset"] < 0, "onset must be >= 0"),
            ("velocity", (col["velocity"] < 0) | (col["velocity"] > 127), "velocity must be 0-127"),
            (
                "track",
                (col["track"] < 0) | (col["track"] >= max(len(self.tracks), 1)),
                "track index out of range",
            ),
        ]
        for column, bad, rule in checks:
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise ScoreValidationError(
                    f"{self.piece_id}: {rule}; row {row} has {column}={col[column][row]}"
                )
        if self.resolution <= 0:
            raise ScoreValidationError(f"{self.piece_id}: resolution must be > 0, got {self.resolution}")
        return self

    @property
    def length(self) -> int:
        """End of the last note in ticks (0 for an empty score)."""
        if len(self.notes) == 0:
            return 0
        return int((self.notes["onset"] + self.notes["duration"]).max())

    def track_notes(self, track: int) -> pd.DataFrame:
        """The notes of one track."""
        return self.notes[self.notes["track"] == track]

    def with_notes(self, notes: pd.DataFrame, tracks: Sequence[Track] | None = None) -> Score:
        """A copy with other notes (seconds recomputed from the tempo), validated."""
        out = replace(self, notes=notes, tracks=list(tracks) if tracks is not None else list(self.tracks))
        arr = notes[["track", "pitch", "onset", "duration", "velocity"]].to_numpy(np.int64)
        out.notes = out._table(arr, sort=False)
        out.validate()  # before sorting, as in from_notes
        out.notes = out._table(arr)
        return out

    def piece_row(self) -> dict:
        """This score's row in the piece table."""
        return {
            "piece_id": self.piece_id,
            "corpus": self.corpus,
            "split": self.split,
            "source": self.source,
            "sha256": self.sha256,
            "resolution": int(self.resolution),
            "length": self.length,
            "time_signature": f"{self.time_signature[0]}/{self.time_signature[1]}",
            "tempo": float(self.tempo),
            "key": self.key or "",
            "tracks": json.dumps([[t.name, t.program, t.is_drum] for t in self.tracks]),
            "n_notes": int(len(self.notes)),
        }


def scores_to_tables(scores: Sequence[Score]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Concatenate scores into (notes table with ``piece_id``, piece table)."""
    frames = []
    for s in scores:
        frames.append(s.notes.assign(piece_id=s.piece_id))
    if frames:
        notes = pd.concat(frames, ignore_index=True)
    else:
        notes = pd.DataFrame({c: pd.Series(dtype=t) for c, t in NOTE_DTYPES.items()}).assign(piece_id="")
    notes = notes[["piece_id", *NOTE_COLUMNS]].astype({"piece_id": "string", **NOTE_DTYPES})
    pieces = pd.DataFrame([s.piece_row() for s in scores], columns=PIECE_COLUMNS)
    return notes, pieces


def tables_to_scores(notes: pd.DataFrame, pieces: pd.DataFrame) -> list[Score]:
    """Split the tables back into Scores, in piece-table order.

    Each piece's notes keep their row order in ``notes``. The notes are grouped once
    (a stable sort by piece) and each Score's table is built from NumPy slices already
    in :data:`NOTE_DTYPES`: a ``groupby`` and a per-piece ``astype`` took 1.4 s for the
    800 sampled pieces of one evaluate stage, most of its time.
    """
    empty = {c: np.zeros(0, NOTE_DTYPES[c]) for c in NOTE_COLUMNS}
    codes, uniques = pd.factorize(notes["piece_id"]) if len(notes) else (np.zeros(0, np.int64), [])
    keep = codes >= 0  # a missing piece id belongs to no piece (as groupby drops it)
    order = np.argsort(np.where(keep, codes, len(uniques)), kind="stable")
    counts = np.bincount(codes[keep], minlength=len(uniques))
    starts = np.cumsum(counts) - counts
    columns = {c: notes[c].to_numpy(dtype=NOTE_DTYPES[c])[order] for c in NOTE_COLUMNS}
    where = {str(pid): k for k, pid in enumerate(uniques)}
    out = []
    for row in pieces.itertuples(index=False):
        k = where.get(str(row.piece_id))
        if k is None:
            table = empty
        else:
            a, b = int(starts[k]), int(starts[k] + counts[k])
            table = {c: columns[c][a:b] for c in NOTE_COLUMNS}
        num, den = (int(x) for x in str(row.time_signature).split("/"))
        tracks = [Track(str(n), int(p), bool(d)) for n, p, d in json.loads(row.tracks)]
        out.append(
            Score(
                notes=pd.DataFrame(table, copy=True),
                tracks=tracks,
                resolution=int(row.resolution),
                piece_id=str(row.piece_id),
                corpus=str(row.corpus),
                split=str(row.split),
                time_signature=(num, den),
                tempo=float(row.tempo),
                key=str(row.key) or None,
                source=str(row.source),
                sha256=str(row.sha256),
            )
        )
    return out


def write_notes(path: Path, scores: Sequence[Score]) -> None:
    """Write scores as ``notes.parquet`` and ``pieces.parquet`` in directory ``path``, atomically."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    notes, pieces = scores_to_tables(scores)
    with atomic_path(path / "notes.parquet") as tmp:
        notes.to_parquet(tmp, index=False)
    with atomic_path(path / "pieces.parquet") as tmp:
        pieces.to_parquet(tmp, index=False)


def read_notes(path: Path, split: str | None = None) -> list[Score]:
    """Read the Scores written by :func:`write_notes`, optionally one split only."""
    path = Path(path)
    pieces = pd.read_parquet(path / "pieces.parquet")
    notes = pd.read_parquet(path / "notes.parquet")
    if split is not None:
        pieces = pieces[pieces["split"] == split]
        notes = notes[notes["piece_id"].isin(pieces["piece_id"])]
    return tables_to_scores(notes, pieces)


def write_rejected(path: Path, rejected: Sequence[dict]) -> None:
    """Write ``rejected.parquet`` (corpus, source, reason), even when empty."""
    df = pd.DataFrame(list(rejected), columns=REJECTED_COLUMNS).astype("string")
    with atomic_path(Path(path) / "rejected.parquet") as tmp:
        df.to_parquet(tmp, index=False)
