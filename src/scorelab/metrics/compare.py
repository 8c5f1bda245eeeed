"""Set-against-set comparison of per-piece feature values.

Three tools, all NumPy only:

* MGEval's relative measurement (Yang & Lerch 2020, "On the evaluation of generative
  models in music", Neural Computing and Applications 32; code: github.com/RichardYang40148/mgeval,
  ``mgeval/utils.py`` and ``demo.ipynb``). For one feature, every piece of a set is a
  point (a scalar, or a histogram or matrix flattened to a vector). The *intra-set*
  distances of a set are the Euclidean distances from each piece to every other piece
  of the same set (leave-one-out, pooled); the *inter-set* distances are those from
  each piece of one set to every piece of the other. A Gaussian KDE (Scott's rule) is
  fitted to each pool of distances, and the reference set's intra-set density is
  compared with the inter-set density by their overlap area and by the KL divergence.
  A generator that resembles the data has inter-set distances distributed like the
  data's own intra-set distances: overlap near 1, KL near 0. :func:`mgeval_compare`
  does all of it; the pieces are public for tests and plots.
* :func:`frechet_distance`: the Fréchet distance between Gaussians fitted to two sets of
  feature vectors (as FID, Heusel et al. 2017, "GANs trained by a two time-scale update
  rule converge to a local Nash equilibrium"; the formula is Dowson & Landau 1982).
* :func:`normalized_deviations`: how far a generated set's summary statistics are from
  the training data's, per key, in units of how far a naive baseline's are (the ranking
  is :mod:`scorelab.metrics.headline`, not these).

Where this module departs from MGEval's code, the function's docstring says so and why.
The departures, in short: the KL divergence is taken on one grid common to both
densities (MGEval's ``kl_dist`` evaluates them on two different grids); the overlap and
the KL are integrated on a grid padded by three bandwidths and normalised on it
(MGEval's ``overlap_area`` integrates over the samples' range only, cutting the tails);
a constant sample gets a small minimum bandwidth instead of crashing (SciPy's KDE
raises on a singular covariance); and NaN (an undefined feature) drops a piece.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "GRID_PAD_BANDWIDTHS",
    "KL_EPSILON",
    "MGEVAL_PIECES",
    "MIN_RELATIVE_BANDWIDTH",
    "GaussianKDE",
    "MGEvalResult",
    "common_grid",
    "frechet_distance",
    "gaussian_kde",
    "inter_set_distances",
    "intra_set_distances",
    "kl_divergence",
    "mgeval_compare",
    "normalized_deviations",
    "overlap_area",
]

MGEVAL_PIECES = 100  # pieces per set in MGEval's comparisons (S4 and MGEval compared 100)
MIN_RELATIVE_BANDWIDTH = 1e-6  # KDE bandwidth floor, times max(1, max |sample|)
GRID_PAD_BANDWIDTHS = 3.0  # the grid reaches this many bandwidths past each sample's extremes
_TAIL_BANDWIDTHS = 8.0  # each sample's own part of the grid follows its tails this far (exp(-32) ~ 1e-14)
KL_EPSILON = 1e-10  # added to both densities, times the larger peak density, before the KL
_KERNEL_REACH = 10.0  # kernels are summed within this many bandwidths of a point (exp(-50) ~ 2e-22 beyond)
_EVAL_BLOCK = 256  # KDE evaluation points handled together (sorted, so they share a window of samples)
_CHUNK_ELEMENTS = 1 << 22  # bound on temporary array sizes (4M float64 = 32 MiB)
_SQRT_2PI = math.sqrt(2.0 * math.pi)


# --------------------------------------------------------------------------- distances


def _as_rows(features: np.ndarray) -> np.ndarray:
    """``features`` as a float64 (n, d) array: one row per piece, every feature value flattened."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim == 0:
        raise ValueError("features must have one entry per piece (got a scalar)")
    n = x.shape[0]
    d = math.prod(x.shape[1:]) if x.ndim > 1 else 1
    return x.reshape(n, d)


