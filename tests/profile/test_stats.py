"""PSI and the calibrated bounds: the statistics the calibration shares with the checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from mlmon_elk.profile import stats


def test_psi_clips_proportions_at_1e4() -> None:
    """PSI = Σ (a−e)·ln(a/e) with both proportions floored at 1e-4."""
    e, a = [0.5, 0.5, 0.0], [0.4, 0.5, 0.1]
    expected = (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.1 - 1e-4) * math.log(0.1 / 1e-4)
    assert float(stats.psi(e, a)) == pytest.approx(expected)
    assert float(stats.psi(e, e)) == 0.0


def test_psi_broadcasts_over_windows() -> None:
    """Many windows are scored in one call (the calibration relies on it)."""
    e = [0.5, 0.5]
    windows = np.array([[0.5, 0.5], [0.6, 0.4], [0.4, 0.6]])
    assert stats.psi(e, windows).shape == (3,)


def test_scaled_chi2_upper_recovers_a_chi2_tail() -> None:
    """Moment-matching resampled χ²/n values recovers the true 0.1% quantile."""
    rng = np.random.default_rng(0)
    values = rng.chisquare(9, size=5_000) / 1000
    assert stats.scaled_chi2_upper(values, 0.001) == pytest.approx(
        scipy_stats.chi2.isf(0.001, 9) / 1000, rel=0.1
    )
    assert stats.scaled_chi2_upper(np.zeros(10), 0.001) == 0.0


def test_normal_upper_is_mean_plus_z_sd() -> None:
    """Rate rises get mean + z(1 − tail)·sd."""
    values = np.array([-1.0, 0.0, 1.0])
    assert stats.normal_upper(values, 0.001) == pytest.approx(scipy_stats.norm.isf(0.001))
