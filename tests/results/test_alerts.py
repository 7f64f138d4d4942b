"""Alert transitions: new, escalated, ongoing, recovering, resolved — with hysteresis."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from mlmon_elk.checks.result import CheckResult, WindowResult
from mlmon_elk.checks.settings import CheckSettings
from mlmon_elk.contract import Check, Role, Status, Transition
from mlmon_elk.results.alerts import (
    AlertKey,
    AlertState,
    OpenAlert,
    alert_state,
    fold_latest,
    transitions,
)
from mlmon_elk.results.documents import alert_document

START = datetime(2024, 5, 1, 12, tzinfo=UTC)


def window(*results: CheckResult, version: str | None = "1.0") -> WindowResult:
    return WindowResult("credit", version, START, START + timedelta(minutes=5), 500, results)


def result(
    status: Status,
    feature: str = "marital",
    check: Check = Check.CATEGORY_SHIFT,
    value: float = 0.3,
) -> CheckResult:
    return CheckResult(
        check, status, "psi", value=value, threshold=0.1, feature=feature, role=Role.INPUT
    )


KEY = AlertKey("credit", "1.0", "category_shift", "input", "marital")
WARN = OpenAlert(Status.WARNING)
CRIT = OpenAlert(Status.CRITICAL)


def test_a_first_alerting_result_is_new_and_a_repeated_one_ongoing() -> None:
    """warning with nothing open → new; warning while open → ongoing."""
    (event,) = transitions([window(result(Status.WARNING))], {})
    assert (event.key, event.transition, event.severity) == (KEY, Transition.NEW, Status.WARNING)
    (event,) = transitions([window(result(Status.WARNING))], {KEY: WARN})
    assert (event.transition, event.severity) == (Transition.ONGOING, Status.WARNING)


def test_warning_to_critical_is_an_escalation_and_severity_never_drops_while_open() -> None:
    """critical over an open warning → escalated; warning over a critical stays critical."""
    (event,) = transitions([window(result(Status.CRITICAL))], {KEY: WARN})
    assert (event.transition, event.severity) == (Transition.ESCALATED, Status.CRITICAL)
    (event,) = transitions([window(result(Status.WARNING))], {KEY: CRIT})
    assert (event.transition, event.severity) == (Transition.ONGOING, Status.CRITICAL)


def test_resolving_takes_resolve_after_clear_windows_in_a_row() -> None:
    """ok → recovering (1, 2 of 3 clear windows), the third resolves with the old severity."""
    state = {KEY: CRIT}
    seen = []
    for _ in range(3):
        (event,) = transitions([window(result(Status.OK, value=0.01))], state)
        seen.append((event.transition, event.clear_windows, event.severity))
        state = {KEY: event.open} if event.open else {}
    assert seen == [
        (Transition.RECOVERING, 1, Status.CRITICAL),
        (Transition.RECOVERING, 2, Status.CRITICAL),
        (Transition.RESOLVED, 3, Status.CRITICAL),
    ]
    assert state == {}


def test_an_alternating_value_keeps_one_alert_open_instead_of_paging_again() -> None:
    """Alert, clear, alert, clear… over 40 windows: one ``new``, never ``resolved``."""
    state: dict[AlertKey, OpenAlert] = {}
    written = []
    for i in range(40):
        status, value = (Status.WARNING, 0.15) if i % 2 == 0 else (Status.OK, 0.0)
        events = transitions([window(result(status, value=value))], state)
        for e in events:
            written.append(e.transition)
            state = {KEY: e.open} if e.open else {}
    assert written.count(Transition.NEW) == 1
    assert Transition.RESOLVED not in written
    assert written.count(Transition.RECOVERING) == 20


def test_an_effect_just_under_the_threshold_is_not_clear() -> None:
    """ok at 0.09 against 0.10 (over resolve_below × threshold) keeps the alert ongoing,
    and a notice counts as clear only below the margin too."""
    (event,) = transitions([window(result(Status.OK, value=0.09))], {KEY: WARN})
    assert (event.transition, event.severity) == (Transition.ONGOING, Status.WARNING)
    (event,) = transitions([window(result(Status.NOTICE, value=0.02))], {KEY: WARN})
    assert event.transition is Transition.RECOVERING


def test_plain_rule_with_resolve_after_one() -> None:
    """resolve_after=1, resolve_below=1: the first ok resolves (the pre-hysteresis rule)."""
    plain = {"credit": replace(CheckSettings(), resolve_after=1, resolve_below=1.0)}
    (event,) = transitions([window(result(Status.OK, value=0.09))], {KEY: WARN}, plain)
    assert event.transition is Transition.RESOLVED


def test_gaps_neither_resolve_nor_raise() -> None:
    """insufficient_data and error keep an open alert open and raise nothing new;
    a notice with nothing open raises nothing."""
    for status in (Status.INSUFFICIENT_DATA, Status.ERROR):
        assert transitions([window(result(status))], {KEY: WARN}) == []
        assert transitions([window(result(status))], {}) == []
    assert transitions([window(result(Status.OK))], {}) == []
    assert transitions([window(result(Status.NOTICE, value=0.05))], {}) == []


def test_keys_separate_versions_features_roles_and_model_level_checks() -> None:
    """The same check on another feature, version or at model level is another alert."""
    volume = CheckResult(Check.VOLUME, Status.CRITICAL, "ratio")
    events = transitions(
        [
            window(result(Status.WARNING), result(Status.WARNING, feature="region")),
            window(result(Status.WARNING), version="2.0"),
            window(volume, version=None),
        ],
        {KEY: WARN},
    )
    assert [(str(e.key), e.transition) for e in events] == [
        ('["credit","1.0","category_shift","input","marital"]', Transition.ONGOING),
        ('["credit","1.0","category_shift","input","region"]', Transition.NEW),
        ('["credit","2.0","category_shift","input","marital"]', Transition.NEW),
        ('["credit",null,"volume",null,null]', Transition.NEW),
    ]


def test_open_alerts_are_the_keys_whose_latest_document_is_not_resolved() -> None:
    """fold_latest keeps new/ongoing/escalated/recovering keys with their state."""
    other = AlertKey("credit", "1.0", "text_oov", "input", "note")
    third = AlertKey("credit", "1.0", "missing_spike", "input", "age")
    assert fold_latest(
        [
            AlertState(KEY, Transition.ONGOING, CRIT),
            AlertState(other, Transition.RESOLVED, WARN),
            AlertState(third, Transition.RECOVERING, OpenAlert(Status.WARNING, 2)),
        ]
    ) == {KEY: CRIT, third: OpenAlert(Status.WARNING, 2)}


def test_the_alert_document_carries_the_recovery_count_read_back_by_alert_state() -> None:
    """A recovering document stores clear_windows; alert_state reads the same state back."""
    (event,) = transitions([window(result(Status.OK, value=0.0))], {KEY: CRIT})
    doc = alert_document(event, "default")
    assert doc.source["mlmon"]["transition"] == "recovering"
    assert doc.source["message"].startswith("Recovering: credit 1.0 · marital · category_shift")
    state = alert_state(doc.source["mlmon"])
    assert state == AlertState(KEY, Transition.RECOVERING, OpenAlert(Status.CRITICAL, 1))
