"""Scores -> numbers: pure functions on a columnar set of notes, knowing nothing of codecs or models.

:class:`~scorelab.metrics.notes.NoteSet` holds a set's notes as flat arrays;
:mod:`~scorelab.metrics.musical` registers the per-piece metrics (S0, MuseGAN, MusPy,
MGEval, S4), :mod:`~scorelab.metrics.sets` the set and pair metrics and the evaluation
of a set with bootstrap intervals; :mod:`~scorelab.metrics.compare` compares two sets'
distributions (MGEval's overlap and KL, a Fréchet distance, the normalized deviation).
Adding a metric is one function and its registration (:mod:`~scorelab.metrics.registry`).
"""

from scorelab.metrics.notes import NoteSet, read_midi_set
from scorelab.metrics.registry import PAIR_METRICS, PIECE_METRICS, SET_METRICS, headline_keys
from scorelab.metrics.sets import SetEvaluation, evaluate_notes, evaluate_scores, round_sig

__all__ = [
    "NoteSet",
    "PAIR_METRICS",
    "PIECE_METRICS",
    "SET_METRICS",
    "SetEvaluation",
    "evaluate_notes",
    "evaluate_scores",
    "headline_keys",
    "read_midi_set",
    "round_sig",
]
