"""A set of pieces -> every registered metric, with its spread, and comparisons between sets.

Per piece, every registered piece metric (:mod:`scorelab.metrics.musical`) over the whole
set at once; the per-piece table is kept (Parquet), so distributions can be compared and
not only means. Per set, the mean of each metric over the pieces where it is defined
(NaN-aware) with a 95 % percentile bootstrap interval over pieces, and the set metrics
(diversity, the spread of used pitches). Against a reference set, the pair metrics (S4's
Manhattan distance, the pitch-histogram distance).

Two fresh runs of one variant can differ by more than a metric's difference between two
variants (S0 gave a diversity of 0.65 and 0.72 from identical params), so a number without
its interval is not a result. Means are of per-piece values: a long piece weighs as much
as a short one (S1 pooled "2000 bars"; we say so in the report).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scorelab.constants import MIDI_PITCHES
from scorelab.metrics import musical  # noqa: F401  (registers the piece metrics)
from scorelab.metrics.notes import INT, NoteSet
from scorelab.metrics.registry import (
    PAIR_METRICS,
    PIECE_METRICS,
    SET_METRICS,
    compute_piece_metrics,
    headline_keys,
    pair_metric,
    set_metric,
)

SIGNIFICANT_DIGITS = 6  # rounding of every float written, so JSON bytes are stable
BOOTSTRAP_DRAWS = 1000
CONFIDENCE = 0.95
DIVERSITY_MAX_PIECES = 64  # pairs compared: at most 64 * 63 / 2, evenly spread over the set
MANHATTAN_MAX_PIECES = 100  # S4 and MGEval compared 100 pieces per set


def round_sig(x: float, digits: int = SIGNIFICANT_DIGITS) -> float | None:
    """``x`` rounded to ``digits`` significant digits as a plain float; None for NaN/inf.

    None is what JSON can hold (``json.dumps`` would write the invalid token ``NaN``).
    """
    x = float(x)
    if not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}")


def evenly_spread(n: int, k: int) -> np.ndarray:
    """At most ``k`` distinct indices spread evenly over ``range(n)`` (the whole set)."""
    return np.unique(np.linspace(0, n - 1, num=min(n, k)).round().astype(INT)) if n else np.zeros(0, INT)


def bootstrap_draws(n: int, seed: int, draws: int = BOOTSTRAP_DRAWS) -> np.ndarray:
    """(draws, n) piece indices drawn with replacement, from a seeded generator."""
    return np.random.default_rng(seed).integers(0, n, size=(draws, n)) if n else np.zeros((draws, 0), INT)


def nanmean_rows(values: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """NaN-aware mean of ``values[draws]`` per row: the bootstrap distribution of the mean."""
    v = values[draws]
    ok = np.isfinite(v)
    n = ok.sum(1)
    s = np.where(ok, v, 0.0).sum(1)
    return np.divide(s, n, out=np.full(len(s), np.nan), where=n > 0)


def interval(boot: np.ndarray) -> tuple[float, float]:
    """The central ``CONFIDENCE`` percentile interval of bootstrap values (NaN if none)."""
    boot = boot[np.isfinite(boot)]
    if boot.size == 0:
        return float("nan"), float("nan")
    a = (1 - CONFIDENCE) / 2
    lo, hi = np.quantile(boot, [a, 1 - a])
    return float(lo), float(hi)


# -- set metrics -------------------------------------------------------------------------
def note_sets(ns: NoteSet, pieces: np.ndarray) -> np.ndarray:
    """(k, U) incidence of each chosen piece's (track, pitch, onset, duration) notes."""
    keep = np.isin(ns.piece, pieces)
    rows = np.stack([ns.track[keep], ns.pitch[keep], ns.onset[keep], ns.duration[keep]], 1)
    if rows.size == 0:
        return np.zeros((len(pieces), 0), bool)
    _, code = np.unique(rows, axis=0, return_inverse=True)
    which = np.searchsorted(pieces, ns.piece[keep])
    m = np.zeros((len(pieces), int(code.max()) + 1), bool)
    m[which, code.reshape(-1)] = True
    return m


