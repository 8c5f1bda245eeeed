"""A set of pieces as one columnar note table: what every metric reads.

Metrics used to loop over pieces, building a pandas frame per piece; most of the time
went there. A :class:`NoteSet` holds every note of every piece in flat NumPy arrays,
sorted by piece, with per-piece arrays beside them (resolution, meter, bars judged). A
per-piece metric is then a handful of grouped NumPy operations over all notes at once
(``np.bincount`` and ``np.unique`` on ``piece * K + key`` codes), whatever the set's size.

Units: onsets and durations are in ticks at each piece's own resolution (ticks per
quarter); ``onset_s``/``duration_s`` are seconds. Bars are ``resolution * 4 * num / den``
ticks long; all bar arithmetic is integer (ticks times ``den``), so odd meters never meet
floating-point rounding. A note *sounds* in every bar (or beat) it overlaps, end
exclusive: a note that ends exactly on a bar line does not make the next bar non-empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from scorelab.score import Score

INT = np.int64


@dataclass(frozen=True)
class NoteSet:
    """Every note of a set of pieces, columnar, plus per-piece facts.

    Attributes
    ----------
    piece, track, pitch, onset, duration, velocity : (N,) int64
        One entry per note, grouped by piece (ascending) and, within a piece, in the
        Score's order (onset, track, pitch).
    onset_s, duration_s : (N,) float64
        The same notes in seconds.
    drum : (N,) bool
        The note is on a drum track (its MIDI number names an instrument, not a pitch).
    resolution, ts_num, ts_den, n_tracks, n_bars : (P,) int64
        Per piece: ticks per quarter, time signature, declared tracks, bars judged
        (fixed for fixed-length windows and samples, else ``ceil(length / bar)``).
    track_drum : (P, T) bool
        Per piece and track index: a drum track (False past a piece's own tracks).
    piece_ids : tuple[str, ...]
    step_ticks : (P,) int64
        Ticks per step of the grid the notes were quantized to (0: not on a grid).
    """

    piece: np.ndarray
    track: np.ndarray
    pitch: np.ndarray
    onset: np.ndarray
    duration: np.ndarray
    velocity: np.ndarray
    onset_s: np.ndarray
    duration_s: np.ndarray
    drum: np.ndarray
    resolution: np.ndarray
    ts_num: np.ndarray
    ts_den: np.ndarray
    n_tracks: np.ndarray
    n_bars: np.ndarray
    track_drum: np.ndarray
    step_ticks: np.ndarray
    piece_ids: tuple[str, ...] = field(default=())
    # intermediate results that several metrics share (the polyphony sweep), per set:
    # not an init field, so ``replace`` and ``subset`` start with an empty cache
    cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    # -- construction ---------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        piece: np.ndarray,
        track: np.ndarray,
        pitch: np.ndarray,
        onset: np.ndarray,
        duration: np.ndarray,
        *,
        resolution: np.ndarray,
        ts_num: np.ndarray,
        ts_den: np.ndarray,
        track_drum: np.ndarray,
        n_bars: np.ndarray | int | None = None,
        step_ticks: np.ndarray | int = 0,
        velocity: np.ndarray | None = None,
        onset_s: np.ndarray | None = None,
        duration_s: np.ndarray | None = None,
        tempo_qpm: np.ndarray | float = 120.0,
        piece_ids: Sequence[str] = (),
    ) -> NoteSet:
        """Build from flat note arrays (any order) and per-piece arrays; sorts by piece.

        ``n_bars`` None: each piece's own ``ceil(length / bar)``; an int: that many bars
        for every piece. Seconds default to ``ticks / resolution * 60 / tempo_qpm``.

        Raises
        ------
        ValueError
            A meter or resolution that is not positive, or a note of an unknown piece.
        """
        piece = np.asarray(piece, INT)
        n_pieces = len(np.asarray(resolution))
        if piece.size and (piece.min() < 0 or piece.max() >= n_pieces):
            raise ValueError(f"note piece index out of range 0..{n_pieces - 1}")
        order = _note_order(piece, np.asarray(track, INT), np.asarray(pitch, INT), np.asarray(onset, INT))
        res = np.asarray(resolution, INT).reshape(n_pieces)
        num = np.asarray(ts_num, INT).reshape(n_pieces)
        den = np.asarray(ts_den, INT).reshape(n_pieces)
        if (res <= 0).any() or (num <= 0).any() or (den <= 0).any():
            raise ValueError("resolution and time signature must be positive for every piece")
        td = np.asarray(track_drum, bool)
        if td.ndim != 2 or td.shape[0] != n_pieces:
            raise ValueError(f"track_drum must be (pieces, tracks) = ({n_pieces}, T), got {td.shape}")
        n_tracks = np.full(n_pieces, td.shape[1], INT)  # every column a track; see with_tracks
        piece = piece[order]
        track = np.asarray(track, INT)[order]
        pitch_a = np.asarray(pitch, INT)[order]
        onset_a = np.asarray(onset, INT)[order]
        dur = np.asarray(duration, INT)[order]
        vel = np.full(len(piece), 64, INT) if velocity is None else np.asarray(velocity, INT)[order]
        tempo = np.broadcast_to(np.asarray(tempo_qpm, np.float64), (n_pieces,))
        sec_per_tick = 60.0 / (tempo * res)  # (P,)
        on_s = onset_a * sec_per_tick[piece] if onset_s is None else np.asarray(onset_s, np.float64)[order]
        du_s = dur * sec_per_tick[piece] if duration_s is None else np.asarray(duration_s, np.float64)[order]
        if td.shape[1] and track.size and track.max() >= td.shape[1]:
            raise ValueError(f"a note's track {int(track.max())} has no declared track")
        drum = td[piece, track] if track.size else np.zeros(0, bool)
        bar_unit = res * 4 * num  # bar length in ticks, times den
        end = onset_a + dur
        length = np.zeros(n_pieces, INT)
        if piece.size:  # notes are grouped by piece now: one reduceat, not a slow maximum.at
            first = np.flatnonzero(np.r_[True, piece[1:] != piece[:-1]])
            length[piece[first]] = np.maximum.reduceat(end, first)
        if n_bars is None:
            bars = -((-length * den) // bar_unit)
        else:
            bars = np.broadcast_to(np.asarray(n_bars, INT), (n_pieces,)).copy()
        steps = np.broadcast_to(np.asarray(step_ticks, INT), (n_pieces,)).copy()
        return cls(
            piece=piece,
            track=track,
            pitch=pitch_a,
            onset=onset_a,
            duration=dur,
            velocity=vel,
            onset_s=on_s,
            duration_s=du_s,
            drum=drum,
            resolution=res,
            ts_num=num,
            ts_den=den,
            n_tracks=n_tracks.astype(INT),
            n_bars=bars.astype(INT),
            track_drum=td,
            step_ticks=steps,
            piece_ids=tuple(piece_ids) if piece_ids else tuple(str(i) for i in range(n_pieces)),
        )

    @classmethod
    def from_scores(cls, scores: Sequence[Score], n_bars: int | None = None, step_ticks: int = 0) -> NoteSet:
        """Build from Scores (their note tables concatenated once)."""
        n = len(scores)
        counts = np.array([len(s.notes) for s in scores], INT)
        cols = {}
        for c in ("track", "pitch", "onset", "duration", "velocity"):
            parts = [s.notes[c].to_numpy(INT) for s in scores]
            cols[c] = np.concatenate(parts) if parts else np.zeros(0, INT)
        for c in ("onset_s", "duration_s"):
            parts = [s.notes[c].to_numpy(np.float64) for s in scores]
            cols[c] = np.concatenate(parts) if parts else np.zeros(0)
        t_max = max([len(s.tracks) for s in scores] + [1])
        td = np.zeros((n, t_max), bool)
        declared = np.zeros(n, INT)
        for i, s in enumerate(scores):
            td[i, : len(s.tracks)] = [t.is_drum for t in s.tracks]
            declared[i] = len(s.tracks)
        ns = cls.from_arrays(
            np.repeat(np.arange(n), counts),
            cols["track"],
            cols["pitch"],
            cols["onset"],
            cols["duration"],
            resolution=np.array([s.resolution for s in scores], INT),
            ts_num=np.array([s.time_signature[0] for s in scores], INT),
            ts_den=np.array([s.time_signature[1] for s in scores], INT),
            track_drum=td,
            n_bars=n_bars,
            step_ticks=step_ticks,
            velocity=cols["velocity"],
            onset_s=cols["onset_s"],
            duration_s=cols["duration_s"],
            piece_ids=[s.piece_id for s in scores],
        )
        return ns.with_tracks(declared)

    def with_tracks(self, declared: np.ndarray) -> NoteSet:
        """The same set with each piece's declared track count (tracks may be silent)."""
        return replace(self, n_tracks=np.asarray(declared, INT).reshape(self.n_pieces))

    def subset(self, pieces: np.ndarray) -> NoteSet:
        """The pieces ``pieces`` (indices, repeats allowed: a bootstrap draw), renumbered 0..k-1."""
        pieces = np.asarray(pieces, INT)
        starts = self.starts
        lo, hi = starts[pieces], starts[pieces + 1]
        counts = hi - lo
        idx = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        new_piece = np.repeat(np.arange(len(pieces)), counts)
        per_note = {k: getattr(self, k)[idx] for k in NOTE_FIELDS if k != "piece"}
        per_piece = {k: getattr(self, k)[pieces] for k in PIECE_FIELDS}
        return NoteSet(
            piece=new_piece, **per_note, **per_piece, piece_ids=tuple(self.piece_ids[i] for i in pieces)
        )

    # -- derived --------------------------------------------------------------------
    @property
    def n_pieces(self) -> int:
        return len(self.resolution)

    @property
    def n_notes(self) -> int:
        return len(self.piece)

    @property
    def starts(self) -> np.ndarray:
        """(P+1,) offsets: the notes of piece i are ``starts[i]:starts[i+1]``."""
        return np.concatenate([[0], np.cumsum(np.bincount(self.piece, minlength=self.n_pieces))]).astype(INT)

    @property
    def end(self) -> np.ndarray:
        return self.onset + self.duration

    @property
    def bar_unit(self) -> np.ndarray:
        """(P,) bar length in ticks times ``ts_den`` (an integer)."""
        return self.resolution * 4 * self.ts_num

    @property
    def pitched(self) -> np.ndarray:
        """(N,) bool: a note on a non-drum track."""
        return ~self.drum

    def count(self, mask: np.ndarray | None = None) -> np.ndarray:
        """(P,) number of notes per piece (where ``mask``)."""
        p = self.piece if mask is None else self.piece[mask]
        return np.bincount(p, minlength=self.n_pieces).astype(INT)

    def per_piece_sum(self, values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """(P,) sum of per-note ``values`` in each piece (where ``mask``)."""
        if mask is None:
            return np.bincount(self.piece, weights=values, minlength=self.n_pieces)
        return np.bincount(self.piece[mask], weights=values[mask], minlength=self.n_pieces)

    def spans(
        self, unit_num: np.ndarray, unit_den: np.ndarray, limit: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every (note, unit) pair in which a note sounds, for units of ``unit_num / unit_den`` ticks.

        Units are bars or beats, given per piece as an exact fraction. A note sounds in
        every unit it overlaps, end exclusive. ``limit`` (P,) drops units at or past it
        (notes crossing the last one are cut there).

        Returns
        -------
        note, unit : (M,) int64
            Index into the note arrays and the unit, one entry per pair.
        """
        un = unit_num[self.piece]
        ud = unit_den[self.piece]
        first = (self.onset * ud) // un
        last = -((-self.end * ud) // un) - 1  # last unit overlapped; an end on a line stays out
        if limit is not None:
            last = np.minimum(last, limit[self.piece] - 1)
        counts = np.maximum(last - first + 1, 0)
        note = np.repeat(np.arange(self.n_notes), counts)
        offsets = np.cumsum(counts) - counts
        unit = np.repeat(first, counts) + (np.arange(int(counts.sum())) - np.repeat(offsets, counts))
        return note.astype(INT), unit.astype(INT)

    def bar_spans(self) -> tuple[np.ndarray, np.ndarray]:
        """(note, bar) pairs over each piece's judged bars (:meth:`spans` with bars)."""
        return self.spans(self.bar_unit, self.ts_den, self.n_bars)


def _note_order(piece: np.ndarray, track: np.ndarray, pitch: np.ndarray, onset: np.ndarray) -> np.ndarray:
    """The permutation sorting notes by (piece, onset, track, pitch).

    One stable argsort of a combined int64 key when it fits (several times faster than a
    four-key lexsort), nothing at all when the notes are in order already (a set read from
    files usually is, track by track, so it is not), and a lexsort when the key would overflow.
    """
    n = len(piece)
    if n == 0:
        return np.zeros(0, INT)
    if (onset.min() < 0) or (track.min() < 0) or (pitch.min() < 0):
        return np.lexsort((pitch, track, onset, piece))
    sizes = (int(piece.max()) + 1, int(onset.max()) + 1, int(track.max()) + 1, int(pitch.max()) + 1)
    if np.prod(np.array(sizes, dtype=object)) >= np.iinfo(INT).max:
        return np.lexsort((pitch, track, onset, piece))
    key = ((piece * sizes[1] + onset) * sizes[2] + track) * sizes[3] + pitch
    if (np.diff(key) >= 0).all():
        return np.arange(n, dtype=INT)
    return np.argsort(key, kind="stable")


NOTE_FIELDS = ("piece", "track", "pitch", "onset", "duration", "velocity", "onset_s", "duration_s", "drum")
PIECE_FIELDS = ("resolution", "ts_num", "ts_den", "n_tracks", "n_bars", "track_drum", "step_ticks")


def read_midi_set(paths: Sequence[Path | str], limits=None) -> tuple[NoteSet, list[tuple[str, str]]]:
    """Read MIDI files into a :class:`NoteSet` through the corpus's own reader.

    One reader, one rule: the conversion is :class:`scorelab.io.midi.MidiBatch`'s, which
    the corpus stage and :func:`scorelab.io.midi.read_midi` also run. So ticks are
    rescaled to ``DEFAULT_RESOLUTION`` per quarter (MuseGAN's 24), a note that would
    vanish (zero length, or shorter than a step) keeps one tick (a drum hit written as
    an on and an off at one tick is a hit), and seconds come from each file's tempo map,
    not its first tempo (a performance with tempo changes has the right inter-onset
    intervals). The first time signature judges the bars.

    A track with no note at all (a conductor or controller-only track) is not a part:
    it is dropped, so EB does not count it as a silent track (music21's chorales scored
    20.2 % empty bars with their conductor tracks, 1.2 % without). A file that cannot
    be read, or is past a limit of ``limits`` (:mod:`scorelab.io.limits`: bytes, notes,
    tracks, length, tempo; the corpus stage's defaults), is skipped and listed with its
    reason, never an exception: whatever one file does, the set is read (issue 22: 32
    of 2,556 mutated files had stopped ``scorelab evaluate`` with a traceback naming no
    file).

    Returns
    -------
    notes, rejected
        The set, and ``(path, reason)`` for each skipped file.
    """
    from scorelab.constants import DEFAULT_RESOLUTION
    from scorelab.errors import CorpusReadError
    from scorelab.io.limits import DEFAULT_LIMITS, read_bounded
    from scorelab.io.midi import MidiBatch, midi_header_problem

    limits = limits or DEFAULT_LIMITS
    rejected: list[tuple[str, str]] = []
    batch = MidiBatch(limits)

    def reason(source: str, message: str) -> str:
        return message.removeprefix(f"{source}: ")

    for path in paths:
        try:
            data = read_bounded(path, limits)
            problem = midi_header_problem(data)
            if problem:
                raise CorpusReadError(f"{path}: {problem}")
            batch.add(data, str(path), Path(path).stem)
        except (OSError, CorpusReadError) as exc:
            rejected.append((str(path), reason(str(path), str(exc))))
        except Exception as exc:  # a parser bug on one file must not stop the set
            rejected.append((str(path), f"{type(exc).__name__}: {exc}"))
    if not len(batch):  # nothing readable: an empty set (the caller says what was rejected)
        z = np.zeros(0, INT)
        empty = NoteSet.from_arrays(
            z, z, z, z, z, resolution=z, ts_num=z, ts_den=z, track_drum=np.zeros((0, 1), bool)
        )
        return empty, rejected
    mn = batch.convert(DEFAULT_RESOLUTION)
    n = len(mn.sources)
    for i, (num, den) in enumerate(mn.time_signatures):
        if mn.errors[i] is None and (num <= 0 or den <= 0):
            mn.errors[i] = f"{mn.sources[i]}: time signature {num}/{den} has a field that is not positive"
    valid = np.array([e is None for e in mn.errors], bool)
    for i in np.flatnonzero(~valid).tolist():
        rejected.append((mn.sources[i], reason(mn.sources[i], str(mn.errors[i]))))
    counts = np.asarray(mn.counts, INT)
    piece = np.repeat(np.arange(n, dtype=INT), counts)
    cols = mn.columns
    track = np.asarray(cols["track"], INT)
    t_max = max([len(t) for t in mn.tracks] + [1])
    used = np.zeros((n, t_max), bool)
    used[piece, track] = True  # a track with a note; the others are not parts
    new_track = np.cumsum(used, axis=1) - 1
    rows = valid[piece]
    kept = np.flatnonzero(valid)
    new_piece = np.cumsum(valid) - 1
    declared = used.sum(axis=1)[kept].astype(INT)
    td = np.zeros((len(kept), max([int(d) for d in declared] + [1])), bool)
    for j, i in enumerate(kept.tolist()):
        flags = [t.is_drum for t, u in zip(mn.tracks[i], used[i], strict=False) if u]
        td[j, : len(flags)] = flags
    ns = NoteSet.from_arrays(
        new_piece[piece[rows]],
        new_track[piece[rows], track[rows]],
        np.asarray(cols["pitch"], INT)[rows],
        np.asarray(cols["onset"], INT)[rows],
        np.asarray(cols["duration"], INT)[rows],
        resolution=np.full(len(kept), mn.resolution, INT),
        ts_num=np.array([mn.time_signatures[i][0] for i in kept.tolist()], INT),
        ts_den=np.array([mn.time_signatures[i][1] for i in kept.tolist()], INT),
        track_drum=td,
        velocity=np.asarray(cols["velocity"], INT)[rows],
        onset_s=np.asarray(cols["onset_s"], np.float64)[rows],
        duration_s=np.asarray(cols["duration_s"], np.float64)[rows],
        tempo_qpm=np.array([mn.tempo[i] for i in kept.tolist()], np.float64),
        piece_ids=[mn.piece_ids[i] for i in kept.tolist()],
    )
    return ns.with_tracks(declared), rejected
