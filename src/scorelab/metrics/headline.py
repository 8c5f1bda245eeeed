"""The headline score: how close a set's music is to the training data, on one bounded scale.

Why not the normalized deviation it replaces. That number averaged, over a few set-level
means, ``|generated - train| / |naive - train|``. A ratio with a data-dependent
denominator is unbounded, so one feature with a tiny denominator decided everything:
S4's LSTM scored 2.71, 79 % of it from diversity, where the training set and the naive
baseline differ by 0.0085 (its median over five keys was 1.00). The held-out test split,
which is real music, did not score as real, and the value could not be compared across
datasets. It is kept per feature only, in ``<set>.compare.json``, with its denominator
floored (:func:`scorelab.pipeline.evaluate.compare_with`), and ranks nothing.

The score (defined here, used by every evaluate stage, the report and ``scorelab evaluate``):

1. Per feature f of :data:`HEADLINE_FEATURES` (twelve per-piece features: pitch, rhythm,
   texture), the *closeness* of the set to the training set is ``1 - D_f``, where ``D_f``
   is the two-sample Kolmogorov-Smirnov statistic between the feature's per-piece values
   in the set and in the training set (the largest gap between the two empirical
   distribution functions). It is bounded in [0, 1], in no unit, blind to monotone
   rescaling, and exact with ties and point masses. A piece where a feature is undefined
   (NaN: a pitch shift of a one-note piece) counts as a value above every defined one,
   so a set that leaves a feature undefined more often than the data is further away.
   A feature undefined on every training piece is left out for that dataset (tonal
   distance on one-track melodies), and the score says how many features it used.
2. The score of a set is the **interquartile mean** (IQM) of the closeness over the
   features: sorted, the lowest and the highest quarter dropped, the middle half
   averaged (:func:`iqm`; of twelve features, the middle six). Agarwal et al. 2021
   ("Deep reinforcement learning at the edge of the statistical precipice", NeurIPS)
   recommend it over a mean (one extreme value decides a mean) and over a median (which
   jumps between neighbouring values). Measured on the committed run, the largest change
   from leaving out any one feature (``sensitivity``, recorded per set and checked by the
   tests) was 0.08 with the IQM against 0.13 with a median.
3. Its 95 % interval: a bootstrap over the set's pieces (:data:`DRAWS` resamples; the
   training set is the fixed reference). Resampling makes an empirical distribution
   lumpier, which biases a KS statistic up (closeness down), so the interval is the
   bootstrap percentiles *re-centred* on the observed score: ``score + (q - mean of the
   draws)`` for q the 2.5 and 97.5 percentiles, clipped to [0, 1].
4. Calibration. A KS statistic of two samples of real music is not 0: with n pieces it
   is about ``1 / sqrt(n)``. So every set is scored at the same number of pieces as
   two references measured the same way: the held-out **test split** (the ceiling,
   real against real) and the codec's **naive baseline** (the floor: random cells or
   symbols at the data's marginal rates). ``relative = (score - floor) / (ceiling -
   floor)``: 1 is as close to the training data as unseen real music, 0 as close as
   noise; below 0, further than noise. This is the ranking number
   (``reports/metrics.json``), comparable across datasets because each dataset's own
   references define its ends.
5. Verdict, from the intervals: ``like the data`` when the set's interval reaches the
   ceiling's; ``no better than naive`` when it reaches down to the floor's; ``between``
   otherwise; ``references overlap`` when the ceiling's and the floor's intervals meet
   (the features cannot tell that dataset's real music from its noise).

The pieces scored: at most :data:`MAX_PIECES` (S4 and MGEval compared 100), and never
more than the smallest of the set, the test split and the naive baseline, evenly spread
over each, so the three are compared at the same size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from scorelab.metrics.sets import BOOTSTRAP_DRAWS, CONFIDENCE, bootstrap_draws, evenly_spread

__all__ = [
    "DRAWS",
    "HEADLINE_FEATURES",
    "MAX_PIECES",
    "VERDICTS",
    "calibrate",
    "compare_with_references",
    "iqm",
    "ks_closeness",
    "score_set",
    "scored_pieces",
    "verdict",
]

# Twelve per-piece features, chosen to cover pitch (content and motion), rhythm and
# texture with as little overlap as possible, all defined for any symbolic set (monophonic
# or polyphonic, one track or several). Each is a registered piece metric
# (scorelab.metrics.musical), where its definition and source are.
HEADLINE_FEATURES: tuple[str, ...] = (
    "pitch_range",
    "unique_pitches",
    "pitch_class_entropy",
    "scale_consistency",
    "UPC",
    "avg_pitch_shift",
    "avg_IOI",
    "empty_beat_rate",
    "groove_consistency",
    "bar_used_note",
    "polyphony",
    "EB",
)
MAX_PIECES = 100
DRAWS = BOOTSTRAP_DRAWS  # the bootstrap of every other interval (scorelab.metrics.sets)
VERDICTS = ("like the data", "between", "no better than naive", "references overlap", "not scored")


def scored_pieces(*sizes: int) -> int:
    """How many pieces every set of one comparison is scored on: the smallest size, at most MAX_PIECES."""
    return int(min(MAX_PIECES, *sizes)) if sizes else MAX_PIECES


def _columns(table) -> dict[str, np.ndarray]:
    """A per-piece table (a DataFrame or a mapping of columns) as float64 arrays by name.

    Only the numeric columns: a Parquet table also holds the pieces' ids.
    """
    out = {}
    for k in table.keys():
        col = np.asarray(table[k])
        if col.dtype.kind in "biuf":
            out[str(k)] = col.astype(np.float64)
    return out


def _rows(table: Mapping[str, np.ndarray]) -> int:
    return len(next(iter(table.values()))) if table else 0


def _with_nan_last(values: np.ndarray) -> np.ndarray:
    """``values`` as float64 with NaN (undefined) replaced by +inf: a value above every defined one."""
    v = np.asarray(values, dtype=np.float64).ravel()
    return np.where(np.isnan(v), np.inf, v)


def ks_closeness(values: np.ndarray, reference: np.ndarray, draws: np.ndarray | None = None) -> np.ndarray:
    """``1 - KS(values, reference)`` for the observed set and each bootstrap draw.

    Parameters
    ----------
    values
        (n,) per-piece values of the scored set; NaN means undefined for that piece.
    reference
        (m,) per-piece values of the training set, NaN likewise.
    draws
        (B, n) indices into ``values``, one resample per row; None scores ``values`` once.

    Returns
    -------
    np.ndarray
        (B,) closeness in [0, 1] (shape (1,) without draws). 1 when the two empirical
        distribution functions agree everywhere; 0 when the samples do not overlap at all.
        NaN when either side is empty.
    """
    v, r = _with_nan_last(values), np.sort(_with_nan_last(reference))
    if draws is None:
        draws = np.arange(v.size)[None, :]
    if v.size == 0 or r.size == 0:
        return np.full(draws.shape[0], np.nan)
    grid = np.unique(np.concatenate([v, r]))  # every jump of either distribution function
    f_ref = np.searchsorted(r, grid, side="right") / r.size
    at = np.searchsorted(grid, v)  # each piece's value as a grid index
    b, n = draws.shape
    flat = (np.arange(b, dtype=np.int64)[:, None] * grid.size + at[draws]).ravel()
    counts = np.bincount(flat, minlength=b * grid.size).reshape(b, grid.size)
    f_set = np.cumsum(counts, axis=1) / n
    return 1.0 - np.abs(f_set - f_ref).max(axis=1)


def iqm(values: np.ndarray) -> np.ndarray:
    """Interquartile mean along axis 0: sorted, ``floor(n / 4)`` values dropped at each end,
    the rest averaged (SciPy's ``trim_mean(values, 0.25)``). (n, ...) -> (...)."""
    v = np.sort(np.asarray(values, dtype=np.float64), axis=0)
    k = v.shape[0] // 4
    return v[k : v.shape[0] - k].mean(axis=0)


def _interval(observed: float, boot: np.ndarray) -> tuple[float, float]:
    """The bootstrap percentile interval re-centred on the observed value, clipped to [0, 1]."""
    lo_q, hi_q = np.percentile(boot, [50 * (1 - CONFIDENCE), 50 * (1 + CONFIDENCE)])
    shift = observed - float(np.mean(boot))
    return float(np.clip(lo_q + shift, 0.0, 1.0)), float(np.clip(hi_q + shift, 0.0, 1.0))


def score_set(
    table: Mapping[str, np.ndarray],
    reference: Mapping[str, np.ndarray],
    n_pieces: int,
    seed: int,
    features: Sequence[str] = HEADLINE_FEATURES,
    draws: int = DRAWS,
) -> dict:
    """The headline score of one set against the training set, at ``n_pieces`` pieces.

    Parameters
    ----------
    table, reference
        Per-piece feature columns (the evaluate stages' ``*.pieces.parquet``) of the set
        and of the training set.
    n_pieces
        Pieces scored, evenly spread over the set (:func:`scored_pieces`).
    seed
        Seeds the bootstrap, so the same inputs give the same bytes.

    Returns
    -------
    dict
        ``score``, ``ci95``, ``pieces``, ``features`` (closeness per feature used),
        ``sensitivity`` (the largest change of the score from leaving one feature out) and
        ``left_out`` (features undefined on the whole training set).
    """
    table, reference = _columns(table), _columns(reference)
    used = [f for f in features if f in reference and f in table and np.isfinite(reference[f]).any()]
    left_out = [f for f in features if f not in used]
    pick = evenly_spread(_rows(table), n_pieces)
    if not used or pick.size == 0:
        return {
            "score": None,
            "ci95": [None, None],
            "pieces": int(pick.size),
            "features": {},
            "sensitivity": None,
            "left_out": left_out,
        }
    idx = np.vstack([np.arange(pick.size)[None, :], bootstrap_draws(pick.size, seed, draws)])
    per = np.stack([ks_closeness(table[f][pick], reference[f], idx) for f in used])  # (F, 1 + B)
    scores = iqm(per)
    observed = float(scores[0])
    loo = [float(iqm(np.delete(per[:, 0], i))) for i in range(len(used))] if len(used) > 1 else [observed]
    lo, hi = _interval(observed, scores[1:])
    return {
        "score": observed,
        "ci95": [lo, hi],
        "pieces": int(pick.size),
        "features": {f: float(per[i, 0]) for i, f in enumerate(used)},
        "sensitivity": float(max(abs(x - observed) for x in loo)),
        "left_out": left_out,
    }


def calibrate(value: float | None, ceiling: float | None, floor: float | None) -> float | None:
    """``(value - floor) / (ceiling - floor)``: 1 at the test split, 0 at the naive baseline.

    None when an input is missing or the references coincide (nothing to calibrate by; a
    difference at rounding level, 1e-16 on a tiny run, would blow the ratio up to 1e15).
    """
    if value is None or ceiling is None or floor is None or not ceiling - floor > 1e-9:
        return None
    return (value - floor) / (ceiling - floor)


def verdict(
    ci: Sequence[float | None], ceiling_ci: Sequence[float | None], floor_ci: Sequence[float | None]
) -> str:
    """The verdict of one set from its interval and the two references' (see the module doc)."""
    if None in ci:
        return "not scored"
    if None in (*ceiling_ci, *floor_ci) or floor_ci[1] >= ceiling_ci[0]:
        return "references overlap"
    if ci[1] >= ceiling_ci[0]:
        return "like the data"
    if ci[0] <= floor_ci[1]:
        return "no better than naive"
    return "between"


def compare_with_references(
    table: Mapping[str, np.ndarray],
    train: Mapping[str, np.ndarray],
    test: Mapping[str, np.ndarray],
    noise: Mapping[str, np.ndarray],
    seed: int,
    n_pieces: int | None = None,
) -> dict:
    """A set's headline score beside its two references, all at the same number of pieces.

    ``n_pieces`` defaults to :func:`scored_pieces` of the three sets' sizes. Returns the
    set's :func:`score_set` result plus ``ceiling`` and ``floor`` (the test split's and the
    naive baseline's, each a :func:`score_set` result), ``relative`` and its
    ``relative_ci95`` (:func:`calibrate` of the score and of its interval's ends) and the
    ``verdict``.
    """
    table, train, test, noise = (_columns(t) for t in (table, train, test, noise))
    sizes = [_rows(t) for t in (table, test, noise)]
    n = scored_pieces(*sizes) if n_pieces is None else n_pieces
    own = score_set(table, train, n, seed)
    ceiling = score_set(test, train, n, seed)
    floor = score_set(noise, train, n, seed)
    c, f = ceiling["score"], floor["score"]
    said = verdict(own["ci95"], ceiling["ci95"], floor["ci95"])
    if said == "references overlap":  # no scale to place the set on: say so, not a ratio
        c = f = None
    return {
        **own,
        "ceiling": ceiling,
        "floor": floor,
        "relative": calibrate(own["score"], c, f),
        "relative_ci95": [calibrate(x, c, f) for x in own["ci95"]],
        "verdict": said,
    }
