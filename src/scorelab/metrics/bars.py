"""Bar-level metrics: empty bars (S0, S1) and used pitch classes per bar (S1).

A bar is ``resolution * 4 * num / den`` ticks long for the score's time signature
``num/den``. A note *sounds* in every bar it overlaps (end exclusive), which is what a
piano roll shows: MuseGAN (Dong et al. 2018) computes its bar metrics on piano rolls, so
a whole note tied over a bar line makes both bars non-empty. All bar arithmetic is done
in integers (ticks times ``den``), so odd meters never meet floating-point rounding.
"""

from __future__ import annotations

import numpy as np

from scorelab.constants import PITCH_CLASSES
from scorelab.score import Score


def bar_ticks(score: Score) -> float:
    """Length of one bar in ticks: ``resolution * 4 * num / den``.

    Parameters
    ----------
    score
        Its ``time_signature`` and ``resolution`` are used; the notes are not.

    Returns
    -------
    float
        96.0 for 4/4 at 24 ticks per quarter, 72.0 for 6/8 (not always an integer).
    """
    num, den = score.time_signature
    return score.resolution * 4 * num / den


def _bar_unit(score: Score) -> tuple[int, int]:
    """(bar length in ticks * den, den): integer form of :func:`bar_ticks`."""
    num, den = score.time_signature
    if num <= 0 or den <= 0:
        raise ValueError(f"{score.piece_id}: time signature must be positive, got {num}/{den}")
    return score.resolution * 4 * num, den


def n_bars_of(score: Score) -> int:
    """Number of bars the score spans: ``ceil(length / bar_ticks)`` (0 if it has no notes)."""
    unit, den = _bar_unit(score)
    return int(-((-score.length * den) // unit))


def note_bar_cells(score: Score, n_bars: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (note, bar) pair in which a note sounds, as three parallel arrays.

    Parameters
    ----------
    score
        The piece.
    n_bars
        Only bars ``0 .. n_bars - 1`` are kept (notes past them are ignored, notes
        crossing the last bar line are cut there). ``None`` keeps every bar.

    Returns
    -------
    note, track, bar
        Row index into ``score.notes``, its track and the bar, one entry per pair.
    """
    df = score.notes
    unit, den = _bar_unit(score)
    onset = df["onset"].to_numpy(np.int64)
    end = onset + df["duration"].to_numpy(np.int64)
    first = (onset * den) // unit
    last = -((-end * den) // unit) - 1  # last bar overlapped; an end on a bar line stays out
    if n_bars is not None:
        last = np.minimum(last, n_bars - 1)
    counts = np.maximum(last - first + 1, 0)
    note = np.repeat(np.arange(len(df)), counts)
    starts = np.cumsum(counts) - counts
    bar = np.repeat(first, counts) + (np.arange(int(counts.sum())) - np.repeat(starts, counts))
    track = df["track"].to_numpy(np.int64)[note]
    return note, track, bar


def pitched_track_mask(score: Score) -> np.ndarray:
    """Boolean mask over ``score.notes``: True where the note is on a non-drum track.

    Pitch metrics skip drum tracks, as MuseGAN does for UPC and QN: a drum note's MIDI
    number names an instrument, not a pitch.
    """
    drum = np.array([t.is_drum for t in score.tracks] or [False], dtype=bool)
    return ~drum[score.notes["track"].to_numpy(np.int64)]


def empty_bar_rate(score: Score, n_bars: int | None = None) -> float:
    """Share of (track, bar) cells in which no note sounds (S0; MuseGAN's EB as a ratio).

    Every declared track counts, drums included, so a silent track makes all its bars
    empty. Dong et al. 2018, "MuseGAN", Sec. 5 ("EB: ratio of empty bars").

    Parameters
    ----------
    score
        The piece.
    n_bars
        Number of bars to judge; ``None`` means ``ceil(length / bar_ticks)``. Pass it for
        fixed-length windows (a generated 2-bar sample whose last bar is silent has
        length 1 bar, and only ``n_bars=2`` counts that bar as empty).

    Returns
    -------
    float
        In [0, 1]. Return NaN if there are no cells (no tracks, or no bars: an empty
        score with ``n_bars=None``). An empty score with ``n_bars > 0`` returns 1.0.
    """
    nb = n_bars_of(score) if n_bars is None else int(n_bars)
    n_tracks = len(score.tracks)
    if nb <= 0 or n_tracks == 0:
        return float("nan")
    _, track, bar = note_bar_cells(score, nb)
    occupied = np.zeros((n_tracks, nb), dtype=bool)
    occupied[track, bar] = True
    return float(1.0 - occupied.mean())


def empty_bars_percent(score: Score, n_bars: int | None = None) -> float:
    """S1's EB: :func:`empty_bar_rate` in percent (0-100); NaN in the same cases."""
    return 100.0 * empty_bar_rate(score, n_bars)


def used_pitch_classes_per_bar(score: Score, n_bars: int | None = None) -> float:
    """S1's UPC: distinct pitch classes per non-empty (track, bar), averaged (0-12).

    A pitch class counts in every bar its note sounds in. Empty cells are left out of
    the mean (an empty bar says nothing about harmony; EB reports it). Drum tracks are
    left out. Dong et al. 2018, "MuseGAN", Sec. 5 ("UPC: number of used pitch classes
    per bar").

    Parameters
    ----------
    score
        The piece.
    n_bars
        As in :func:`empty_bar_rate`: notes past bar ``n_bars - 1`` are ignored.

    Returns
    -------
    float
        Return NaN if no pitched note sounds in any kept bar.
    """
    note, track, bar = note_bar_cells(score, n_bars)
    keep = pitched_track_mask(score)[note]
    if not keep.any():
        return float("nan")
    pitch_class = score.notes["pitch"].to_numpy(np.int64)[note[keep]] % PITCH_CLASSES
    nb = int(bar.max()) + 1
    cell = track[keep] * nb + bar[keep]
    code = np.unique(cell * PITCH_CLASSES + pitch_class)
    _, per_cell = np.unique(code // PITCH_CLASSES, return_counts=True)
    return float(per_cell.mean())
