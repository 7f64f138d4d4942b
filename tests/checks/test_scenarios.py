"""The scenario suite, fast: real flights, injected drifts detected, controls quiet.

The full table (500 / 5,000 / 50,000 rows, Evidently beside) is
``python -m bench.scenarios``; this asserts the same properties on fewer windows.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench import flights as F

CONTROL_WINDOWS = 25
SCENARIO_WINDOWS = 8


@pytest.fixture(scope="module")
def data() -> F.Flights:
    return F.load(seed=0)


@pytest.mark.parametrize("n", [500, 5_000])
def test_no_drift_windows_raise_at_most_one_alarm_per_thousand(data, n) -> None:
    """Random windows from the reference period (never seen by the baseline) stay quiet."""
    rng = np.random.default_rng(n)
    alerts = total = 0
    messages: list[str] = []
    for _ in range(CONTROL_WINDOWS):
        a, k, m = F.feature_alerts(F.check(data, F.sample(data, n, rng)))
        alerts, total, messages = alerts + a, total + k, messages + m
    assert total >= 1_000
    assert alerts / total <= 1 / 1_000, messages


@pytest.mark.parametrize("scenario", F.SCENARIOS, ids=lambda s: s.check)
def test_every_injected_scenario_is_detected_at_5000_rows(data, scenario) -> None:
    """Each drift, at its stated magnitude, fires its check in every window of 5,000 rows."""
    rng = np.random.default_rng(7)
    for _ in range(SCENARIO_WINDOWS):
        window = scenario.inject(data, F.sample(data, 5_000, rng), rng)
        assert F.fired(F.check(data, window), scenario.feature, scenario.check)
