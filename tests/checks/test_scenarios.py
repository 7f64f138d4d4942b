"""The scenario suite, fast: real flights, injected drifts detected, controls quiet.

The full table (500 / 5,000 / 50,000 rows, Evidently beside) is
``python -m bench.scenarios``; this asserts the same properties on fewer windows.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from bench import flights as F
from mlmon_elk.contract import Check, Status, Transition
from mlmon_elk.results.alerts import AlertKey, OpenAlert, transitions

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


@pytest.mark.parametrize("scenario", F.SCENARIOS, ids=lambda s: f"{s.check}({s.feature})")
def test_every_injected_scenario_is_detected_at_5000_rows(data, scenario) -> None:
    """Each drift, at its stated magnitude, fires its check in every window of 5,000 rows
    (the slow drift: a notice, never an alert)."""
    rng = np.random.default_rng(7)
    for _ in range(SCENARIO_WINDOWS):
        window = scenario.inject(data, F.sample(data, 5_000, rng), rng)
        results = F.check(data, window)
        assert F.caught(results, scenario), [
            r.summary for w in results for r in w.results if r.feature == scenario.feature
        ]
        if scenario.expect is Status.NOTICE:
            # A slow drift alerts nowhere. The one alert a window may hold is a
            # real event, not drift: the pool has 3 flights of carrier "OO", a
            # value none of the 83,079 reference rows had, and 2 of them in one
            # window are a new value in a closed vocabulary (p = 0.00091).
            alerts = {(r.check, r.feature) for w in results for r in w.results if r.status.is_alert}
            assert alerts <= {(Check.UNSEEN_CATEGORIES, "carrier")}, alerts


def test_coded_and_closed_vocabulary_messages_name_the_values(data) -> None:
    """Unseen hour codes and the new origin are named with their counts."""
    rng = np.random.default_rng(8)
    codes = next(
        s for s in F.SCENARIOS if s.feature == "hour" and s.check is Check.UNSEEN_CATEGORIES
    )
    results = F.check(data, codes.inject(data, F.sample(data, 5_000, rng), rng))
    (unseen,) = [
        r
        for w in results
        for r in w.results
        if r.feature == "hour" and r.check is Check.UNSEEN_CATEGORIES
    ]
    assert unseen.summary.startswith("new values in a closed vocabulary of")
    assert re.search(r'"3\d" ×\d+', unseen.summary), unseen.summary
    assert not [
        r
        for w in results
        for r in w.results
        if r.check is Check.TYPE_MISMATCH and r.status.is_alert
    ]
    results = F.check(data, F.new_origin(0.01)(data, F.sample(data, 5_000, rng), rng))
    (origin,) = [
        r
        for w in results
        for r in w.results
        if r.feature == "origin" and r.check is Check.UNSEEN_CATEGORIES
    ]
    assert origin.status.is_alert
    assert re.search(r'"SWF" ×\d+', origin.summary), origin.summary


def test_an_alternating_new_value_pages_once(data) -> None:
    """A new origin in every other 5,000-row window for 20 windows: one ``new`` alert, no
    ``resolved`` in between (hysteresis), where the plain rule would flap ten times."""
    rng = np.random.default_rng(9)
    state: dict[AlertKey, OpenAlert] = {}
    written: list[Transition] = []
    for i in range(20):
        window = F.sample(data, 5_000, rng)
        if i % 2 == 0:
            window = F.new_origin(0.01)(data, window, rng)
        for event in transitions(F.check(data, window), state):
            if event.key.feature == "origin":
                written.append(event.transition)
            if event.open is None:
                state.pop(event.key, None)
            else:
                state[event.key] = event.open
    assert written.count(Transition.NEW) == 1
    assert Transition.RESOLVED not in written
