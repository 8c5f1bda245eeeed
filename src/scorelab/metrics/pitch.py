"""Pitch metrics: S0's unique pitches and in-scale ratio, S4's pitch statistics.

Drum tracks are left out everywhere here (their MIDI numbers name instruments).
Pitch-class histograms count notes, as MGEval does (Yang & Lerch 2020,
"On the evaluation of generative models in music", feature ``total_pitch_class_histogram``),
rather than weighting by duration.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scorelab.constants import C_MAJOR_PITCH_CLASSES, MIDI_PITCHES, PITCH_CLASSES
from scorelab.metrics.bars import pitched_track_mask
from scorelab.score import Score


def pitches(score: Score) -> np.ndarray:
    """MIDI pitches of the score's pitched (non-drum) notes, as int64."""
    return score.notes["pitch"].to_numpy(np.int64)[pitched_track_mask(score)]


def unique_pitches(score: Score) -> int:
    """Number of distinct MIDI pitches used (S0: "number of unique pitches used").

    Returns
    -------
    int
        0 for a score without pitched notes: it is a count, and an empty sample that
        uses no pitch should pull a set's mean down, not drop out of it.
    """
    return int(np.unique(pitches(score)).size)


def in_scale_ratio(score: Score, scale: Sequence[int] = C_MAJOR_PITCH_CLASSES) -> float:
    """Share of notes whose pitch class is in ``scale`` (S0: "in-scale ratio", C major).

    Parameters
    ----------
    score
        The piece; every note counts once, whatever its duration.
    scale
        Pitch classes 0-11 of the scale; C major by default, as S0 measures it.

    Returns
    -------
    float
        In [0, 1]. Return NaN if the score has no pitched note.
    """
    p = pitches(score)
    if p.size == 0:
        return float("nan")
    return float(np.isin(p % PITCH_CLASSES, np.asarray(scale)).mean())


def pitch_mean(score: Score) -> float:
    """Mean MIDI pitch over the notes of the piece (S4's "mean of pitch").

    Return NaN if the score has no pitched note. S4's reported 7.61 (data) / 7.97
    (generated) are not on this scale (they are not MIDI numbers); see
    ``scorelab.report.published``.
    """
    p = pitches(score)
    return float(p.mean()) if p.size else float("nan")


def pitch_std(score: Score) -> float:
    """Population standard deviation (ddof 0) of MIDI pitch over the notes (S4).

    Return NaN if the score has no pitched note; 0.0 for a single note.
    """
    p = pitches(score)
    return float(p.std()) if p.size else float("nan")


def pitch_class_histogram(score: Score) -> np.ndarray:
    """Share of notes in each of the 12 pitch classes (C = 0), summing to 1.

    Counts notes, not durations, as MGEval's ``total_pitch_class_histogram``
    (Yang & Lerch 2020).

    Returns
    -------
    numpy.ndarray
        Shape (12,), float64. Return all NaN if the score has no pitched note.
    """
    p = pitches(score)
    if p.size == 0:
        return np.full(PITCH_CLASSES, np.nan)
    counts = np.bincount(p % PITCH_CLASSES, minlength=PITCH_CLASSES).astype(np.float64)
    return counts / counts.sum()


def pitch_histogram(scores: Sequence[Score]) -> np.ndarray:
    """Raw count of notes per MIDI pitch over a whole set of scores, shape (128,)."""
    counts = np.zeros(MIDI_PITCHES, dtype=np.int64)
    for score in scores:
        counts += np.bincount(pitches(score), minlength=MIDI_PITCHES)
    return counts


def pitch_histogram_manhattan(a: Sequence[Score], b: Sequence[Score], normalize: bool = True) -> float:
    """Manhattan (L1) distance between the 128-bin pitch histograms of two sets (S4).

    S4 reports 141.35 (data) vs 234.88 (generated) on raw counts, which grow with the
    number of notes and so only compare sets of equal size. By default this measures
    the L1 distance between the two *normalised* histograms (each sums to 1), which lies
    in [0, 2] and does not depend on set size: 0 means the same pitch distribution,
    2 means no pitch in common. ``normalize=False`` gives S4's raw-count form.

    Parameters
    ----------
    a, b
        Two sets of scores (for instance real and generated).
    normalize
        Divide each histogram by its note count first.

    Returns
    -------
    float
        Return NaN if either set has no pitched note.
    """
    ha = pitch_histogram(a).astype(np.float64)
    hb = pitch_histogram(b).astype(np.float64)
    if ha.sum() == 0 or hb.sum() == 0:
        return float("nan")
    if normalize:
        ha, hb = ha / ha.sum(), hb / hb.sum()
    return float(np.abs(ha - hb).sum())
