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
    assert "<script" not in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")


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
