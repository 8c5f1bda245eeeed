"""Set-against-set comparison (MGEval, Fréchet distance, normalized deviation) against hand values.

SciPy is not a runtime dependency; the tests that compare with ``scipy.stats.gaussian_kde``
or ``scipy.linalg.sqrtm`` are skipped without it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from scorelab.metrics.compare import (
    GRID_PAD_BANDWIDTHS,
    MIN_RELATIVE_BANDWIDTH,
    GaussianKDE,
    MGEvalResult,
    common_grid,
    frechet_distance,
    gaussian_kde,
    inter_set_distances,
    intra_set_distances,
    kl_divergence,
    mgeval_compare,
    normalized_deviations,
    overlap_area,
)

SUMMARY_KEYS = [
    "intra_a_mean",
    "intra_a_std",
    "intra_b_mean",
    "intra_b_std",
    "inter_mean",
    "inter_std",
    "overlap",
    "kl",
]


def _phi(x: float) -> float:
    """Standard normal CDF."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


# --------------------------------------------------------------------------- distances


def test_intra_distances_of_0_1_3_by_hand():
    d = intra_set_distances(np.array([0.0, 1.0, 3.0]))
    # piece 0 -> 1, 3; piece 1 -> 0, 3; piece 2 -> 0, 1
    np.testing.assert_array_equal(d, [1.0, 3.0, 1.0, 2.0, 3.0, 2.0])
    np.testing.assert_array_equal(np.sort(d), [1.0, 1.0, 2.0, 2.0, 3.0, 3.0])


def test_inter_distances_by_hand():
    np.testing.assert_array_equal(inter_set_distances(np.array([0.0]), np.array([2.0, 5.0])), [2.0, 5.0])
    # for each piece of a in order, its distances to b in order
    np.testing.assert_array_equal(inter_set_distances([0.0, 10.0], [2.0, 5.0]), [2.0, 5.0, 8.0, 5.0])


def test_distances_are_euclidean_on_vectors_and_frobenius_on_matrices():
    np.testing.assert_array_equal(intra_set_distances(np.array([[0.0, 0.0], [3.0, 4.0]])), [5.0, 5.0])
    np.testing.assert_array_equal(
        inter_set_distances(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0], [6.0, 8.0]])), [5.0, 10.0]
    )
    mats = np.zeros((2, 2, 2))
    mats[1] = [[1.0, 2.0], [2.0, 4.0]]  # Frobenius norm 5
    np.testing.assert_array_equal(intra_set_distances(mats), [5.0, 5.0])
    # (n, 1) is the same as (n,)
    np.testing.assert_array_equal(intra_set_distances(np.array([[0.0], [1.0], [3.0]])), [1, 3, 1, 2, 3, 2])


def test_distances_match_mgeval_leave_one_out_loop():
    """The demo's LeaveOneOut loop over utils.c_dist (np.linalg.norm(A - B[i])), re-done by hand."""
    rng = np.random.default_rng(1)
    a, b = rng.random((7, 3, 4)), rng.random((5, 3, 4))

    def c_dist(x, others):
        return np.array([np.linalg.norm(x - o) for o in others])

    intra = np.concatenate([c_dist(a[i], np.delete(a, i, axis=0)) for i in range(len(a))])
    inter = np.concatenate([c_dist(a[i], b) for i in range(len(a))])
    assert intra_set_distances(a).shape == (7 * 6,)
    assert inter_set_distances(a, b).shape == (7 * 5,)
    np.testing.assert_allclose(intra_set_distances(a), intra, rtol=1e-14)
    np.testing.assert_allclose(inter_set_distances(a, b), inter, rtol=1e-14)


def test_distances_drop_undefined_pieces():
    np.testing.assert_array_equal(intra_set_distances([0.0, np.nan, 1.0, 3.0]), [1, 3, 1, 2, 3, 2])
    feats = np.array([[0.0, 0.0], [np.nan, 1.0], [3.0, 4.0]])  # one NaN spoils the whole piece
    np.testing.assert_array_equal(intra_set_distances(feats), [5.0, 5.0])
    np.testing.assert_array_equal(inter_set_distances([np.nan, 0.0], [2.0, np.nan, 5.0]), [2.0, 5.0])


