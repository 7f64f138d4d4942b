"""Calibrated thresholds are interpolated on log n and never below the minimum effect."""

from __future__ import annotations

import math

import pytest

from mlmon_elk.checks.settings import CheckSettings
from mlmon_elk.checks.thresholds import calibrated_upper, threshold
from mlmon_elk.contract import Check, Kind, Role
from mlmon_elk.profile.baseline import Calibration, FeatureProfile, NumericProfile

CAL = Calibration(metric="psi", upper=((1000, 0.2), (10_000, 0.02)), tail=0.001)


def test_interpolates_linearly_in_log_n() -> None:
    """Half-way in log n between two sizes is half-way in value."""
    assert calibrated_upper(CAL, round(math.sqrt(1000 * 10_000))) == pytest.approx(0.11, abs=1e-3)


def test_holds_above_and_grows_like_1_over_n_below() -> None:
    """Beyond the largest size the last bound holds; below the smallest it scales by n0/n."""
    assert calibrated_upper(CAL, 1_000_000) == pytest.approx(0.02)
    assert calibrated_upper(CAL, 500) == pytest.approx(0.4)


def test_threshold_is_the_larger_of_minimum_and_calibration() -> None:
    """The minimum effect applies when calibration is below it or switched off."""
    feature = FeatureProfile(
        "x",
        Role.INPUT,
        Kind.NUM,
        1.0,
        0.0,
        numeric=NumericProfile((0.0,), (0.5, 0.5), -1, 1, 0, 1),
        calibration={Check.NUMERIC_DRIFT: CAL},
    )
    settings = CheckSettings()
    assert threshold(feature, Check.NUMERIC_DRIFT, 0.1, 1000, settings)[0] == pytest.approx(0.2)
    assert threshold(feature, Check.NUMERIC_DRIFT, 0.1, 10_000, settings)[0] == 0.1
    off = CheckSettings(use_calibration=False)
    assert threshold(feature, Check.NUMERIC_DRIFT, 0.1, 1000, off)[0] == 0.1