def jaccard_distances(ns: NoteSet, pieces: np.ndarray) -> np.ndarray:
    """(k, k) Jaccard distance between the chosen pieces' note sets; two empty pieces: 0."""
    m = note_sets(ns, pieces).astype(np.float64)
    inter = m @ m.T
    size = m.sum(1)
    union = size[:, None] + size[None, :] - inter
    return np.where(union > 0, 1.0 - inter / np.maximum(union, 1), 0.0)


@set_metric("diversity", "Jaccard distance 0-1", "ours; after MGEval's intra-set distances", headline=True)
def diversity(ns: NoteSet, table: dict, seed: int) -> tuple[float, np.ndarray | None]:
    """Mean pairwise Jaccard distance between the pieces' note sets (0 = all identical, 1 = disjoint).

    Each piece is its set of (track, pitch, onset, duration) notes; per-piece means such as
    UPC cannot see mode collapse (a generator playing one good texture scores like the
    data), this can. At most 64 pieces, evenly spread, are compared. The bootstrap draws
    pieces among those 64 and averages the pairs of distinct pieces drawn. NaN for fewer
    than two pieces.
    """
    pieces = evenly_spread(ns.n_pieces, DIVERSITY_MAX_PIECES)
    k = len(pieces)
    if k < 2:
        return float("nan"), None
    d = jaccard_distances(ns, pieces)
    value = float(d[np.triu_indices(k, 1)].mean())
    sub = bootstrap_draws(k, seed)  # (B, k) positions among the compared pieces
    dd = d[sub[:, :, None], sub[:, None, :]]  # (B, k, k)
    distinct = sub[:, :, None] != sub[:, None, :]
    boot = (dd * distinct).sum((1, 2)) / np.maximum(distinct.sum((1, 2)), 1)
    return value, boot


@set_metric(
    "unique_pitches_std",
    "pitches",
    "S4 A.3 (MGEval total_used_pitch): std across pieces, its mode-collapse signal",
    headline=True,
)
def unique_pitches_std(ns: NoteSet, table: dict, seed: int) -> tuple[float, np.ndarray | None]:
    """Population standard deviation (ddof 0, S4's ``np.std``) across pieces of the number
    of distinct pitches per piece. S4 reports 7.61 / 1.11 (mean / std) for its data and
    7.97 / 0.17 generated: a generator that repeats itself uses the same number of pitches
    in every piece. NaN for an empty set.
    """
    v = table["unique_pitches"]
    if v.size == 0:
        return float("nan"), None
    return float(v.std()), v[bootstrap_draws(v.size, seed)].std(1)


# -- pair metrics ------------------------------------------------------------------------
def ascending_runs(ns: NoteSet, piece: int) -> list[list[int]]:
    """S4 A.3.1: a piece's note pitches in file order, grouped into runs of +1 semitone.

    S4's code walks the note_on messages of the merged MIDI tracks: a pitch one semitone
    above the last pitch of the current group joins it, any other pitch starts a group.
    File order is onset order (ties: track, then pitch); only sounding notes count (a
    velocity-0 note_on is a note-off in MIDI; our MIDI files write note_off messages).
    """
    lo, hi = ns.starts[piece], ns.starts[piece + 1]
    runs: list[list[int]] = []
    for p in ns.pitch[lo:hi].tolist():
        if runs and p == runs[-1][-1] + 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return runs


def _extent(pieces: list[list[list[int]]]) -> tuple[int, int]:
    """(most runs in a piece, longest run) over the pieces' ascending runs, at least (1, 1)."""
    return max([len(r) for r in pieces] + [1]), max([len(x) for r in pieces for x in r] + [1])


def _run_array(runs: list[list[int]], g: int, w: int) -> np.ndarray:
    a = np.full((g, w), np.nan)
    for i, r in enumerate(runs[:g]):
        a[i, : len(r)] = r[:w]
    return a