def test_distances_of_too_few_pieces_are_empty():
    assert intra_set_distances([1.0]).size == 0
    assert intra_set_distances([np.nan, 1.0]).size == 0
    assert intra_set_distances(np.empty(0)).size == 0
    assert intra_set_distances(np.empty((0, 12))).size == 0
    assert inter_set_distances(np.empty(0), [1.0, 2.0]).size == 0
    assert inter_set_distances([np.nan], np.ones((3, 12))).size == 0


def test_distances_reject_bad_input():
    with pytest.raises(ValueError, match="infinite"):
        intra_set_distances([0.0, np.inf])
    with pytest.raises(ValueError, match="sizes differ"):
        inter_set_distances(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="scalar"):
        intra_set_distances(np.float64(1.0))


# --------------------------------------------------------------------------- KDE


def test_kde_by_hand_on_two_samples():
    kde = gaussian_kde(np.array([0.0, 2.0]))
    factor = 2 ** (-1 / 5)
    h = factor * math.sqrt(2.0)  # std(ddof=1) of [0, 2] is sqrt(2)
    assert kde.factor == pytest.approx(factor, rel=1e-15)
    assert kde.bandwidth == pytest.approx(h, rel=1e-15)
    expected = math.exp(-0.5 * (1.0 / h) ** 2) / (h * math.sqrt(2 * math.pi))  # mean of two equal kernels
    assert kde(np.array([1.0]))[0] == pytest.approx(expected, rel=1e-14)
    assert isinstance(kde, GaussianKDE)


@pytest.mark.parametrize(
    "samples",
    [
        np.random.default_rng(2).normal(3.0, 2.0, size=257),
        np.random.default_rng(3).integers(0, 6, size=400).astype(float),  # many duplicates
        np.array([1.0, 1.5, 4.0]),
    ],
)
def test_kde_matches_scipy(samples):
    stats = pytest.importorskip("scipy.stats")
    ref = stats.gaussian_kde(samples)
    kde = gaussian_kde(samples)
    assert kde.bandwidth == pytest.approx(ref.factor * samples.std(ddof=1), rel=1e-12)
    assert kde.bandwidth == pytest.approx(math.sqrt(ref.covariance[0, 0]), rel=1e-12)
    points = np.linspace(samples.min() - 5, samples.max() + 5, 1001)
    np.testing.assert_allclose(kde(points), ref(points), rtol=0, atol=1e-9)
    # any order and shape of points
    shuffled = np.random.default_rng(4).permutation(points)[:1000].reshape(10, 10, 10)
    np.testing.assert_allclose(kde(shuffled), ref(shuffled.ravel()).reshape(10, 10, 10), rtol=0, atol=1e-9)


def test_kde_of_constant_sample_has_the_documented_minimum_bandwidth():
    assert gaussian_kde([2.0, 2.0, 2.0]).bandwidth == pytest.approx(2.0 * MIN_RELATIVE_BANDWIDTH)
    assert gaussian_kde([0.0, 0.0]).bandwidth == pytest.approx(MIN_RELATIVE_BANDWIDTH)  # absolute below 1
    assert gaussian_kde([-300.0]).bandwidth == pytest.approx(300.0 * MIN_RELATIVE_BANDWIDTH)  # one sample
    kde = gaussian_kde([2.0, 2.0, 2.0])
    assert kde(np.array([2.0]))[0] == pytest.approx(1.0 / (2e-6 * math.sqrt(2 * math.pi)))
    grid = common_grid([2.0, 2.0, 2.0], [2.0])
    assert np.trapezoid(kde(grid), grid) == pytest.approx(1.0, abs=3e-3)  # a unit-mass spike, resolved


def test_kde_edge_cases():
    kde = gaussian_kde([0.0, np.nan, 1.0])  # NaN dropped
    np.testing.assert_array_equal(kde.samples, [0.0, 1.0])
    out = kde(np.array([np.nan, 0.5, np.inf]))
    assert math.isnan(out[0]) and out[1] > 0 and out[2] == 0.0
    with pytest.raises(ValueError):
        gaussian_kde([np.nan])
    with pytest.raises(ValueError):
        gaussian_kde([1.0, np.inf])


