"""Set-level evaluation: every per-piece metric, averaged over a set of Scores.

This is what ``metrics/*.json`` holds, for real data and for samples alike, so the two
meet on the same numbers. Each metric is computed per piece and then averaged over the
pieces where it is defined (NaN-aware): a piece with no pitched note adds nothing to
``in_scale_ratio`` but still counts in ``n_pieces`` and ``empty_bar_rate``. Note that
this is a mean of per-piece values, not S1's pool of "2000 bars": a long piece weighs
as much as a short one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from scorelab.constants import PITCH_CLASSES
from scorelab.metrics.bars import empty_bar_rate, used_pitch_classes_per_bar
from scorelab.metrics.duration import qualified_notes_percent
from scorelab.metrics.pitch import (
    in_scale_ratio,
    pitch_class_histogram,
    pitch_histogram_manhattan,
    pitch_mean,
    pitch_std,
    unique_pitches,
)
from scorelab.score import Score

SIGNIFICANT_DIGITS = 6  # rounding of every float written, so JSON bytes are stable
PCH_KEYS = tuple(f"pch_{i:02d}" for i in range(PITCH_CLASSES))
PIECE_KEYS = (
    "empty_bar_rate",
    "unique_pitches",
    "in_scale_ratio",
    "EB",
    "UPC",
    "QN",
    "pitch_mean",
    "pitch_std",
)
COUNT_KEYS = ("n_pieces", "n_notes")
SET_LEVEL_KEYS = ("diversity", "unique_pitches_std")  # properties of a set as a whole, not means
SET_KEYS = (*COUNT_KEYS, *PIECE_KEYS, *SET_LEVEL_KEYS, *PCH_KEYS)
DIVERSITY_MAX_PIECES = 64  # pairs compared: at most 64 * 63 / 2, evenly spread over the set
REFERENCE_KEY = "pitch_hist_manhattan"  # added only when a reference set is given


def round_sig(x: float, digits: int = SIGNIFICANT_DIGITS) -> float | None:
    """``x`` rounded to ``digits`` significant digits as a plain float; None for NaN/inf.

    None is what JSON can hold (``json.dumps`` would write the invalid token ``NaN``).
    """
    x = float(x)
    if not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}")


def evaluate_piece(
    score: Score, step_ticks: int, qn_min_steps: int = 3, n_bars: int | None = None
) -> dict[str, float]:
    """All per-piece metrics of one score, unrounded, NaN where undefined.

    Keys are ``PIECE_KEYS`` and ``PCH_KEYS``; see each metric's function for its edge
    cases. ``EB`` is ``100 * empty_bar_rate``; ``QN`` is a percentage.
    """
    ebr = empty_bar_rate(score, n_bars)
    out = {
        "empty_bar_rate": ebr,
        "unique_pitches": float(unique_pitches(score)),
        "in_scale_ratio": in_scale_ratio(score),
        "EB": 100.0 * ebr,
        "UPC": used_pitch_classes_per_bar(score, n_bars),
        "QN": qualified_notes_percent(score, step_ticks, qn_min_steps),
        "pitch_mean": pitch_mean(score),
        "pitch_std": pitch_std(score),
    }
    out.update(zip(PCH_KEYS, pitch_class_histogram(score).tolist(), strict=True))
    return out


def _nanmean(values: np.ndarray) -> float:
    """Mean over the finite entries; NaN when there are none (no RuntimeWarning)."""
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def note_set_diversity(scores: Sequence[Score], max_pieces: int = DIVERSITY_MAX_PIECES) -> float:
    """Mean pairwise Jaccard distance between the pieces' note sets (0 = all identical, 1 = disjoint).

    Each piece is its set of (track, pitch, onset, duration) notes. Per-piece means such
    as UPC or in-scale ratio cannot see mode collapse: a generator that plays one good
    texture every time scores like the data. S4 reports mode collapse through
    intra-set distances (MGEval, Yang & Lerch 2020); this is the simplest such distance,
    exact on the grid. Two empty pieces are at distance 0. At most ``max_pieces``
    pieces, evenly spread over the set, are compared, so the cost stays fixed.

    Return NaN for a set of fewer than two pieces.
    """
    n = len(scores)
    if n < 2:
        return float("nan")
    idx = np.unique(np.linspace(0, n - 1, num=min(n, max_pieces)).round().astype(int))
    sets = [
        set(map(tuple, scores[i].notes[["track", "pitch", "onset", "duration"]].to_numpy().tolist()))
        for i in idx
    ]
    dists = []
    for a in range(len(sets)):
        for b in range(a + 1, len(sets)):
            union = len(sets[a] | sets[b])
            dists.append(1.0 - len(sets[a] & sets[b]) / union if union else 0.0)
    return float(np.mean(dists))


def unique_pitches_spread(per_piece: np.ndarray) -> float:
    """Standard deviation across pieces of the number of distinct pitches per piece.

    This is S4's mode-collapse signal (its Appendix A.3: MGEval's ``total_used_pitch``
    over 100 pieces, reported as mean 7.61 / std 1.11 for the data and 7.97 / 0.17
    generated): a generator that repeats itself uses the same number of pitches in every
    piece. Population standard deviation (``np.std``, ddof 0, as S4's code computes it)
    over the pieces where it is defined; NaN for an empty set.
    """
    finite = per_piece[np.isfinite(per_piece)]
    return float(finite.std()) if finite.size else float("nan")


def evaluate_set(
    scores: Sequence[Score],
    step_ticks: int,
    qn_min_steps: int = 3,
    n_bars: int | None = None,
    reference: Sequence[Score] | None = None,
) -> dict[str, int | float | None]:
    """Evaluate a set of scores: the mean of every per-piece metric over the set.

    Parameters
    ----------
    scores
        The set: real pieces or windows, or generated samples.
    step_ticks
        Ticks per grid step, for QN (6 for a 16th-note grid at 24 ticks per quarter).
    qn_min_steps
        QN's threshold in steps (``evaluate.qn_min_steps``; 3 in MuseGAN and S1).
    n_bars
        Fixed number of bars per piece for EB, UPC and the empty bar rate (for
        fixed-length windows and samples); None uses each piece's own length.
    reference
        Optional set to compare against (for instance the training data); adds the key
        ``pitch_hist_manhattan``, the L1 distance of the two normalised 128-bin pitch
        histograms (:func:`pitch_histogram_manhattan`, 0-2).

    Returns
    -------
    dict
        Flat keys ``SET_KEYS`` (plus ``pitch_hist_manhattan`` with a reference):
        ``n_pieces`` and ``n_notes`` (all notes, drums included) are ints; every other
        value is a plain float rounded to 6 significant digits, or None where it is
        undefined for every piece (always the case for an empty set, which returns
        ``n_pieces == 0``). None rather than NaN so the dict is valid JSON as it is.
        ``pch_00 .. pch_11`` are the mean of the per-piece pitch-class histograms;
        ``diversity`` is :func:`note_set_diversity` of the set; ``unique_pitches_std`` is
        :func:`unique_pitches_spread` (S4's "pitch std").
    """
    rows = [evaluate_piece(s, step_ticks, qn_min_steps, n_bars) for s in scores]
    table = np.array([[r[k] for k in (*PIECE_KEYS, *PCH_KEYS)] for r in rows], dtype=np.float64)
    table = table.reshape(len(rows), len(PIECE_KEYS) + len(PCH_KEYS))
    out: dict[str, int | float | None] = {
        "n_pieces": len(scores),
        "n_notes": int(sum(len(s.notes) for s in scores)),
    }
    for j, key in enumerate((*PIECE_KEYS, *PCH_KEYS)):
        out[key] = round_sig(_nanmean(table[:, j]))
    out["diversity"] = round_sig(note_set_diversity(scores))
    out["unique_pitches_std"] = round_sig(unique_pitches_spread(table[:, PIECE_KEYS.index("unique_pitches")]))
    out = {k: out[k] for k in (*COUNT_KEYS, *PIECE_KEYS, *SET_LEVEL_KEYS, *PCH_KEYS)}
    if reference is not None:
        out[REFERENCE_KEY] = round_sig(pitch_histogram_manhattan(scores, reference))
    return out
