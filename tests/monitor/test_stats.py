"""Drift statistics agree with scipy and handle ties, empty bins and new categories."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from scipy.spatial import distance as scipy_distance

from flightlog.monitor import stats


@pytest.mark.parametrize(
    ("reference_rows", "current_rows", "rounding"),
    [
        (50, 80, None),
        (800, 600, 1),
        (3_000, 3_000, None),
        (12_000, 15_000, None),
        (20_000, 11_000, 2),
    ],
)
def test_ks_and_wasserstein_match_scipy(
    reference_rows: int, current_rows: int, rounding: int | None
) -> None:
    """Statistic, p-value and Wasserstein equal scipy's, with and without tied values."""
    rng = np.random.default_rng(reference_rows)
    reference = rng.normal(size=reference_rows)
    current = rng.normal(0.05, 1.1, size=current_rows)
    if rounding is not None:
        reference, current = np.round(reference, rounding), np.round(current, rounding)
    result = stats.ks_and_wasserstein(np.sort(reference), np.sort(current))
    exact = max(reference_rows, current_rows) <= stats.KS_EXACT_MAX_ROWS
    expected = scipy_stats.ks_2samp(reference, current, method="auto" if exact else "asymp")
    assert result.statistic == pytest.approx(expected.statistic, abs=1e-12)
    if exact:
        assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    else:
        assert result.p_value == pytest.approx(expected.pvalue, abs=0.0015)
    assert result.wasserstein == pytest.approx(
        scipy_stats.wasserstein_distance(reference, current), rel=1e-9
    )


@pytest.mark.parametrize("effective_n", [10_000, 60_000, 500_000])
def test_kolmogorov_p_value_tracks_scipys_asymptotic_one(effective_n: int) -> None:
    """Within 0.0015 of scipy's kstwo from no difference to p ~ 1e-8 (where kstwo is slow)."""
    root = effective_n**0.5
    for scaled in (0.3, 0.6, 0.9, 1.2, 1.36, 1.6, 2.0, 3.0, 3.5):
        statistic = scaled / root
        expected = scipy_stats.kstwo.sf(statistic, effective_n)
        got = stats.kolmogorov_p_value(statistic, effective_n)
        assert got == pytest.approx(expected, abs=0.0015), (scaled, got, expected)
        assert 0.0 <= got <= 1.0


def test_ks_of_empty_sample_is_nan() -> None:
    """A side without values yields NaN rather than an exception."""
    result = stats.ks_and_wasserstein(np.array([1.0, 2.0]), np.array([]))
    assert np.isnan(result.statistic) and np.isnan(result.p_value)


def test_quantile_edges_match_numpy_quantile() -> None:
    """Edges are numpy's default-interpolated quantiles of the reference."""
    values = np.sort(np.random.default_rng(3).exponential(size=1_001))
    expected = np.quantile(values, np.linspace(0, 1, 11)[1:-1])
    np.testing.assert_allclose(stats.quantile_edges(values, 10), expected)


def test_quantile_edges_collapse_ties() -> None:
    """A feature that is mostly zero gets fewer, distinct edges instead of empty bins."""
    values = np.sort(np.concatenate([np.zeros(900), np.arange(1, 101, dtype=float)]))
    edges = stats.quantile_edges(values, 10)
    assert len(edges) == len(set(edges.tolist())) < 9
    counts = stats.bin_counts(values, edges)
    assert counts.sum() == values.size
    assert stats.psi(counts, counts) == 0.0


def test_bin_counts_use_right_closed_bins() -> None:
    """A value equal to an edge falls in the bin that the edge closes."""
    counts = stats.bin_counts(np.array([0.0, 1.0, 1.0, 2.0, 3.0]), np.array([1.0, 2.0]))
    assert counts.tolist() == [3, 1, 1]


def test_psi_matches_formula_and_floors_empty_bins() -> None:
    """PSI is sum((q-p) ln(q/p)) with empty bins floored at epsilon, so it stays finite."""
    reference = np.array([50.0, 30.0, 20.0, 0.0])
    current = np.array([40.0, 30.0, 20.0, 10.0])
    p = np.maximum(reference / 100, stats.PSI_EPSILON)
    q = np.maximum(current / 100, stats.PSI_EPSILON)
    assert stats.psi(reference, current) == pytest.approx(float(np.sum((q - p) * np.log(q / p))))
    assert np.isfinite(stats.psi(reference, current))


def test_jensen_shannon_matches_scipy_base_2() -> None:
    """The distance is scipy's jensenshannon with base 2 and is 1 for disjoint supports."""
    reference, current = np.array([10.0, 20.0, 70.0]), np.array([30.0, 30.0, 40.0])
    assert stats.jensen_shannon_distance(reference, current) == pytest.approx(
        scipy_distance.jensenshannon(reference / 100, current / 100, base=2)
    )
    assert stats.jensen_shannon_distance(
        np.array([1.0, 0.0]), np.array([0.0, 1.0])
    ) == pytest.approx(1.0)