# --------------------------------------------------------------------------- grid


def test_common_grid_spans_both_samples_padded_by_three_bandwidths():
    x, y = np.array([0.0, 1.0, 3.0]), np.array([10.0, 14.0])
    hx, hy = gaussian_kde(x).bandwidth, gaussian_kde(y).bandwidth
    grid = common_grid(x, y, n=100)
    assert GRID_PAD_BANDWIDTHS == 3.0
    assert grid[0] == pytest.approx(0.0 - 3 * hx)
    assert grid[-1] == pytest.approx(14.0 + 3 * hy)
    assert np.all(np.diff(grid) > 0)
    assert 100 <= grid.size <= 300
    assert common_grid(np.empty(0), [np.nan]).size == 0
    with pytest.raises(ValueError):
        common_grid(x, y, n=1)


def test_common_grid_resolves_a_narrow_density_far_from_the_other():
    grid = common_grid([0.0, 0.0], np.linspace(0.0, 1000.0, 50))
    kde = gaussian_kde([0.0, 0.0])  # a spike 1e-6 wide on a 1000-wide span
    assert np.sum(np.abs(grid) < 3e-6) > 100
    assert np.trapezoid(kde(grid), grid) == pytest.approx(1.0, abs=3e-3)


# --------------------------------------------------------------------------- overlap


def test_overlap_of_a_sample_with_itself_is_one():
    x = np.random.default_rng(5).gamma(2.0, size=300)
    assert overlap_area(x, x) == pytest.approx(1.0, abs=1e-3)
    assert overlap_area(x, x.copy()) == pytest.approx(1.0, abs=1e-12)


def test_overlap_of_far_apart_samples_is_zero():
    rng = np.random.default_rng(6)
    assert overlap_area(rng.normal(0, 1, 200), rng.normal(100, 1, 200)) == pytest.approx(0.0, abs=1e-9)


def test_overlap_is_symmetric_and_in_unit_interval():
    rng = np.random.default_rng(7)
    x, y = rng.normal(0, 1, 200), rng.normal(1, 2, 300)
    ov = overlap_area(x, y)
    assert 0.0 < ov < 1.0
    assert overlap_area(y, x) == pytest.approx(ov, abs=1e-12)


def test_overlap_of_two_gaussians_matches_closed_form():
    """Equal-variance normals at distance delta overlap by 2 Phi(-delta / (2 sigma)).

    The KDE of a normal sample is close to a normal whose variance is widened by the
    kernel's, s^2 (1 + factor^2); the tolerance covers the sample's own noise.
    """
    rng = np.random.default_rng(8)
    x, y = rng.normal(0.0, 1.0, 3000), rng.normal(1.0, 1.0, 3000)
    sigma = math.sqrt(0.5 * (x.var(ddof=1) + y.var(ddof=1)) * (1 + 3000 ** (-2 / 5)))
    expected = 2 * _phi(-abs(y.mean() - x.mean()) / (2 * sigma))
    assert overlap_area(x, y) == pytest.approx(expected, abs=0.02)


def test_overlap_matches_brute_force_integral_of_scipy_pdfs():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(9)
    x, y = rng.normal(0.0, 1.0, 300), rng.normal(1.5, 0.7, 250)
    px, py = stats.gaussian_kde(x), stats.gaussian_kde(y)
    fine = np.linspace(min(x.min(), y.min()) - 10, max(x.max(), y.max()) + 10, 100_001)
    brute = np.trapezoid(np.minimum(px(fine), py(fine)), fine)
    assert overlap_area(x, y) == pytest.approx(brute, abs=1e-4)


