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
