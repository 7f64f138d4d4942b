"""The demo runs the whole loop: baseline, handler, drift, analyzer, report."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from mlmon_elk.contract import Status, Transition
from mlmon_elk.demo.run import DemoPlan, alert_mark, run_demo, training_data_path
from mlmon_elk.demo.traffic import MODEL, NEW_WORDS, training_frame
from mlmon_elk.errors import MlmonError
from mlmon_elk.profile.baseline import load_baseline


def test_bundled_training_data_is_what_the_generator_makes() -> None:
    """The shipped CSV is reproducible from the seeded generator."""
    bundled = pd.read_csv(training_data_path())
    generated = training_frame()
    assert list(bundled.columns) == list(generated.columns)
    assert len(bundled) == len(generated) == 20_000
    pd.testing.assert_series_equal(bundled["marital_status"], generated["marital_status"])
    pd.testing.assert_series_equal(bundled["age"], generated["age"], check_dtype=False)
    assert not set(" ".join(bundled["description"]).lower().split()) & set(NEW_WORDS)


def test_drift_fires_and_resolves_and_the_report_shows_it(tmp_path: Path) -> None:
    """Exactly the injected problems alert while drift is on, and resolve after the
    default three clear windows (hysteresis)."""
    echo = io.StringIO()
    plan = DemoPlan(windows=7, per_window=800, drift_from=2, drift_until=4)
    report = run_demo(tmp_path, plan=plan, echo=echo)

    alerts = [
        json.loads(line)
        for line in (tmp_path / "results" / "alerts.jsonl").read_text().splitlines()
    ]
    raised = {
        (a["mlmon"]["check"], a["mlmon"]["feature"])
        for a in alerts
        if a["mlmon"]["transition"] == "new"
    }
    resolved = {
        (a["mlmon"]["check"], a["mlmon"]["feature"])
        for a in alerts
        if a["mlmon"]["transition"] == "resolved"
    }
    expected = {
        ("feature_vanished", "employment_years"),
        ("missing_spike", "income"),
        ("category_shift", "marital_status"),
        ("text_oov", "description"),
    }
    assert expected <= raised
    assert resolved == raised
    first = {
        a["event"]["end"]
        for a in alerts
        if a["mlmon"]["transition"] == "new"
        and (a["mlmon"]["check"], a["mlmon"]["feature"]) in expected
    }
    assert len(first) == 1  # the injected problems all raised in the first drift window
    # The model's outputs move with its inputs (prediction_drift on its score or decision):
    # real consequences, raised while drift is on, never after.
    drift_windows = sorted({a["event"]["end"] for a in alerts})[:2]
    for a in alerts:
        if a["mlmon"]["transition"] == "new":
            assert a["event"]["end"] in drift_windows, a["message"]
            assert (a["mlmon"]["check"], a["mlmon"]["feature"]) in expected or a["mlmon"][
                "check"
            ] == "prediction_drift", a["message"]

    out = echo.getvalue()
    assert "✖ critical" in out
    assert "✔ resolved" in out
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith("    window")}
    # Windows 3 and 4 have drift on: their lines say so even where the alerts are ongoing.
    assert all("critical" in lines[w] for w in ("3/7", "4/7")), out
    # Once it is off: none, and the third clear window resolves every alert.
    assert lines["7/7"].endswith("54 checks: all ok"), out
    html = report.read_text()
    assert "employment_years" in html
    assert "What fired" in html
    baseline = load_baseline(tmp_path / "baselines" / f"{MODEL}-1.0.0.yaml")
    assert {f.name for f in baseline.outputs} == {"default_risk", "decision"}


def test_a_second_run_starts_clean(tmp_path: Path) -> None:
    """Running the demo again does not append to the first run's log (no overlapping windows)."""
    plan = DemoPlan(windows=4, per_window=200, drift_from=1, drift_until=2)
    run_demo(tmp_path, plan=plan, echo=io.StringIO())
    echo = io.StringIO()
    run_demo(tmp_path, plan=plan, echo=echo)
    out = echo.getvalue()
    assert "starting clean: removed the previous run's logs/, results/" in out
    logged = (tmp_path / "logs" / "predictions.jsonl").read_text().splitlines()
    predictions = [
        line for line in logged if json.loads(line)["event"]["dataset"] == "mlmon.prediction"
    ]
    assert len(predictions) == 4 * 200
    assert "warning (volume)" not in out
    assert "1 warning" not in out.split("window  4/4")[1]


def test_refuses_to_clear_a_folder_it_did_not_write(tmp_path: Path) -> None:
    """``--out .`` in a project with its own logs/ is refused, not emptied."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_text("mine")
    with pytest.raises(MlmonError, match="that an earlier demo did not write"):
        run_demo(tmp_path, plan=DemoPlan(windows=4, per_window=200), echo=io.StringIO())
    assert (tmp_path / "logs" / "app.log").read_text() == "mine"


def test_warnings_are_marked_differently_from_criticals() -> None:
    assert alert_mark(Transition.NEW, Status.CRITICAL) == "✖ critical"
    assert alert_mark(Transition.NEW, Status.WARNING) == "▲ warning"
    assert alert_mark(Transition.RESOLVED, Status.WARNING) == "✔ resolved"