def test_overlap_of_constant_samples():
    assert overlap_area([2.0, 2.0, 2.0], [2.0, 2.0]) == pytest.approx(1.0, abs=1e-12)
    assert overlap_area([0.0] * 5, [0.0]) == pytest.approx(1.0, abs=1e-12)
    assert overlap_area([2.0, 2.0], [5.0, 5.0]) == 0.0
    assert overlap_area([2.0, 2.0], [2.0001, 2.0001]) == pytest.approx(0.0, abs=1e-12)  # 50 bandwidths apart
    # a spike inside a broad density shares next to nothing with it
    assert overlap_area([0.3, 0.3], np.random.default_rng(10).normal(size=100)) < 1e-4


def test_overlap_edge_cases():
    assert math.isnan(overlap_area(np.empty(0), [1.0, 2.0]))
    assert math.isnan(overlap_area([1.0, 2.0], [np.nan]))
    x = np.array([0.0, 1.0, 3.0])
    grid = np.linspace(-5, 8, 2001)
    assert overlap_area(x, x, grid=grid) == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError, match="does not cover"):
        overlap_area(x, x, grid=np.linspace(100.0, 101.0, 10))
    with pytest.raises(ValueError, match="increasing"):
        overlap_area(x, x, grid=grid[::-1])


# --------------------------------------------------------------------------- KL


def test_kl_of_a_sample_with_itself_is_zero():
    x = np.random.default_rng(11).gamma(2.0, size=300)
    assert kl_divergence(x, x) == pytest.approx(0.0, abs=1e-12)


def test_kl_of_two_gaussians_matches_closed_form():
    """KL(N(0, s1^2) || N(0, s2^2)) = (s1^2/s2^2 - 1 - ln(s1^2/s2^2)) / 2 = 0.9175 for s1 = 0.5, s2 = 2.

    The KDE widens both variances by the same factor (equal n), which leaves the ratio alone.
    """
    rng = np.random.default_rng(12)
    p, q = rng.normal(0.0, 0.5, 3000), rng.normal(0.0, 2.0, 3000)
    r = p.var(ddof=1) / q.var(ddof=1)
    expected = 0.5 * (r - 1 - math.log(r))
    assert expected == pytest.approx(0.5 * (1 / 16 - 1 + math.log(16)), abs=0.03)
    assert kl_divergence(p, q) == pytest.approx(expected, abs=0.05)  # a KDE is not quite a Gaussian
    assert kl_divergence(q, p) > 3 * kl_divergence(p, q)  # not symmetric: q's mass where p has none


def test_kl_matches_brute_force_integral_of_scipy_pdfs():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(13)
    x, y = rng.normal(0.0, 1.0, 300), rng.normal(0.5, 1.5, 400)
    px, py = stats.gaussian_kde(x), stats.gaussian_kde(y)
    fine = np.linspace(min(x.min(), y.min()) - 8, max(x.max(), y.max()) + 8, 100_001)
    p, q = px(fine), py(fine)
    keep = p > 0
    integrand = np.zeros_like(p)
    integrand[keep] = p[keep] * np.log(p[keep] / q[keep])
    brute = np.trapezoid(integrand, fine)
    assert kl_divergence(x, y) == pytest.approx(brute, abs=1e-4)


def test_kl_sees_a_shift_that_mgevals_two_grid_kl_dist_misses():
    """MGEval's kl_dist evaluates each pdf on its own grid: a shifted copy gets KL 0. Ours does not."""
    stats = pytest.importorskip("scipy.stats")
    x = np.random.default_rng(14).normal(size=200)
    y = x + 10.0
    grid_x, grid_y = np.linspace(x.min(), x.max(), 1000), np.linspace(y.min(), y.max(), 1000)
    mgeval_kl = stats.entropy(stats.gaussian_kde(x)(grid_x), stats.gaussian_kde(y)(grid_y))
    assert mgeval_kl == pytest.approx(0.0, abs=1e-9)
    assert kl_divergence(x, y) > 20.0


