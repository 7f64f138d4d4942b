"""Documents: the contract's fields, and ids that make re-runs write nothing new."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from mlmon_elk.checks.result import CheckResult, WindowResult
from mlmon_elk.contract import Check, Dataset, Role, Status, Transition
from mlmon_elk.results.alerts import AlertEvent, AlertKey
from mlmon_elk.results.documents import alert_document, check_document, jsonable, run_document
from mlmon_elk.results.run_summary import RunSummary
from mlmon_elk.windows import Window

START = datetime(2024, 5, 1, 12, tzinfo=UTC)
END = START + timedelta(minutes=5)
WINDOW = WindowResult("credit-risk", "1.2.0", START, END, 5000, ())
SHIFT = CheckResult(
    Check.CATEGORY_SHIFT,
    Status.CRITICAL,
    "psi",
    value=0.31,
    threshold=0.1,
    p_value=1e-9,
    count=5000,
    expected=0.12,
    observed=0.31,
    feature="marital_status",
    role=Role.INPUT,
    summary='PSI 0.31 ≥ 0.10 (n=5,000); "divorced" 12% → 31%',
    context={"movers": [("divorced", 0.12, 0.31)], "chi2": np.float64(12.5)},
)


def test_check_document_has_every_contract_field() -> None:
    """A check result becomes exactly this mlmon.check document."""
    doc = check_document(WINDOW, SHIFT, "prod")
    assert doc.dataset is Dataset.CHECK
    assert doc.index("prod") == "logs-mlmon.check-prod"
    assert doc.source == {
        "@timestamp": "2024-05-01T12:05:00.000Z",
        "ecs": {"version": "8.11.0"},
        "event": {
            "kind": "metric",
            "dataset": "mlmon.check",
            "start": "2024-05-01T12:00:00.000Z",
            "end": "2024-05-01T12:05:00.000Z",
        },
        "data_stream": {"type": "logs", "dataset": "mlmon.check", "namespace": "prod"},
        "message": "credit-risk 1.2.0 · marital_status · category_shift: "
        'PSI 0.31 ≥ 0.10 (n=5,000); "divorced" 12% → 31%',
        "mlmon": {
            "key": '["credit-risk","1.2.0","category_shift","input","marital_status"]',
            "model": {"name": "credit-risk", "version": "1.2.0"},
            "check": "category_shift",
            "metric": "psi",
            "status": "critical",
            "window": {"count": 5000},
            "feature": "marital_status",
            "role": "input",
            "value": 0.31,
            "threshold": 0.1,
            "p_value": 1e-9,
            "expected": 0.12,
            "observed": 0.31,
            "context": {"movers": [["divorced", 0.12, 0.31]], "chi2": 12.5},
        },
    }


def test_alert_documents_carry_transition_rule_and_severity() -> None:
    """new/ongoing/resolved alerts differ in id; resolved says so in its message."""
    key = AlertKey.of(WINDOW, SHIFT)
    new = alert_document(AlertEvent(key, Transition.NEW, WINDOW, SHIFT, Status.CRITICAL), "prod")
    assert new.index("prod") == "logs-mlmon.alert-prod"
    assert new.source["event"]["kind"] == "alert"
    assert new.source["event"]["severity"] == 3
    assert new.source["rule"] == {"name": "category_shift"}
    assert (new.source["mlmon"]["transition"], new.source["mlmon"]["severity"]) == (
        "new",
        "critical",
    )
    ok = CheckResult(
        Check.CATEGORY_SHIFT,
        Status.OK,
        "psi",
        value=0.02,
        feature="marital_status",
        role=Role.INPUT,
        summary="PSI 0.02",
    )
    resolved = alert_document(
        AlertEvent(key, Transition.RESOLVED, WINDOW, ok, Status.CRITICAL), "prod"
    )
    assert resolved.source["message"].startswith("Resolved: credit-risk 1.2.0 · marital_status")
    assert resolved.source["mlmon"]["status"] == "ok"
    assert resolved.id != new.id


def test_ids_depend_only_on_what_the_document_describes() -> None:
    """The same result in the same window has the same id; another window or feature does not."""
    same = check_document(WINDOW, SHIFT, "prod").id
    assert check_document(WINDOW, SHIFT, "prod").id == same
    later = WindowResult("credit-risk", "1.2.0", END, END + timedelta(minutes=5), 10, ())
    assert check_document(later, SHIFT, "prod").id != same
    other = CheckResult(Check.CATEGORY_SHIFT, Status.OK, "psi", feature="region", role=Role.INPUT)
    assert check_document(WINDOW, other, "prod").id != same
    # The status is not part of the id: a re-run can never add a second verdict.
    flipped = CheckResult(
        Check.CATEGORY_SHIFT, Status.OK, "psi", feature="marital_status", role=Role.INPUT
    )
    assert check_document(WINDOW, flipped, "prod").id == same


def test_successful_run_ids_repeat_and_failed_run_ids_do_not() -> None:
    """Re-running a window successfully writes no second summary; every failure is kept."""
    window = Window(START, END)
    ok = RunSummary(window, START, START + timedelta(seconds=2), ("credit-risk",))
    again = RunSummary(window, END, END + timedelta(seconds=3), ("credit-risk",))
    assert run_document(ok, "prod").id == run_document(again, "prod").id
    failed = RunSummary(window, START, START, ("credit-risk",), errors=("credit-risk: down",))
    failed_later = RunSummary(window, END, END, ("credit-risk",), errors=("credit-risk: down",))
    assert run_document(failed, "prod").id != run_document(failed_later, "prod").id
    doc = run_document(failed, "prod").source
    assert doc["event"]["dataset"] == "mlmon.run"
    assert doc["data_stream"]["dataset"] == "mlmon.check"
    assert doc["event"]["outcome"] == "failure"
    assert doc["error"] == {"type": "AnalyzerRunFailed", "message": "credit-risk: down"}
    assert doc["mlmon"]["run"]["error_count"] == 1


def test_jsonable_leaves_only_json_types() -> None:
    """numpy scalars, NaN, sets, enums and tuples become plain JSON values."""
    value = {
        1: np.int64(3),
        "x": float("nan"),
        "s": {"b", "a"},
        "e": Status.OK,
        "t": (np.float32(0.5),),
    }
    assert jsonable(value) == {"1": 3, "x": None, "s": ["a", "b"], "e": "ok", "t": [0.5]}