def s4_manhattan_matrix(a: NoteSet, a_pieces: np.ndarray, b: NoteSet, b_pieces: np.ndarray) -> np.ndarray:
    """(k_a, k_b) S4's distance between pieces: sum over zip-truncated runs of |x - y|.

    ``manhattan_distance(list1, list2)`` of S4 A.3.1: for each pair of runs at the same
    position (``zip``, so the shorter list of runs wins), the sum of ``|x - y|`` over
    their zip-truncated pitches. NaN padding does the truncation: a missing position on
    either side drops out of the ``nansum``.
    """
    ra = [ascending_runs(a, int(i)) for i in a_pieces]
    rb = [ascending_runs(b, int(i)) for i in b_pieces]
    # Only positions both sides have count, so the arrays stop at the smaller of the two
    # sides' extents: a noise-like piece with thousands of runs against real pieces with
    # dozens costs what the real pieces do. The sums are of integers, so exact either way.
    (ga, wa), (gb, wb) = _extent(ra), _extent(rb)
    g, w = min(ga, gb), min(wa, wb)
    xa = np.stack([_run_array(r, g, w) for r in ra]) if ra else np.zeros((0, g, w))
    xb = np.stack([_run_array(r, g, w) for r in rb]) if rb else np.zeros((0, g, w))
    out = np.zeros((len(ra), len(rb)))
    for i in range(len(ra)):
        out[i] = np.nansum(np.abs(xa[i][None] - xb), axis=(1, 2))
    return out


@pair_metric(
    "s4_manhattan", "semitones", "S4 A.3.1 code (after Mitzenmacher & Owen 2000): data 141.35, gen. 234.88"
)
def s4_manhattan(ns: NoteSet, ref: NoteSet, same: bool = False) -> float:
    """S4's "Manhattan distance": each piece's mean distance to every reference piece, averaged.

    S4 compares one file with every file of its corpus and divides by their number (its
    141.35 for a corpus file, 234.88 for a generated one). We do it for up to 100 pieces
    of the set against up to 100 reference pieces (evenly spread; S4 and MGEval used 100)
    and average. When the set is the reference itself (``same``), a piece is not compared
    with itself. The value grows with piece length and is not a distance between
    distributions: :func:`pitch_hist_l1` is.
    """
    pa = evenly_spread(ns.n_pieces, MANHATTAN_MAX_PIECES)
    pb = evenly_spread(ref.n_pieces, MANHATTAN_MAX_PIECES)
    if len(pa) == 0 or len(pb) == 0:
        return float("nan")
    d = s4_manhattan_matrix(ns, pa, ref, pb)
    if same:
        mask = pa[:, None] != pb[None, :]
        return float(d[mask].mean()) if mask.any() else float("nan")
    return float(d.mean())


@pair_metric("pitch_hist_l1", "L1 0-2", "a sound distance between the sets' normalised pitch histograms")
def pitch_hist_l1(ns: NoteSet, ref: NoteSet, same: bool = False) -> float:
    """L1 distance between the two sets' 128-bin pitch histograms of notes, each normalised
    to sum 1: 0 = the same pitch distribution, 2 = no pitch in common. Unlike S4's figure
    it does not grow with the number of notes. NaN if either set has no pitched note.
    """
    ha = np.bincount(ns.pitch[ns.pitched], minlength=MIDI_PITCHES).astype(np.float64)
    hb = np.bincount(ref.pitch[ref.pitched], minlength=MIDI_PITCHES).astype(np.float64)
    if ha.sum() == 0 or hb.sum() == 0:
        return float("nan")
    return float(np.abs(ha / ha.sum() - hb / hb.sum()).sum())