def test_kl_stays_finite_with_the_documented_epsilon():
    rng = np.random.default_rng(15)
    far = kl_divergence(rng.normal(0, 1, 200), rng.normal(100, 1, 200))
    assert math.isfinite(far) and 20.0 < far < -math.log(1e-10) + 0.1
    # two distinct constants: ln(1 / KL_EPSILON) less half a nat (see kl_divergence)
    assert kl_divergence([2.0, 2.0], [5.0, 5.0]) == pytest.approx(-math.log(1e-10) - 0.5, abs=0.01)
    assert kl_divergence([0.0, 0.0], [0.0]) == pytest.approx(0.0, abs=1e-12)


def test_kl_edge_cases():
    assert math.isnan(kl_divergence(np.empty(0), [1.0, 2.0]))
    assert math.isnan(kl_divergence([1.0, 2.0], []))
    x = np.array([0.0, 1.0, 3.0])
    assert kl_divergence(x, x, grid=np.linspace(-5, 8, 2001)) == pytest.approx(0.0, abs=1e-12)


# --------------------------------------------------------------------------- MGEval


def test_mgeval_compare_by_hand():
    gen, ref = np.array([0.0, 1.0, 3.0]), np.array([0.0, 2.0])
    r = mgeval_compare(gen, ref)
    # intra A = {1, 3, 1, 2, 3, 2}: mean 2, population std sqrt(4/6)
    assert r.intra_a_mean == pytest.approx(2.0)
    assert r.intra_a_std == pytest.approx(math.sqrt(4 / 6))
    # intra B = {2, 2}
    assert r.intra_b_mean == pytest.approx(2.0)
    assert r.intra_b_std == pytest.approx(0.0)
    # inter = {0, 2, 1, 1, 3, 1}: mean 4/3, population std sqrt(((16 + 4 + 1 + 1 + 25 + 1) / 9) / 6)
    assert r.inter_mean == pytest.approx(4 / 3)
    assert r.inter_std == pytest.approx(math.sqrt((48 / 9) / 6))
    # overlap and KL are those of intra B against inter, on the result's grid
    intra_b, inter = np.array([2.0, 2.0]), np.array([0.0, 2.0, 1.0, 1.0, 3.0, 1.0])
    assert r.overlap == pytest.approx(overlap_area(intra_b, inter, grid=r.grid), abs=1e-12)
    assert r.kl == pytest.approx(kl_divergence(intra_b, inter, grid=r.grid), abs=1e-12)
    np.testing.assert_allclose(r.pdf_intra_b, gaussian_kde(intra_b)(r.grid))
    np.testing.assert_allclose(r.pdf_inter, gaussian_kde(inter)(r.grid))
    np.testing.assert_allclose(r.pdf_intra_a, gaussian_kde([1, 3, 1, 2, 3, 2])(r.grid))


def test_mgeval_result_arrays_and_summary():
    rng = np.random.default_rng(16)
    r = mgeval_compare(rng.random((30, 12)), rng.random((40, 12)), n_grid=200)
    assert isinstance(r, MGEvalResult)
    assert r.grid.ndim == 1 and np.all(np.diff(r.grid) > 0) and 200 <= r.grid.size <= 800
    for pdf in (r.pdf_intra_a, r.pdf_intra_b, r.pdf_inter):
        assert pdf.shape == r.grid.shape
        assert np.trapezoid(pdf, r.grid) == pytest.approx(1.0, abs=5e-3)
    s = r.summary()
    assert list(s) == SUMMARY_KEYS
    assert all(type(v) is float for v in s.values())
    assert s["overlap"] == r.overlap and s["kl"] == r.kl


def test_mgeval_same_distribution_versus_mode_collapse():
    rng = np.random.default_rng(17)
    ref = rng.normal(60.0, 5.0, 150)
    like = mgeval_compare(rng.normal(60.0, 5.0, 120), ref)
    assert like.overlap > 0.85 and like.kl < 0.1
    assert like.inter_mean == pytest.approx(like.intra_b_mean, rel=0.15)
    collapsed = mgeval_compare(np.full(120, 60.0), ref)  # every piece the same
    assert collapsed.intra_a_mean == 0.0 and collapsed.intra_a_std == 0.0
    assert collapsed.overlap < like.overlap and collapsed.kl > like.kl
    shifted = mgeval_compare(rng.normal(100.0, 5.0, 120), ref)  # 8 standard deviations away
    assert shifted.overlap < 0.05 and shifted.kl > 2.0


