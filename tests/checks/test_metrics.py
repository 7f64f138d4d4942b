"""The metric conventions and tests of DESIGN.md §5."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from mlmon_elk.checks import metrics


def test_js_distance_is_base_2_and_matches_scipy() -> None:
    """Jensen–Shannon distance in base 2 lies in [0, 1]; disjoint distributions give 1."""
    e, a = np.array([0.2, 0.3, 0.5]), np.array([0.5, 0.4, 0.1])
    assert float(metrics.js_distance(e, a)) == pytest.approx(jensenshannon(e, a, base=2))
    assert float(metrics.js_distance([1, 0], [0, 1])) == pytest.approx(1.0)


def test_linf_and_binned_ks() -> None:
    """L∞ is the largest bin change; binned KS the largest CDF gap at the edges."""
    e, a = [0.25, 0.25, 0.5], [0.45, 0.25, 0.3]
    assert float(metrics.linf(e, a)) == pytest.approx(0.2)
    assert float(metrics.binned_ks(e, a)) == pytest.approx(0.2)


def test_chi2_two_sample_matches_a_contingency_table() -> None:
    """The two-sample χ² equals scipy's contingency test of window vs baseline counts."""
    shares, ref_n, window = np.array([0.2, 0.3, 0.5]), 1000, np.array([30, 25, 45])
    stat, df, p = metrics.chi2_homogeneity(shares, ref_n, window)
    table = np.vstack([window, shares * ref_n])
    expected = stats.chi2_contingency(table, correction=False)
    assert stat == pytest.approx(expected.statistic)
    assert df == expected.dof
    assert p == pytest.approx(expected.pvalue)


def test_rate_rise_uses_exact_tails() -> None:
    """Three unseen values in 5,000 rows against zero in 80,000 is not 'p = 1e-12'."""
    p = metrics.rate_rise_pvalue(3, 5_000, 0.0, 80_000)
    assert p == pytest.approx((5_000 / 85_000) ** 3, rel=0.01)
    assert metrics.rate_rise_pvalue(5, 100, 0.01) == pytest.approx(stats.binom.sf(4, 100, 0.01))
    assert metrics.rate_rise_pvalue(0, 100, 0.5) == 1.0


def test_holm_adjusts_step_down_and_never_beats_raw() -> None:
    """Holm: sorted p-values times (m − rank + 1), made monotone, capped at 1."""
    adjusted = metrics.holm([0.01, 0.04, 0.03, 0.5])
    assert adjusted == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert metrics.holm([]) == []


def _fewest_rejected(n: int, m: int, alpha: float) -> int:
    """k*: the fewest window hits the zero-rate test rejects at ``alpha`` (reference 0 of m)."""
    return next(k for k in range(1, n + 1) if metrics.zero_rate_pvalue(k, n, m) <= alpha)


def test_two_in_5000_is_a_break_against_83079_clean_rows_and_two_in_50000_is_not() -> None:
    """The flights reference: 2 of 5,000 gives p ≈ 0.9e-3 ≤ 0.001; the same 2 in 50,000 rows
    (or 1 in 500) is what a rate of a few in 100,000 looks like, so it is not."""
    assert metrics.zero_rate_pvalue(2, 5_000, 83_079) == pytest.approx(0.906e-3, rel=0.01)
    assert metrics.zero_rate_pvalue(2, 5_000, 83_079) <= 0.001
    assert metrics.zero_rate_pvalue(2, 50_000, 83_079) > 0.001
    assert metrics.zero_rate_pvalue(1, 500, 83_079) > 0.001
    assert _fewest_rejected(50_000, 83_079, 0.001) == 6  # a bigger window needs more
    assert metrics.zero_rate_pvalue(0, 5_000, 83_079) == 1.0
    assert metrics.zero_rate_pvalue(3, 5_000, 0) == 1.0  # no reference: no evidence


@pytest.mark.parametrize(("k", "n", "m"), [(2, 5_000, 83_079), (6, 50_000, 83_079), (3, 40, 900)])
def test_zero_rate_pvalue_is_the_supremum_over_the_unknown_rate(k: int, n: int, m: int) -> None:
    """It equals the largest P(window ≥ k) · P(reference = 0) that scipy finds over r."""
    grid = np.geomspace(1e-9, 0.5, 200_001)
    product = stats.binom.sf(k - 1, n, grid) * stats.binom.pmf(0, m, grid)
    assert metrics.zero_rate_pvalue(k, n, m) == pytest.approx(product.max(), rel=1e-4)
    assert metrics.zero_rate_pvalue(k, n, m) >= product.max() * (1 - 1e-9)


@pytest.mark.parametrize("n", [500, 5_000, 50_000])
@pytest.mark.parametrize("m", [2_000, 83_000])
def test_zero_rate_test_never_rejects_more_often_than_its_level(n: int, m: int) -> None:
    """Exact size: P(reference = 0 and window ≥ k*) over a dense grid of true rates, from
    scipy's binomial, stays ≤ alpha at every rate — and rejecting one hit fewer would not
    (k* is the fewest hits the level allows)."""
    alpha = 0.001
    k = _fewest_rejected(n, m, alpha)
    rates = np.geomspace(1e-9, 0.2, 100_001)
    clean = stats.binom.pmf(0, m, rates)
    assert (clean * stats.binom.sf(k - 1, n, rates)).max() <= alpha
    if k > 1:
        assert (clean * stats.binom.sf(k - 2, n, rates)).max() > alpha


def test_zero_rate_test_size_by_simulation_at_the_worst_rate() -> None:
    """Monte Carlo: 2,000,000 pairs (reference 83,000 rows, window 5,000) drawn at the rate
    where rejection is likeliest reject at most 0.001 of the time (within sampling error)."""
    n, m, alpha = 5_000, 83_000, 0.001
    k = _fewest_rejected(n, m, alpha)
    rates = np.geomspace(1e-7, 1e-3, 4_001)
    worst = rates[np.argmax(stats.binom.pmf(0, m, rates) * stats.binom.sf(k - 1, n, rates))]
    rng = np.random.default_rng(7)
    draws = 2_000_000
    rejected = (rng.binomial(m, worst, draws) == 0) & (rng.binomial(n, worst, draws) >= k)
    assert rejected.mean() <= alpha + 3 * np.sqrt(alpha / draws)