# -- a set's evaluation ------------------------------------------------------------------
@dataclass
class SetEvaluation:
    """Every metric of one set.

    Attributes
    ----------
    table
        Per-piece columns: each scalar piece metric, and ``name.label`` for each bin.
    stats
        Per scalar piece metric and set metric: ``{"value", "lo", "hi"}`` (the 95 %
        bootstrap interval over pieces), NaN where undefined.
    bins
        Per binned metric: ``{label: mean over pieces}``.
    pairs
        Per pair metric, against the reference set when one was given.
    """

    piece_ids: tuple[str, ...]
    n_notes: int
    table: dict[str, np.ndarray]
    stats: dict[str, dict[str, float]]
    bins: dict[str, dict[str, float]]
    pairs: dict[str, float] = field(default_factory=dict)

    @property
    def n_pieces(self) -> int:
        return len(self.piece_ids)

    def value(self, key: str) -> float:
        if key in self.stats:
            return self.stats[key]["value"]
        return self.pairs.get(key, float("nan"))

    def headline(self) -> dict[str, float | None]:
        """The few numbers DVC tracks as metrics: each headline metric's value."""
        return {k: round_sig(self.value(k)) for k in headline_keys() if k in self.stats or k in self.pairs}

    def to_json(self) -> dict:
        """Everything, JSON-ready (None for NaN), with each metric's unit and source."""
        units = {**PIECE_METRICS, **SET_METRICS, **PAIR_METRICS}
        return {
            "n_pieces": self.n_pieces,
            "n_notes": self.n_notes,
            "confidence": CONFIDENCE,
            "bootstrap_draws": BOOTSTRAP_DRAWS,
            "metrics": {
                k: {
                    "value": round_sig(v["value"]),
                    "ci95": [round_sig(v["lo"]), round_sig(v["hi"])],
                    "unit": units[k].unit,
                    "source": units[k].source,
                }
                for k, v in self.stats.items()
            },
            "bins": {k: {b: round_sig(x) for b, x in v.items()} for k, v in self.bins.items()},
            "pairs": {
                k: {"value": round_sig(v), "unit": units[k].unit, "source": units[k].source}
                for k, v in self.pairs.items()
            },
        }

    def frame(self) -> pd.DataFrame:
        """The per-piece table as a DataFrame (``piece_id`` first), for Parquet."""
        df = pd.DataFrame({"piece_id": pd.array(self.piece_ids, dtype="string")})
        return pd.concat([df, pd.DataFrame(self.table)], axis=1)


def evaluate_notes(
    ns: NoteSet, seed: int = 0, reference: NoteSet | None = None, same: bool = False
) -> SetEvaluation:
    """Evaluate a set: every registered metric, with bootstrap intervals from ``seed``.

    ``reference`` adds the pair metrics (``same``: the set is its own reference, so a
    piece is not compared with itself).
    """
    table = compute_piece_metrics(ns)
    draws = bootstrap_draws(ns.n_pieces, seed)
    stats: dict[str, dict[str, float]] = {}
    bins: dict[str, dict[str, float]] = {}
    for name, m in PIECE_METRICS.items():
        if m.binned:
            cols = [k for k in table if k.startswith(f"{name}.")]
            bins[name] = {k.split(".", 1)[1]: _nanmean(table[k]) for k in cols}
            continue
        v = table[name]
        lo, hi = interval(nanmean_rows(v, draws)) if ns.n_pieces else (float("nan"),) * 2
        stats[name] = {"value": _nanmean(v), "lo": lo, "hi": hi}
    for name, m in SET_METRICS.items():
        value, boot = m.fn(ns, table, seed)
        lo, hi = interval(boot) if boot is not None else (float("nan"), float("nan"))
        stats[name] = {"value": value, "lo": lo, "hi": hi}
    pairs = {}
    if reference is not None:
        pairs = {name: m.fn(ns, reference, same=same) for name, m in PAIR_METRICS.items()}
    return SetEvaluation(ns.piece_ids, ns.n_notes, table, stats, bins, pairs)


def _nanmean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def evaluate_scores(
    scores: Sequence,
    step_ticks: int = 0,
    n_bars: int | None = None,
    seed: int = 0,
    reference: Sequence | None = None,
) -> SetEvaluation:
    """:func:`evaluate_notes` on Scores (convenience for tests and small sets)."""
    ns = NoteSet.from_scores(scores, n_bars=n_bars, step_ticks=step_ticks)
    ref = None if reference is None else NoteSet.from_scores(reference, n_bars=n_bars, step_ticks=step_ticks)
    return evaluate_notes(ns, seed, ref)