def _defined_rows(features: np.ndarray) -> np.ndarray:
    """The rows of :func:`_as_rows` without a NaN; ValueError on an infinite value.

    NaN is how the per-piece metrics say "undefined for this piece" (a piece without
    notes has no pitch mean), so such a piece has no place in any distance. An infinite
    value is not a convention but a bug upstream, so it is not silently dropped.
    """
    x = _as_rows(features)
    x = x[~np.isnan(x).any(axis=1)]
    if np.isinf(x).any():
        raise ValueError("features contain an infinite value")
    return x


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n_a, n_b) Euclidean distances between the rows of ``a`` and ``b``, by direct differences.

    Direct differences rather than the ``|a|^2 + |b|^2 - 2 a.b`` expansion: exact for
    small values (distances of integers are exact) and never negative under rounding.
    Computed in row chunks so the (chunk, n_b, d) temporary stays bounded.
    """
    out = np.empty((a.shape[0], b.shape[0]), dtype=np.float64)
    step = max(1, _CHUNK_ELEMENTS // max(1, b.shape[0] * b.shape[1]))
    for start in range(0, a.shape[0], step):
        diff = a[start : start + step, None, :] - b[None, :, :]
        out[start : start + step] = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    return out


def intra_set_distances(features: np.ndarray) -> np.ndarray:
    """Leave-one-out Euclidean distances within one set, pooled (MGEval's intra-set distances).

    Parameters
    ----------
    features
        Shape (n,) for a scalar feature or (n, d, ...) for a vector or matrix feature
        (a 12-bin histogram, a 12 x 12 transition matrix): one entry per piece. A matrix
        is flattened, so its distance is the Frobenius norm of the difference, which is
        what MGEval's ``np.linalg.norm(A - B[i])`` computes.

    Returns
    -------
    np.ndarray
        1-D, n * (n - 1) distances in the feature's unit: for each piece i in order, its
        distances to every other piece j != i in order (so each pair appears twice, as in
        MGEval's ``demo.ipynb``, whose ``LeaveOneOut`` loop calls ``utils.c_dist(piece_i,
        the_other_pieces)``). Empty for fewer than two pieces.

    Notes
    -----
    Pieces with a NaN anywhere in their feature (undefined for that piece) are dropped
    first, so n counts the defined pieces; MGEval has no notion of an undefined feature.
    An infinite value raises ValueError.
    """
    x = _defined_rows(features)
    n = x.shape[0]
    if n < 2:
        return np.empty(0, dtype=np.float64)
    dist = _pairwise(x, x)
    return dist[~np.eye(n, dtype=bool)]


def inter_set_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances from every piece of ``a`` to every piece of ``b`` (MGEval's inter-set distances).

    Parameters
    ----------
    a, b
        Per-piece feature values, shaped as for :func:`intra_set_distances`; the
        feature's size per piece must agree.

    Returns
    -------
    np.ndarray
        1-D, n_a * n_b distances in the feature's unit, for each piece of ``a`` in order
        its distances to the pieces of ``b`` in order (MGEval's ``sets_inter``). Empty
        when either set has no defined piece.

    Notes
    -----
    Pieces with a NaN are dropped first, as in :func:`intra_set_distances`. ValueError
    when the two sets' feature sizes differ or a value is infinite.
    """
    xa, xb = _defined_rows(a), _defined_rows(b)
    if xa.shape[0] == 0 or xb.shape[0] == 0:
        return np.empty(0, dtype=np.float64)
    if xa.shape[1] != xb.shape[1]:
        raise ValueError(f"feature sizes differ: {xa.shape[1]} vs {xb.shape[1]} values per piece")
    return _pairwise(xa, xb).ravel()


# --------------------------------------------------------------------------- KDE


