"""Thresholds: the minimum effect, raised to the baseline's calibrated natural variation.

A baseline calibrated at window sizes ``n1 < n2 < …`` stores, per check, the
value its metric exceeds on no-drift windows with probability ``tail``. For a
window of ``n`` rows the upper bound is interpolated linearly in ``log n``
(the bound shrinks with ``n`` and is convex in ``log n``, so the chord lies
above it: conservative); above the largest calibrated size the last value holds
(also conservative); below the smallest it grows like ``1/n``, the PSI rate
(faster than the ``1/√n`` of rates, so again conservative).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from mlmon_elk.checks.settings import CheckSettings
from mlmon_elk.contract import Check
from mlmon_elk.profile.baseline import Calibration, FeatureProfile


def calibrated_upper(calibration: Calibration, n: int) -> float | None:
    """The calibrated no-drift upper bound of the metric for a window of ``n`` rows."""
    points = sorted(calibration.upper)
    if not points or n <= 0:
        return None
    if n <= points[0][0]:
        size, value = points[0]
        return value * size / n if value > 0 else value
    if n >= points[-1][0]:
        return points[-1][1]
    for (n0, v0), (n1, v1) in itertools.pairwise(points):
        if n0 <= n <= n1:
            t = (math.log(n) - math.log(n0)) / (math.log(n1) - math.log(n0))
            return v0 + t * (v1 - v0)
    return points[-1][1]  # pragma: no cover - the loop always finds the interval


def threshold(
    feature: FeatureProfile,
    check: Check,
    minimum: float,
    n: int,
    settings: CheckSettings,
) -> tuple[float, dict[str, Any]]:
    """``max(minimum, calibrated upper at n)`` and the context saying which applied."""
    cal = feature.calibration.get(check) if settings.use_calibration else None
    upper = calibrated_upper(cal, n) if cal is not None else None
    if upper is not None and upper > minimum:
        return upper, {"threshold_from": "calibration", "minimum_effect": minimum}
    context: dict[str, Any] = {"threshold_from": "minimum_effect"}
    if upper is not None:
        context["calibrated"] = upper
    return minimum, context
