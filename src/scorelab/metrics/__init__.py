"""Scores -> numbers: pure functions on Scores, knowing nothing of codecs or models.

Per piece: :mod:`~scorelab.metrics.bars` (S0's empty bar rate, S1's EB and UPC),
:mod:`~scorelab.metrics.pitch` (S0's unique pitches and in-scale ratio, S4's pitch
statistics and histograms), :mod:`~scorelab.metrics.duration` (S1's QN). Per set:
:func:`~scorelab.metrics.sets.evaluate_set`, the flat dict written to ``metrics/*.json``.
"""

from scorelab.metrics.bars import (
    bar_ticks,
    empty_bar_rate,
    empty_bars_percent,
    n_bars_of,
    used_pitch_classes_per_bar,
)
from scorelab.metrics.duration import qualified_notes_percent
from scorelab.metrics.pitch import (
    in_scale_ratio,
    pitch_class_histogram,
    pitch_histogram,
    pitch_histogram_manhattan,
    pitch_mean,
    pitch_std,
    unique_pitches,
)
from scorelab.metrics.sets import (
    PCH_KEYS,
    SET_KEYS,
    evaluate_piece,
    evaluate_set,
    note_set_diversity,
    round_sig,
)

__all__ = [
    "note_set_diversity",
    "PCH_KEYS",
    "SET_KEYS",
    "bar_ticks",
    "empty_bar_rate",
    "empty_bars_percent",
    "evaluate_piece",
    "evaluate_set",
    "in_scale_ratio",
    "n_bars_of",
    "pitch_class_histogram",
    "pitch_histogram",
    "pitch_histogram_manhattan",
    "pitch_mean",
    "pitch_std",
    "qualified_notes_percent",
    "round_sig",
    "unique_pitches",
    "used_pitch_classes_per_bar",
]