def test_mgeval_constant_features():
    same = mgeval_compare(np.full(10, 8.0), np.full(12, 8.0))  # e.g. every piece has 8 bars
    assert same.summary() == pytest.approx(
        {
            "intra_a_mean": 0.0,
            "intra_a_std": 0.0,
            "intra_b_mean": 0.0,
            "intra_b_std": 0.0,
            "inter_mean": 0.0,
            "inter_std": 0.0,
            "overlap": 1.0,
            "kl": 0.0,
        },
        abs=1e-12,
    )
    apart = mgeval_compare(np.full(10, 9.0), np.full(12, 8.0))
    assert apart.inter_mean == 1.0 and apart.inter_std == 0.0
    assert apart.overlap == 0.0
    assert apart.kl == pytest.approx(-math.log(1e-10) - 0.5, abs=0.01)
    assert np.isfinite(apart.pdf_inter).all()


def test_mgeval_too_few_pieces_gives_nan_not_an_exception():
    ref = np.array([0.0, 2.0, 5.0])
    one_gen = mgeval_compare(np.array([1.0, np.nan]), ref)  # one defined generated piece
    assert math.isnan(one_gen.intra_a_mean) and math.isnan(one_gen.intra_a_std)
    assert np.isnan(one_gen.pdf_intra_a).all() and one_gen.pdf_intra_a.shape == one_gen.grid.shape
    assert one_gen.inter_mean == pytest.approx(2.0)  # distances 1, 1, 4
    assert 0.0 <= one_gen.overlap <= 1.0 and math.isfinite(one_gen.kl)

    one_ref = mgeval_compare(np.array([0.0, 1.0]), np.array([3.0]))
    assert math.isnan(one_ref.intra_b_mean) and math.isnan(one_ref.overlap) and math.isnan(one_ref.kl)
    assert one_ref.intra_a_mean == 1.0 and one_ref.inter_mean == 2.5

    nothing = mgeval_compare(np.empty(0), np.array([np.nan]))
    assert all(math.isnan(v) for v in nothing.summary().values())
    assert nothing.grid.size == 0 and nothing.pdf_inter.size == 0


def test_mgeval_drops_undefined_pieces():
    with_nan = mgeval_compare(np.array([0.0, np.nan, 1.0, 3.0]), np.array([np.nan, 0.0, 2.0]))
    without = mgeval_compare(np.array([0.0, 1.0, 3.0]), np.array([0.0, 2.0]))
    assert with_nan.summary() == without.summary()


# --------------------------------------------------------------------------- Fréchet


def test_frechet_one_dimensional_by_hand():
    # a = [0, 2]: mean 1, var(ddof=1) 2; b = [3, 5, 7]: mean 5, var 4
    expected = (1 - 5) ** 2 + (math.sqrt(2) - 2) ** 2  # = 22 - 4 sqrt(2)
    assert expected == pytest.approx(22 - 4 * math.sqrt(2))
    assert frechet_distance(np.array([0.0, 2.0]), np.array([3.0, 5.0, 7.0])) == pytest.approx(expected)
    as_columns = frechet_distance(np.array([[0.0], [2.0]]), np.array([[3.0], [5.0], [7.0]]))
    assert as_columns == pytest.approx(expected)


def test_frechet_diagonal_two_dimensional_by_hand():
    a = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]])  # mean 0, cov diag(2/3, 8/3)
    b = 2.0 * a + np.array([3.0, 4.0])  # mean (3, 4), cov diag(8/3, 32/3)
    # 25 + (sqrt(2/3) - sqrt(8/3))^2 + (sqrt(8/3) - sqrt(32/3))^2 = 25 + 2/3 + 8/3
    assert frechet_distance(a, b) == pytest.approx(25.0 + 10.0 / 3.0, rel=1e-12)
    assert frechet_distance(b, a) == pytest.approx(25.0 + 10.0 / 3.0, rel=1e-12)


