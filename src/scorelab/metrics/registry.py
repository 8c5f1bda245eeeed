"""The metric registry: adding a metric is one function plus its registration.

A *piece* metric maps a :class:`~scorelab.metrics.notes.NoteSet` to one value per piece,
``(P,)``, or to a row of bins per piece, ``(P, k)`` with ``k`` bin labels (a histogram, a
transition matrix flattened row by row). A *set* metric maps a set (and the per-piece
table) to one number, such as diversity. A *pair* metric compares a set with a reference
set, such as S4's Manhattan distance. The evaluation (:mod:`scorelab.metrics.sets`), the
per-piece Parquet tables, the JSON files and the report read these registries; none of
them names a metric, so a registered metric appears everywhere without further edits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from scorelab.metrics.notes import NoteSet


@dataclass(frozen=True)
class Metric:
    """One registered metric.

    Attributes
    ----------
    name
        Its key in every table and JSON file.
    fn
        ``NoteSet -> (P,)``, or ``-> (P, k)`` when ``bins`` is given (or returns labels).
    unit
        What one value is measured in ("%", "pitches", "bits", "ratio 0-1", ...).
    source
        Where its definition comes from (paper, section, code).
    headline
        Shown in ``metrics/**/headline.json`` (the files DVC tracks as metrics), the
        terminal table and the report's main table. Keep these few.
    bins
        Labels of the columns of a multi-bin metric; None for a scalar metric. A metric
        whose bins depend on the data (EB per track) returns ``(values, labels)``.
    """

    name: str
    fn: Callable
    unit: str
    source: str
    headline: bool = False
    bins: tuple[str, ...] | None = None
    binned: bool = False


PIECE_METRICS: dict[str, Metric] = {}
SET_METRICS: dict[str, Metric] = {}
PAIR_METRICS: dict[str, Metric] = {}


def _register(table: dict[str, Metric], name: str, **kw) -> Callable:
    def wrap(fn: Callable) -> Callable:
        if name in table:
            raise ValueError(f"metric {name!r} is already registered")
        table[name] = Metric(name=name, fn=fn, **kw)
        return fn

    return wrap


def piece_metric(
    name: str,
    unit: str,
    source: str,
    headline: bool = False,
    bins: Sequence[str] | None = None,
    binned: bool = False,
) -> Callable:
    """Register ``fn(ns: NoteSet) -> (P,)`` (or ``(P, k)`` with ``bins``) under ``name``."""
    return _register(
        PIECE_METRICS,
        name,
        unit=unit,
        source=source,
        headline=headline,
        bins=tuple(bins) if bins is not None else None,
        binned=binned or bins is not None,
    )


def set_metric(name: str, unit: str, source: str, headline: bool = False) -> Callable:
    """Register ``fn(ns, table, seed) -> (value, bootstrap values or None)`` under ``name``.

    ``table`` is the set's per-piece metrics; ``seed`` seeds the metric's own bootstrap
    over pieces (:func:`scorelab.metrics.sets.bootstrap_draws`).
    """
    return _register(SET_METRICS, name, unit=unit, source=source, headline=headline)


def pair_metric(name: str, unit: str, source: str, headline: bool = False) -> Callable:
    """Register ``fn(ns: NoteSet, reference: NoteSet) -> float`` under ``name``."""
    return _register(PAIR_METRICS, name, unit=unit, source=source, headline=headline)


def headline_keys() -> list[str]:
    """Names of the headline metrics, in registration order (pieces, sets, pairs)."""
    return [m.name for t in (PIECE_METRICS, SET_METRICS, PAIR_METRICS) for m in t.values() if m.headline]


def compute_piece_metrics(ns: NoteSet, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Every piece metric (or ``names``) of ``ns``: scalar ones as ``(P,)``, binned ones as
    ``name.label`` columns, so the result is one flat per-piece table.
    """
    out: dict[str, np.ndarray] = {}
    for name, m in PIECE_METRICS.items():
        if names is not None and name not in names:
            continue
        res = m.fn(ns)
        if not m.binned:
            out[name] = np.asarray(res, np.float64).reshape(ns.n_pieces)
            continue
        values, labels = res if isinstance(res, tuple) else (res, m.bins)
        values = np.asarray(values, np.float64).reshape(ns.n_pieces, len(labels))
        for j, label in enumerate(labels):
            out[f"{name}.{label}"] = values[:, j]
    return out
