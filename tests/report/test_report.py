"""Reports show what fired, from the analyzer's own result documents."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlmon_elk.contract import Check, Dataset, Status, Transition, stream_name
from mlmon_elk.errors import DataError
from mlmon_elk.report import load_report_data, render_report, write_report
from mlmon_elk.report.data import read_result_index
from mlmon_elk.windows import format_time
from tests.conftest import EsTarget

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
STEP = timedelta(minutes=5)


def _check(i: int, check: str, feature: str, status: str, value: float, **mlmon: object) -> dict:
    start, end = T0 + STEP * i, T0 + STEP * (i + 1)
    return {
        "@timestamp": format_time(end),
        "event": {
            "kind": "metric",
            "dataset": "mlmon.check",
            "start": format_time(start),
            "end": format_time(end),
        },
        "message": f"m 1 · {feature} · {check}: {status} at {i}",
        "mlmon": {
            "model": {"name": "m", "version": "1"},
            "check": check,
            "feature": feature,
            "status": status,
            "metric": "psi",
            "value": value,
            "threshold": 0.1,
            "window": {"count": 1000},
            **mlmon,
        },
    }


def _alert(i: int, transition: str, severity: str) -> dict:
    doc = _check(i, "category_shift", "plan", severity, 0.3)
    doc["event"].update(kind="alert", dataset="mlmon.alert")
    doc["mlmon"].update(transition=transition, severity=severity)
    return doc


def _documents() -> tuple[list[dict], list[dict]]:
    distribution = {
        "distribution": {"bins": ["a", "b"], "expected": [0.6, 0.4], "observed": [0.3, 0.7]}
    }
    checks = [_check(i, "missing_spike", "age", "ok", 0.0) for i in range(4)]
    checks += [
        _check(i, "category_shift", "plan", s, v, context=distribution)
        for i, (s, v) in enumerate(
            [("ok", 0.01), ("critical", 0.3), ("critical", 0.35), ("ok", 0.02)]
        )
    ]
    alerts = [
        _alert(1, "new", "critical"),
        _alert(2, "ongoing", "critical"),
        _alert(3, "resolved", "critical"),
    ]
    return checks, alerts


def _write(folder: Path, checks: list[dict], alerts: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "checks.jsonl").write_text("".join(json.dumps(d) + "\n" for d in checks))
    (folder / "alerts.jsonl").write_text("".join(json.dumps(d) + "\n" for d in alerts))


def test_result_files_are_read_into_points_in_window_order(tmp_path: Path) -> None:
    """Every check document becomes a point; alerts keep their transition."""
    _write(tmp_path, *_documents())
    data = load_report_data(results=tmp_path)
    assert len(data.checks) == 8
    assert [c.end for c in data.checks] == sorted(c.end for c in data.checks)
    assert [a.transition for a in data.alerts] == [
        Transition.NEW,
        Transition.ONGOING,
        Transition.RESOLVED,
    ]
    assert data.checks[-1].check in (Check.CATEGORY_SHIFT, Check.MISSING_SPIKE)


def test_period_and_model_filters_apply(tmp_path: Path) -> None:
    """Windows ending outside (start, end] and other models are left out."""
    _write(tmp_path, *_documents())
    data = load_report_data(results=tmp_path, start=T0 + STEP, end=T0 + 3 * STEP)
    assert {c.end for c in data.checks} == {T0 + 2 * STEP, T0 + 3 * STEP}
    assert load_report_data(results=tmp_path, model="other").checks == ()


def test_report_shows_what_fired_and_what_stayed_quiet(tmp_path: Path) -> None:
    """The firing check gets a card with its charts; the quiet one is only counted."""
    _write(tmp_path, *_documents())
    html = render_report(load_report_data(results=tmp_path))
    assert "What fired" in html
    assert html.count("class=finding") == 1
    assert "1 other checks stayed without alerts" in html
    assert "Every check (2)" in html  # …and the quiet one is in the all-features table
    assert "baseline vs window" in html  # the distribution of the worst window
    assert "1 ongoing repeats not listed" in html
    assert "m 1 · plan · category_shift: critical at 2" in html  # the worst window's message


def test_a_quiet_period_says_so(tmp_path: Path) -> None:
    """No alerts: no cards, and the report says nothing fired."""
    checks, _ = _documents()
    _write(tmp_path, [c for c in checks if c["mlmon"]["status"] == "ok"], [])
    html = render_report(load_report_data(results=tmp_path))
    assert "Nothing fired" in html
    assert "No alerts in the period" in html


def test_missing_results_are_a_clear_error(tmp_path: Path) -> None:
    """Pointing at a directory without results tells what to run first."""
    with pytest.raises(DataError, match="run `mlmon-elk analyze` first"):
        load_report_data(results=tmp_path)


def test_a_corrupt_line_names_file_and_line(tmp_path: Path) -> None:
    """A truncated line is reported with its position."""
    _write(tmp_path, *_documents())
    with (tmp_path / "checks.jsonl").open("a") as f:
        f.write('{"event": \n')
    with pytest.raises(DataError, match=r"checks.jsonl:9"):
        load_report_data(results=tmp_path)


def test_write_report_writes_one_self_contained_file(tmp_path: Path) -> None:
    """No external scripts, styles or images: the file can be mailed."""
    _write(tmp_path / "r", *_documents())
    out = tmp_path / "report.html"
    write_report(out, results=tmp_path / "r")
    html = out.read_text()
    assert html.startswith("<!doctype html>")
    assert "<script src" not in html
    assert "<link" not in html
    assert "@import" not in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html


def test_results_are_read_from_elasticsearch_as_from_files(es: EsTarget, tmp_path: Path) -> None:
    """The same documents indexed give the same report data as in files."""
    checks, alerts = _documents()
    for i, doc in enumerate(checks):
        es.client.create(index=stream_name(Dataset.CHECK, es.namespace), id=f"c{i}", document=doc)
    for i, doc in enumerate(alerts):
        es.client.create(index=stream_name(Dataset.ALERT, es.namespace), id=f"a{i}", document=doc)
    es.client.indices.refresh(index=f"logs-mlmon.*-{es.namespace}")
    _write(tmp_path, checks, alerts)
    from_es = read_result_index(es.client, es.namespace, model="m")
    from_files = load_report_data(results=tmp_path, model="m")
    assert from_es == from_files
    assert {c.status for c in from_es.checks} == {Status.OK, Status.CRITICAL}


def _rate_checks() -> list[dict]:
    """missing_spike on income: ok, warning, critical, critical, ok — a rate metric (points)."""
    steps = [("ok", 0.001), ("warning", 0.03), ("critical", 0.15), ("critical", 0.16), ("ok", 0.0)]
    return [
        _check(
            i,
            "missing_spike",
            "income",
            status,
            value,
            metric="null_rate_rise",
            threshold=0.02,
            p_value=0.5 if status == "ok" else 1e-9,
            expected=0.019,
            observed=0.019 + value,
            role="input",
        )
        for i, (status, value) in enumerate(steps)
    ]


def test_every_check_is_in_one_table_with_kind_threshold_and_p_value(tmp_path: Path) -> None:
    """Evidently-style: each feature and check, its kind, metric, threshold, p-value, status."""
    checks, alerts = _documents()
    _write(tmp_path, checks + _rate_checks(), alerts)
    html = render_report(load_report_data(results=tmp_path))
    table = html.split("<table id=features>")[1].split("</table>")[0]
    rows = table.split("<tr data-text=")[1:]
    assert len(rows) == 3  # age · missing_spike, plan · category_shift, income · missing_spike
    income = next(r for r in rows if "income" in r and "missing_spike" in r)
    # The last window's value in points, as the checks' messages say it, not as a fraction.
    assert "<td>2.0 pts</td><td>0.0 pts</td><td>0.5</td>" in income
    assert 'data-alerted="1"' in income
    assert "✖ critical" in income  # the worst over the period
    assert "1.9% → 1.9%" in income  # baseline vs window
    plan = next(r for r in rows if "category_shift" in r)
    assert 'data-kind="cat"' in plan
    assert "<svg" in plan  # a sparkline and the distribution bars
    assert "<script>" in html  # the filter: inline, no network


def test_charts_use_the_messages_units_and_years(tmp_path: Path) -> None:
    """A rate metric is charted in points; time axes carry the year."""
    _write(tmp_path, _rate_checks(), [])
    html = render_report(load_report_data(results=tmp_path))
    assert "null_rate_rise per window, in pts" in html
    assert ">15 pts</text>" in html or ">20 pts</text>" in html  # axis in points
    assert ">0.2</text>" not in html  # not the stored fraction
    assert f">{T0 + STEP:%Y-%m-%d %H:%M}</text>" in html


def test_a_finding_shows_how_its_alert_escalated(tmp_path: Path) -> None:
    _write(tmp_path, _rate_checks(), [])
    html = render_report(load_report_data(results=tmp_path))
    line = html.split("<p class=escalation>")[1].split("</p>")[0]
    assert line.index("✔ ok") < line.index("▲ warning") < line.index("✖ critical")
    assert line.count("from") == 4  # ok, warning, critical, ok again
    assert f"from {T0 + STEP:%Y-%m-%d %H:%M}" in line


def test_the_timeline_legend_draws_the_marks_it_names(tmp_path: Path) -> None:
    _write(tmp_path, _rate_checks(), [])
    html = render_report(load_report_data(results=tmp_path))
    legend = html.split("alerting</text>")[0].rsplit("<circle", 1)[1]
    assert 'fill="#c0392b"' in legend  # the red dot of alerting windows, as in the chart
    assert 'stroke-dasharray="4 3"' in html.split(">threshold</text>")[0].rsplit("<line", 1)[1]


def test_the_last_window_is_the_last_with_predictions(tmp_path: Path) -> None:
    """An empty window after the data neither stretches the period nor hides open alerts."""
    checks = _rate_checks()[:4]  # ends critical
    empty = _check(400, "missing_spike", "income", "insufficient_data", 0.0)
    empty["mlmon"]["window"]["count"] = 0
    alerts = [
        _alert(2, "new", "critical"),
        _alert(3, "ongoing", "critical"),
    ]
    _write(tmp_path, [*checks, empty], alerts)
    html = render_report(load_report_data(results=tmp_path))
    last = T0 + 4 * STEP
    assert f"{T0:%Y-%m-%d %H:%M} → {last:%Y-%m-%d %H:%M} UTC" in html.split("generated")[0]
    assert "plus 1 windows without predictions" in html
    assert f"<b>1</b>firing in the last window with data (ending {last:%Y-%m-%d %H:%M})" in html
    assert "<b>1</b>open at the end of the period" in html


def test_a_period_where_checks_could_not_run_says_so(tmp_path: Path) -> None:
    """Only insufficient_data: 'Nothing fired' comes with why, and what to change."""
    checks = [_check(i, "missing_spike", "age", "insufficient_data", 0.0) for i in range(3)]
    for c in checks:
        c["mlmon"]["window"]["count"] = 125
    _write(tmp_path, checks, [])
    html = render_report(load_report_data(results=tmp_path))
    assert "Nothing fired" in html
    assert "1 of 1 checks could not run" in html
    assert "windows held 125–125 predictions" in html
    assert "<code>checks.min_rows</code>" in html