def test_frechet_of_a_set_with_itself_is_zero_and_rotation_invariant():
    rng = np.random.default_rng(18)
    a = rng.normal(size=(50, 4)) @ rng.normal(size=(4, 4))
    b = rng.normal(1.0, 2.0, size=(60, 4))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    rot, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    assert frechet_distance(a @ rot, b @ rot) == pytest.approx(frechet_distance(a, b), rel=1e-9)


def _fid_reference(a: np.ndarray, b: np.ndarray) -> float:
    """The FID reference code's formula, with scipy.linalg.sqrtm of the non-symmetric product."""
    linalg = pytest.importorskip("scipy.linalg")
    mu1, mu2 = a.mean(axis=0), b.mean(axis=0)
    s1, s2 = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    covmean = np.real(linalg.sqrtm(s1 @ s2))
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@pytest.mark.parametrize("d", [1, 3, 12])
def test_frechet_matches_scipy_sqrtm(d):
    rng = np.random.default_rng(19 + d)
    a = rng.normal(size=(80, d)) @ rng.normal(size=(d, d))
    b = rng.normal(0.5, 1.0, size=(70, d)) @ rng.normal(size=(d, d))
    assert frechet_distance(a, b) == pytest.approx(_fid_reference(a, b), rel=1e-8)


def test_frechet_edge_cases():
    a = np.array([[0.0, 1.0], [np.nan, 1.0], [2.0, 3.0], [1.0, 5.0]])
    assert frechet_distance(a, a[[0, 2, 3]]) == pytest.approx(0.0, abs=1e-12)  # NaN row dropped
    assert math.isnan(frechet_distance(np.array([[1.0, 2.0]]), a[[0, 2, 3]]))  # one row: no covariance
    assert math.isnan(frechet_distance(a[[0, 1]], a[[0, 2, 3]]))  # one defined row
    with pytest.raises(ValueError, match="dimensions differ"):
        frechet_distance(np.zeros((3, 2)), np.zeros((3, 3)))
    # more dimensions than rows: singular covariances, still >= 0 and finite
    rng = np.random.default_rng(20)
    fd = frechet_distance(rng.normal(size=(3, 12)), rng.normal(size=(4, 12)))
    assert math.isfinite(fd) and fd >= 0.0


# --------------------------------------------------------------------------- normalized deviation


def test_normalized_deviations_by_hand():
    gen, train, naive = {"x": 5.0, "y": 1.0}, {"x": 4.0, "y": 0.0}, {"x": 8.0, "y": -2.0}
    assert normalized_deviations(gen, train, naive, ["x", "y"]) == pytest.approx({"x": 0.25, "y": 0.5})
    assert normalized_deviations(gen, train, naive, "y") == pytest.approx({"y": 0.5})  # one key as a string
    # the floor (the evaluate stage's real-against-real spread) bounds a tiny denominator:
    # noise 0.0085 from the data (Erk's diversity) made 0.09 / 0.0085 = 10.6 on one key
    got = normalized_deviations({"d": 0.9}, {"d": 0.99}, {"d": 0.9985}, ["d"], floor={"d": 0.045})
    assert got["d"] == pytest.approx(0.09 / 0.045)
    assert normalized_deviations({"d": 0.9}, {"d": 0.99}, {"d": 0.9985}, ["d"])["d"] == pytest.approx(
        0.09 / 0.0085
    )


def test_normalized_deviation_skips_undefined_keys():
    gen = {"a": 5.0, "b": None, "c": 1.0, "d": 3.0, "e": float("nan")}
    train = {"a": 4.0, "b": 1.0, "c": 2.0, "d": 3.0, "e": 0.0}
    naive = {"a": 8.0, "b": 2.0, "c": 2.0, "d": 9.0, "e": 1.0}
    per_key = normalized_deviations(gen, train, naive, ["a", "b", "c", "d", "e", "missing"])
    assert list(per_key) == ["a", "b", "c", "d", "e", "missing"]
    assert per_key["a"] == pytest.approx(0.25)
    assert per_key["d"] == 0.0
    assert all(math.isnan(per_key[k]) for k in ("b", "c", "e", "missing"))  # None, naive == training, NaN