def test_chi_square_matches_scipy_and_includes_new_categories() -> None:
    """The 2 x K homogeneity test equals scipy's chi2_contingency (no continuity correction)."""
    categories, reference, current = stats.aligned_counts(
        {"a": 40, "b": 60}, {"a": 30, "b": 50, "c": 20}
    )
    assert categories == ["a", "b", "c"]
    statistic, p_value = stats.chi_square(reference, current)
    expected = scipy_stats.chi2_contingency(np.array([[40, 60, 0], [30, 50, 20]]), correction=False)
    assert statistic == pytest.approx(expected.statistic)
    assert p_value == pytest.approx(expected.pvalue)


def test_chi_square_of_single_category_is_no_difference() -> None:
    """Both samples holding one and the same category cannot differ."""
    assert stats.chi_square(np.array([5.0]), np.array([7.0])) == (0.0, 1.0)


_small_floats = st.lists(st.integers(-20, 20).map(lambda v: v / 4), min_size=1, max_size=60)


@pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful:RuntimeWarning")
@settings(max_examples=150, deadline=None)
@given(_small_floats, _small_floats)
def test_ks_and_wasserstein_agree_with_scipy_on_any_sample(
    reference: list[float], current: list[float]
) -> None:
    """Arbitrary small samples full of ties give scipy's KS statistic, p-value and W1."""
    result = stats.ks_and_wasserstein(np.sort(reference), np.sort(current))
    expected = scipy_stats.ks_2samp(reference, current)
    assert result.statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-12)
    assert result.wasserstein == pytest.approx(
        scipy_stats.wasserstein_distance(reference, current), abs=1e-12
    )


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=2, max_size=8))
def test_psi_of_identical_counts_is_zero_and_symmetric_pairs_positive(counts: list[int]) -> None:
    """PSI is 0 against itself and never negative."""
    array = np.array(counts, dtype=float)
    if array.sum() == 0:
        return
    assert stats.psi(array, array) == pytest.approx(0.0, abs=1e-12)
    assert stats.psi(array, array[::-1]) >= -1e-12


@pytest.mark.parametrize("offset", [0.0, 1.7e9])
def test_standard_deviation_matches_numpy_even_far_from_zero(offset: float) -> None:
    """The median-shifted one-pass formula equals np.std, also for timestamp-like values."""
    values = np.sort(np.random.default_rng(4).normal(offset, 2.5, 10_001))
    assert stats.standard_deviation(values) == pytest.approx(float(np.std(values)), rel=1e-9)


def test_histogram_quantiles_agree_with_the_scalar_promql_version() -> None:
    """The vectorised quantile equals flightlog.monitor.slo.histogram_quantile row by row."""
    import math

    from flightlog.monitor.slo import histogram_quantile

    bounds = np.array([0.05, 0.1, 0.25, 0.5, math.inf])
    rows = np.array(
        [[50, 80, 95, 99, 100], [0, 0, 0, 0, 0], [0, 0, 10, 10, 10], [1, 1, 1, 1, 30]], dtype=float
    )
    for q in (0.25, 0.5, 0.95, 0.99):
        vectorised = stats.histogram_quantiles(rows, bounds, q)
        for row, value in zip(rows, vectorised, strict=True):
            expected = histogram_quantile(q, list(zip(bounds.tolist(), row.tolist(), strict=True)))
            if math.isnan(expected):
                assert math.isnan(value)
            else:
                assert value == pytest.approx(expected)


def test_thinned_ks_and_wasserstein_stay_within_the_documented_bound() -> None:
    """With max_rows, the statistic is within 2/max_rows of scipy's exact one; p uses full sizes."""
    rng = np.random.default_rng(8)
    reference, current = rng.normal(0, 1, 100_000), rng.normal(0.01, 1, 120_000)
    thinned = stats.ks_and_wasserstein(np.sort(reference), np.sort(current), max_rows=20_000)
    exact = scipy_stats.ks_2samp(reference, current, method="asymp")
    assert abs(thinned.statistic - exact.statistic) <= 2 / 20_000 + 2 / 100_000
    assert thinned.p_value == pytest.approx(exact.pvalue, abs=0.05)
    assert thinned.wasserstein == pytest.approx(
        scipy_stats.wasserstein_distance(reference, current), rel=0.02
    )
    assert stats.thin_sorted(np.arange(10.0), 20).size == 10
    with pytest.raises(ValueError, match="max_rows"):
        stats.ks_and_wasserstein(np.arange(3.0), np.arange(3.0), max_rows=5)
