"""Alert transitions: new, ongoing, resolved — and data gaps that change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mlmon_elk.alerts import AlertKey, fold_latest, transitions
from mlmon_elk.checks.result import CheckResult, WindowResult
from mlmon_elk.contract import Check, Role, Status, Transition

START = datetime(2024, 5, 1, 12, tzinfo=UTC)


def window(*results: CheckResult, version: str | None = "1.0") -> WindowResult:
    return WindowResult("credit", version, START, START + timedelta(minutes=5), 500, results)


def result(
    status: Status, feature: str = "marital", check: Check = Check.CATEGORY_SHIFT
) -> CheckResult:
    return CheckResult(check, status, "psi", value=0.3, feature=feature, role=Role.INPUT)


KEY = AlertKey("credit", "1.0", "category_shift", "input", "marital")


def test_a_first_alerting_result_is_new_and_a_repeated_one_ongoing() -> None:
    """warning with nothing open → new; critical while open → ongoing with the new severity."""
    (event,) = transitions([window(result(Status.WARNING))], {})
    assert (event.key, event.transition, event.severity) == (KEY, Transition.NEW, Status.WARNING)
    (event,) = transitions([window(result(Status.CRITICAL))], {KEY: Status.WARNING})
    assert (event.transition, event.severity) == (Transition.ONGOING, Status.CRITICAL)


def test_ok_resolves_an_open_alert_with_the_severity_that_ended() -> None:
    """The resolved event carries the severity of the alert it closes."""
    (event,) = transitions([window(result(Status.OK))], {KEY: Status.CRITICAL})
    assert (event.transition, event.severity) == (Transition.RESOLVED, Status.CRITICAL)


def test_gaps_neither_resolve_nor_raise() -> None:
    """insufficient_data and error keep an open alert open and raise nothing new."""
    for status in (Status.INSUFFICIENT_DATA, Status.ERROR):
        assert transitions([window(result(status))], {KEY: Status.WARNING}) == []
        assert transitions([window(result(status))], {}) == []
    assert transitions([window(result(Status.OK))], {}) == []


def test_keys_separate_versions_features_roles_and_model_level_checks() -> None:
    """The same check on another feature, version or at model level is another alert."""
    volume = CheckResult(Check.VOLUME, Status.CRITICAL, "ratio")
    events = transitions(
        [
            window(result(Status.WARNING), result(Status.WARNING, feature="region")),
            window(result(Status.WARNING), version="2.0"),
            window(volume, version=None),
        ],
        {KEY: Status.WARNING},
    )
    assert [(str(e.key), e.transition) for e in events] == [
        ('["credit","1.0","category_shift","input","marital"]', Transition.ONGOING),
        ('["credit","1.0","category_shift","input","region"]', Transition.NEW),
        ('["credit","2.0","category_shift","input","marital"]', Transition.NEW),
        ('["credit",null,"volume",null,null]', Transition.NEW),
    ]


def test_open_alerts_are_the_keys_whose_latest_document_is_not_resolved() -> None:
    """fold_latest keeps new/ongoing keys with their severity, drops resolved ones."""
    other = AlertKey("credit", "1.0", "text_oov", "input", "note")
    assert fold_latest(
        [(KEY, Transition.ONGOING, Status.CRITICAL), (other, Transition.RESOLVED, Status.WARNING)]
    ) == {KEY: Status.CRITICAL}