def _samples_1d(samples: np.ndarray) -> np.ndarray:
    """``samples`` flattened to float64, NaN dropped; ValueError on an infinite value."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    x = x[~np.isnan(x)]
    if np.isinf(x).any():
        raise ValueError("samples contain an infinite value")
    return x


class GaussianKDE:
    """One-dimensional Gaussian kernel density estimate with Scott's bandwidth.

    The same estimate as ``scipy.stats.gaussian_kde(samples)`` (which MGEval's
    ``utils.py`` uses), without SciPy: the density at x is

        pdf(x) = 1 / (n h sqrt(2 pi)) * sum_i exp(-(x - x_i)^2 / (2 h^2)),

    with the bandwidth h = factor * std(samples, ddof=1) and Scott's factor
    n ** (-1/5) (SciPy's ``kde.factor``; h^2 is SciPy's ``kde.covariance``).

    Attributes
    ----------
    samples : np.ndarray
        The finite samples, NaN dropped.
    factor : float
        Scott's factor n ** (-1/5).
    bandwidth : float
        h, in the samples' unit; the density is in the inverse of that unit.

    Notes
    -----
    *Minimum bandwidth* (where we differ from SciPy, which raises ``LinAlgError`` on a
    singular covariance): a constant sample (a feature every piece shares, whose
    distances are all equal) or a single sample has no spread, so Scott's rule gives
    h = 0 or is undefined. We floor h at ``MIN_RELATIVE_BANDWIDTH * max(1, max |x_i|)``
    (1e-6 relative, or absolute below magnitude 1). The estimate is then a unit-mass
    Gaussian spike: the limit of a KDE whose sample spread shrinks to nothing, smoothed
    just enough to be a density. Two identical constant samples then have overlap 1 and
    KL 0; two constants further apart than a few bandwidths have overlap 0 and the
    largest KL that :data:`KL_EPSILON` allows. The floor never binds for a sample with a
    real spread (it needs a spread below a millionth of the values' magnitude).

    Duplicate samples (frequent: distances between integer-valued features repeat) are
    evaluated once with their multiplicity, which is the same sum in another order; and
    kernels more than ``_KERNEL_REACH`` (10) bandwidths from a point are left out of its
    sum, as each would add less than exp(-50) ~ 2e-22 of its peak. Both only save time.

    ValueError for no sample (after dropping NaN) or an infinite one.
    """

    def __init__(self, samples: np.ndarray) -> None:
        x = _samples_1d(samples)
        if x.size == 0:
            raise ValueError("a KDE needs at least one finite sample")
        self.samples = x
        n = x.size
        self.factor = float(n ** (-1.0 / 5.0))
        std = float(np.std(x, ddof=1)) if n > 1 else 0.0
        floor = MIN_RELATIVE_BANDWIDTH * max(1.0, float(np.max(np.abs(x))))
        self.bandwidth = max(self.factor * std, floor)
        self._points, counts = np.unique(x, return_counts=True)
        self._weights = counts / n

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """Density at ``points`` (any shape; the result has the same shape), per unit of the samples."""
        x = np.asarray(points, dtype=np.float64)
        flat = x.ravel()
        order = np.argsort(flat, kind="stable")
        xs = flat[order]
        pts, w, bw = self._points, self._weights, self.bandwidth
        reach = _KERNEL_REACH * bw
        dens = np.zeros(xs.shape, dtype=np.float64)
        for start in range(0, xs.size, _EVAL_BLOCK):
            xb = xs[start : start + _EVAL_BLOCK]
            lo = int(np.searchsorted(pts, xb[0] - reach, side="left"))
            hi = int(np.searchsorted(pts, xb[-1] + reach, side="right")) if np.isfinite(xb[-1]) else pts.size
            step = max(1, _CHUNK_ELEMENTS // xb.size)
            for s in range(lo, hi, step):
                z = (xb[:, None] - pts[None, s : min(s + step, hi)]) / bw
                dens[start : start + _EVAL_BLOCK] += np.exp(-0.5 * z * z) @ w[s : min(s + step, hi)]
        out = np.empty_like(dens)
        out[order] = dens / (bw * _SQRT_2PI)
        out[np.isnan(flat)] = np.nan
        return out.reshape(x.shape)

    def support(self, pad_bandwidths: float = GRID_PAD_BANDWIDTHS) -> tuple[float, float]:
        """The samples' range widened by ``pad_bandwidths`` bandwidths on each side."""
        pad = pad_bandwidths * self.bandwidth
        return float(self._points[0] - pad), float(self._points[-1] + pad)


def gaussian_kde(samples: np.ndarray) -> GaussianKDE:
    """Fit a Gaussian KDE with Scott's bandwidth to 1-D ``samples`` (see :class:`GaussianKDE`).

    Parameters
    ----------
    samples
        Any shape, flattened; NaN values are dropped.

    Returns
    -------
    GaussianKDE
        Callable on an array of points; ``.bandwidth`` is equal to SciPy's
        ``gaussian_kde(samples).factor * samples.std(ddof=1)`` whenever the samples have
        a spread, and to the documented floor when they do not.
    """
    return GaussianKDE(samples)


def _grid_over(kdes: Sequence[GaussianKDE], n: int) -> np.ndarray:
    """The common grid of :func:`common_grid` for already fitted KDEs."""
    if n < 2:
        raise ValueError(f"a grid needs at least 2 points, got n={n}")
    if not kdes:
        return np.empty(0, dtype=np.float64)
    supports = [k.support() for k in kdes]
    low, high = min(s[0] for s in supports), max(s[1] for s in supports)
    parts = [np.linspace(low, high, n)]
    for k in kdes:
        lo, hi = k.support(_TAIL_BANDWIDTHS)
        parts.append(np.linspace(max(lo, low), min(hi, high), n))
    return np.unique(np.concatenate(parts))


def common_grid(x: np.ndarray, y: np.ndarray, n: int = 1000) -> np.ndarray:
    """One grid on which to evaluate, compare and integrate the KDEs of ``x`` and ``y``.

    Parameters
    ----------
    x, y
        Two 1-D samples (NaN dropped). An empty one adds nothing.
    n
        Points per part of the grid (below); at least 2.

    Returns
    -------
    np.ndarray
        Sorted, distinct points in the samples' unit: the union of a uniform n-point grid
        over the span of both samples, each widened by ``GRID_PAD_BANDWIDTHS`` (3) of its
        own KDE bandwidths on both sides, and, for each sample, a uniform n-point grid over
        its own range widened by 8 bandwidths (where its tails have fallen to 1e-14 of
        their peak), clipped to the former span. So at most 3 n points, not evenly spaced.
        Empty when both samples are empty.

    Notes
    -----
    Why a common grid: MGEval's ``kl_dist`` evaluates the two densities on two
    different ``linspace`` grids (each over its own sample's min..max) and hands the two
    value vectors to ``scipy.stats.entropy``, which then compares density values at
    unrelated points: a sample and a shifted copy of it get KL 0. Both densities must be
    evaluated at the same points.

    Why the padding: a KDE has mass beyond its samples' extremes; three bandwidths hold
    all but about 0.13 % of an extreme kernel's mass. MGEval's ``overlap_area`` stops at
    the samples' min and max, so even a sample compared with itself overlaps by less
    than 1.

    Why the per-sample parts: when one density is far narrower than the span of both
    (a near-constant feature, or two samples far apart), a single uniform grid can step
    over its whole peak. Each sample's own n points resolve it; the trapezoid rule
    works on uneven spacing. They follow the tails to 8 bandwidths, not 3, because past
    the last of them the trapezoid rule draws a straight line to the next, possibly
    distant, point: from a density still at 1 % of its peak (3 bandwidths) that line
    would add spurious mass, from 1e-14 of it (8 bandwidths) it adds nothing visible.
    """
    kdes = [gaussian_kde(s) for s in (x, y) if _samples_1d(s).size]
    return _grid_over(kdes, n)


def _density_on(grid: np.ndarray, pdf: np.ndarray) -> np.ndarray:
    """``pdf`` divided by its trapezoid integral over ``grid``, so that it integrates to exactly 1 there."""
    total = float(np.trapezoid(pdf, grid))
    if not (math.isfinite(total) and total > 0.0):
        raise ValueError("the grid does not cover the samples' density (its integral on the grid is 0)")
    return pdf / total


def _check_grid(grid: np.ndarray) -> np.ndarray:
    g = np.asarray(grid, dtype=np.float64)
    if g.ndim != 1 or g.size < 2 or not np.all(np.diff(g) > 0) or not np.isfinite(g).all():
        raise ValueError("grid must be a finite, strictly increasing 1-D array of at least 2 points")
    return g


def _overlap_from_pdfs(grid: np.ndarray, p: np.ndarray, q: np.ndarray) -> float:
    """Overlap area of two densities given on ``grid`` (each normalised on it first)."""
    p, q = _density_on(grid, p), _density_on(grid, q)
    return float(np.clip(np.trapezoid(np.minimum(p, q), grid), 0.0, 1.0))


def _kl_from_pdfs(grid: np.ndarray, p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) in nats of two densities given on ``grid`` (see :func:`kl_divergence`)."""
    p, q = _density_on(grid, p), _density_on(grid, q)
    eps = KL_EPSILON * max(float(p.max()), float(q.max()))
    p, q = _density_on(grid, p + eps), _density_on(grid, q + eps)
    return float(max(0.0, np.trapezoid(p * np.log(p / q), grid)))


def overlap_area(x: np.ndarray, y: np.ndarray, grid: np.ndarray | None = None) -> float:
    """Overlap area of the KDEs of two samples: the integral of min(pdf_x, pdf_y).

    Parameters
    ----------
    x, y
        1-D samples (in MGEval: intra-set and inter-set distances). NaN values dropped.
    grid
        Points to integrate on, strictly increasing; default :func:`common_grid` (x, y).

    Returns
    -------
    float
        Unitless, in [0, 1]: 1 for identical densities, 0 for disjoint ones. NaN when
        either sample is empty.

    Notes
    -----
    Each KDE (:func:`gaussian_kde`) is evaluated on the grid and divided by its
    trapezoid integral there, so both are densities of mass exactly 1 on the grid; the
    minimum is then integrated by the trapezoid rule. MGEval's ``utils.overlap_area``
    integrates the raw KDEs with ``scipy.integrate.quad`` from min(x, y) to max(x, y),
    which cuts the tails (a sample against itself overlaps by less than 1) and calls a
    Python function per point; here the grid is padded by three bandwidths and the
    overlap of a sample with itself is 1 up to rounding. No boundary correction at 0 for
    distances, as in MGEval. A constant sample gets the minimum bandwidth of
    :class:`GaussianKDE`: two equal constants overlap by 1, two distinct ones by 0.
    ValueError when a given grid misses a density altogether.
    """
    xs, ys = _samples_1d(x), _samples_1d(y)
    if xs.size == 0 or ys.size == 0:
        return float("nan")
    kx, ky = gaussian_kde(xs), gaussian_kde(ys)
    g = _grid_over([kx, ky], 1000) if grid is None else _check_grid(grid)
    return _overlap_from_pdfs(g, kx(g), ky(g))


def kl_divergence(p_samples: np.ndarray, q_samples: np.ndarray, grid: np.ndarray | None = None) -> float:
    """Kullback-Leibler divergence KL(P || Q) of the KDEs of two samples, in nats.

    KL(P || Q) = integral of p(x) ln(p(x) / q(x)) dx, with p and q the KDEs
    (:func:`gaussian_kde`) of ``p_samples`` and ``q_samples``. In MGEval, P is the
    reference set's intra-set distances and Q the inter-set distances.

    Parameters
    ----------
    p_samples, q_samples
        1-D samples; NaN values dropped.
    grid
        Points to integrate on, strictly increasing; default :func:`common_grid`.

    Returns
    -------
    float
        Nats, >= 0; 0 for identical samples. NaN when either sample is empty.

    Notes
    -----
    Both densities are evaluated on the *same* grid, normalised to mass 1 on it, and the
    integral is taken by the trapezoid rule. MGEval's ``utils.kl_dist`` instead evaluates
    them on two different grids and passes the values to ``scipy.stats.entropy``, which
    compares them point by point as discrete distributions: it measures shape on each
    sample's own range, not the divergence (a shifted copy scores 0).

    *Epsilon*: where q vanishes under p's mass (two far-apart samples) the KL is
    infinite, and KDE tails underflow to exactly 0 long before that. So
    ``KL_EPSILON`` (1e-10) times the larger of the two peak densities is added to both
    densities, which are then normalised again. This is the KL of two proper smoothed
    densities (so still >= 0, and exactly 0 for p = q); it changes overlapping densities
    by a negligible amount and bounds the divergence of disjoint ones by about
    ln(1 / KL_EPSILON) = 23 nats instead of infinity (less when q is far more peaked
    than p, which raises epsilon relative to p). Relative to the peak so the bound does
    not depend on the feature's unit. Two distinct constant samples get about 22.5 nats
    (the bound less half a nat, the mean of ln(p / peak) under a Gaussian p).
    """
    ps, qs = _samples_1d(p_samples), _samples_1d(q_samples)
    if ps.size == 0 or qs.size == 0:
        return float("nan")
    kp, kq = gaussian_kde(ps), gaussian_kde(qs)
    g = _grid_over([kp, kq], 1000) if grid is None else _check_grid(grid)
    return _kl_from_pdfs(g, kp(g), kq(g))


# --------------------------------------------------------------------------- MGEval


def _empty() -> np.ndarray:
    return np.empty(0, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class MGEvalResult:
    """MGEval's comparison of one feature between a generated set A and a reference set B.

    Attributes
    ----------
    intra_a_mean, intra_a_std
        Mean and standard deviation of A's intra-set distances (feature unit).
    intra_b_mean, intra_b_std
        The same for the reference set B.
    inter_mean, inter_std
        The same for the inter-set distances A x B.
    overlap
        Overlap area (unitless, 0-1) of the KDEs of B's intra-set and of the inter-set
        distances: 1 when a generated piece sits among the reference pieces as a
        reference piece does.
    kl
        KL(intra_B || inter) in nats (0 = alike; see :func:`kl_divergence`).
    grid
        Common grid over all three distance samples, built as :func:`common_grid` builds
        it for two (so at most 4 ``n_grid`` points, not evenly spaced), for plots.
    pdf_intra_a, pdf_intra_b, pdf_inter
        The three KDEs on ``grid`` (densities per feature unit), as fitted (not
        re-normalised on the grid); all NaN for an empty distance sample.

    Standard deviations are population ones (ddof 0, ``np.std``'s default, which
    MGEval's ``demo.ipynb`` uses for its statistics). Any value whose distances are empty
    (fewer than two defined pieces in a set for its intra-set distances, no defined
    piece for the inter-set ones) is NaN; ``overlap`` and ``kl`` need both B's intra-set
    and the inter-set distances.
    """

    intra_a_mean: float
    intra_a_std: float
    intra_b_mean: float
    intra_b_std: float
    inter_mean: float
    inter_std: float
    overlap: float
    kl: float
    grid: np.ndarray = field(default_factory=_empty, repr=False)
    pdf_intra_a: np.ndarray = field(default_factory=_empty, repr=False)
    pdf_intra_b: np.ndarray = field(default_factory=_empty, repr=False)
    pdf_inter: np.ndarray = field(default_factory=_empty, repr=False)

    def summary(self) -> dict[str, float]:
        """The eight scalar fields as plain floats (NaN where undefined), without the arrays."""
        keys = (
            "intra_a_mean",
            "intra_a_std",
            "intra_b_mean",
            "intra_b_std",
            "inter_mean",
            "inter_std",
            "overlap",
            "kl",
        )
        return {k: float(getattr(self, k)) for k in keys}


def _mean_std(d: np.ndarray) -> tuple[float, float]:
    if d.size == 0:
        return float("nan"), float("nan")
    return float(d.mean()), float(d.std())


def mgeval_compare(generated: np.ndarray, reference: np.ndarray, n_grid: int = 1000) -> MGEvalResult:
    """MGEval's relative measurement of one feature: generated set A against reference set B.

    Parameters
    ----------
    generated, reference
        Per-piece values of one feature, shape (n,) or (n, d, ...) as for
        :func:`intra_set_distances`; pieces with a NaN are dropped.
    n_grid
        Points per part of the common grid (:func:`common_grid`).

    Returns
    -------
    MGEvalResult
        Intra-set distance statistics of both sets, inter-set ones, and the overlap and
        KL of B's intra-set against the inter-set distance densities, with the three
        KDEs on one grid for plotting.

    Notes
    -----
    As MGEval's ``demo.ipynb``: leave-one-out intra-set distances, all-pairs inter-set
    distances, KDEs with Scott's rule, overlap area and KL(intra || inter). The demo
    reports both sets' intra against the inter; here B, the reference (training data),
    is the one compared, and A's intra-set density is kept for the plot. Overlap and KL
    are computed on the same grid as the returned densities, with the departures from
    MGEval documented in :func:`overlap_area` and :func:`kl_divergence`. Fewer than two
    defined pieces in a set give NaN (never an exception) for what needs them; a set
    whose pieces all share one value gives the constant-sample values of
    :class:`GaussianKDE` (overlap 1 and KL 0 when both sets are that same constant).
    """
    intra_a = intra_set_distances(generated)
    intra_b = intra_set_distances(reference)
    inter = inter_set_distances(generated, reference)
    kdes = {name: gaussian_kde(d) for name, d in (("a", intra_a), ("b", intra_b), ("x", inter)) if d.size}
    grid = _grid_over(list(kdes.values()), n_grid)

    def on_grid(name: str) -> np.ndarray:
        return kdes[name](grid) if name in kdes else np.full(grid.shape, np.nan)

    pdf_a, pdf_b, pdf_x = on_grid("a"), on_grid("b"), on_grid("x")
    if "b" in kdes and "x" in kdes:
        overlap, kl = _overlap_from_pdfs(grid, pdf_b, pdf_x), _kl_from_pdfs(grid, pdf_b, pdf_x)
    else:
        overlap = kl = float("nan")
    a_mean, a_std = _mean_std(intra_a)
    b_mean, b_std = _mean_std(intra_b)
    x_mean, x_std = _mean_std(inter)
    return MGEvalResult(
        intra_a_mean=a_mean,
        intra_a_std=a_std,
        intra_b_mean=b_mean,
        intra_b_std=b_std,
        inter_mean=x_mean,
        inter_std=x_std,
        overlap=overlap,
        kl=kl,
        grid=grid,
        pdf_intra_a=pdf_a,
        pdf_intra_b=pdf_b,
        pdf_inter=pdf_x,
    )


# --------------------------------------------------------------------------- Fréchet


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix (eigenvalues clipped at 0)."""
    w, v = np.linalg.eigh((m + m.T) / 2.0)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two sets of feature vectors.

    d^2 = ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a^{1/2} S_b S_a^{1/2})^{1/2}),

    the squared 2-Wasserstein distance between N(mu_a, S_a) and N(mu_b, S_b) (Dowson &
    Landau 1982), as FID reports it (Heusel et al. 2017; no square root taken).

    Parameters
    ----------
    a, b
        Shape (n, d) and (m, d): one feature vector per piece; shape (n,) is read as
        d = 1. Rows with a NaN are dropped.

    Returns
    -------
    float
        In squared feature units, >= 0. For d = 1 it is (mu_a - mu_b)^2 + (s_a - s_b)^2.
        NaN when either set has fewer than two rows (no covariance).

    Notes
    -----
    Means and covariances (ddof = 1, as ``np.cov`` in the FID reference code) are those
    of the samples. Where the reference code takes ``scipy.linalg.sqrtm(S_a @ S_b)`` of a
    non-symmetric product (and discards the imaginary part rounding leaves), this uses
    the equal trace of the symmetric S_a^{1/2} S_b S_a^{1/2}: two symmetric
    eigendecompositions, with tiny negative eigenvalues from rounding clipped to 0, so no
    complex numbers and no SciPy. A tiny negative total from rounding is returned as 0.
    ValueError when the dimensions differ or a value is infinite.
    """
    xa, xb = _defined_rows(a), _defined_rows(b)
    if xa.shape[0] < 2 or xb.shape[0] < 2:
        return float("nan")
    if xa.shape[1] != xb.shape[1]:
        raise ValueError(f"dimensions differ: {xa.shape[1]} vs {xb.shape[1]}")
    diff = xa.mean(axis=0) - xb.mean(axis=0)
    cov_a = np.atleast_2d(np.cov(xa, rowvar=False, ddof=1))
    cov_b = np.atleast_2d(np.cov(xb, rowvar=False, ddof=1))
    root_a = _sqrt_psd(cov_a)
    middle = root_a @ cov_b @ root_a
    eig = np.clip(np.linalg.eigvalsh((middle + middle.T) / 2.0), 0.0, None)
    d2 = float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.sqrt(eig).sum())
    return max(d2, 0.0)


# --------------------------------------------------------------------------- normalized deviation


def _finite_value(d: Mapping[str, float | None], key: str) -> float:
    """``d[key]`` as a float; NaN when missing, None or not finite."""
    v = d.get(key)
    if v is None:
        return float("nan")
    v = float(v)
    return v if math.isfinite(v) else float("nan")


def normalized_deviations(
    generated: Mapping[str, float | None],
    training: Mapping[str, float | None],
    naive: Mapping[str, float | None],
    keys: Sequence[str],
    floor: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Per key, |generated - training| / max(|naive - training|, floor[key]).

    Parameters
    ----------
    generated, training, naive
        Summary statistics of a generated set, of the training data and of a naive
        baseline's output (for instance the flat ``metrics/*.json`` dicts), by key.
    keys
        The statistics to compare (a single string counts as one key).
    floor
        Per key, the smallest denominator allowed (the evaluate stage gives the
        real-against-real spread, so a key where noise sits near the data cannot blow up).

    Returns
    -------
    dict[str, float]
        Every key of ``keys`` in order, unitless: 0 = the generated set matches the data,
        1 = it is as far from the data as the naive baseline, above 1 = further. NaN for a
        key that is missing, None, NaN or infinite in any of the three dicts (undefined,
        so not comparable), and for a key where the baseline equals the data
        (|naive - training| == 0: nothing to normalise by, any deviation would be
        infinite).

    Notes
    -----
    A normalisation of our own, not MGEval's: it puts statistics of different units and
    scales on one scale, with the naive baseline as the yardstick.
    """
    if isinstance(keys, str):
        keys = (keys,)
    out: dict[str, float] = {}
    for key in keys:
        g, t, n = (_finite_value(d, key) for d in (generated, training, naive))
        scale = max(abs(n - t), float((floor or {}).get(key, 0.0)))
        out[key] = abs(g - t) / scale if math.isfinite(g) and scale > 0.0 else float("nan")
    return out
