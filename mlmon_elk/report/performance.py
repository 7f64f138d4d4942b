"""Realized against estimated model performance per window, from the two checks' results.

The ``performance`` check's context holds the realized metrics of a window's
labelled predictions (and the label-free estimate beside them); the
``estimated_performance`` check's holds the estimate (and the realized metrics
once labels arrived). Either is enough: each value is taken from the check that
owns it and from the other one when that check did not run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from mlmon_elk.contract import Check
from mlmon_elk.report import svg
from mlmon_elk.report.data import CheckPoint

METRICS = (("accuracy", "accuracy", True), ("roc_auc", "ROC AUC", False), ("mae", "MAE", False))
"""Context key, label and whether it is a share, in the order charts are drawn."""


@dataclass(frozen=True, slots=True)
class PerformanceSeries:
    """One metric of one model version over the windows, oldest first."""

    metric: str
    label: str
    percent: bool
    times: tuple[datetime, ...]
    realized: tuple[float | None, ...]
    estimated: tuple[float | None, ...]
    baseline: float | None
    labelled_share: tuple[float | None, ...]


def _number(context: Mapping[str, Any], key: str) -> float | None:
    value = context.get(key)
    return float(value) if isinstance(value, int | float) else None


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def performance_series(
    checks: Sequence[CheckPoint],
) -> dict[tuple[str, str | None], list[PerformanceSeries]]:
    """Per (model, version): a series for each metric that has a value in some window."""
    by_window: dict[tuple[str, str | None], dict[datetime, dict[Check, CheckPoint]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for c in checks:
        if c.check not in (Check.PERFORMANCE, Check.ESTIMATED_PERFORMANCE):
            continue
        # A window re-analysed with more labels has a second result: the larger count is current.
        kept = by_window[(c.model, c.version)][c.end]
        if c.check not in kept or c.count >= kept[c.check].count:
            kept[c.check] = c
    out: dict[tuple[str, str | None], list[PerformanceSeries]] = {}
    for key, windows in sorted(by_window.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        times = tuple(sorted(windows))
        real = [windows[t].get(Check.PERFORMANCE) for t in times]
        est = [windows[t].get(Check.ESTIMATED_PERFORMANCE) for t in times]
        shares = tuple(_labelled_share(r, e) for r, e in zip(real, est, strict=True))
        series = []
        for metric, label, percent in METRICS:
            realized = tuple(
                _first(
                    _number(r.context, metric) if r else None,
                    _number(e.context, f"realized_{metric}") if e else None,
                )
                for r, e in zip(real, est, strict=True)
            )
            estimated = tuple(
                _first(
                    _number(e.context, f"estimated_{metric}") if e else None,
                    _number(r.context, f"estimated_{metric}") if r else None,
                )
                for r, e in zip(real, est, strict=True)
            )
            if all(v is None for v in (*realized, *estimated)):
                continue
            baselines = [
                _number(p.context, f"baseline_{metric}") for p in (*real, *est) if p is not None
            ]
            series.append(
                PerformanceSeries(
                    metric,
                    label,
                    percent,
                    times,
                    realized,
                    estimated,
                    _first(*reversed(baselines)),
                    shares,
                )
            )
        if series:
            out[key] = series
    return out


def _labelled_share(real: CheckPoint | None, est: CheckPoint | None) -> float | None:
    if real is not None and (share := _number(real.context, "labelled_share")) is not None:
        return share
    if est is not None and est.count > 0:
        labelled = _number(est.context, "labelled")
        return labelled / est.count if labelled is not None else 0.0
    return None


def performance_section(checks: Sequence[CheckPoint]) -> str:
    """The report's "Model performance" section; empty when no performance check ran."""
    series = performance_series(checks)
    if not series:
        return ""
    parts = [
        "<h2>Model performance</h2>",
        "<p class=meta>Per window (by prediction time): realized performance of the"
        " predictions whose outcome has arrived, the estimate from the window's score"
        " distribution under the baseline's calibration (valid while scores stay calibrated"
        " and the concept does not change), the baseline's held-out value, and the share of"
        " the window's predictions already labelled.</p>",
    ]
    for (model, version), lines in series.items():
        charts = "".join(
            svg.performance(
                s.times,
                s.realized,
                s.estimated,
                s.baseline,
                s.labelled_share,
                title=f"{s.label} per window",
                percent=s.percent,
            )
            for s in lines
        )
        name = f"{model} {version}" if version else model
        parts.append(
            f"<div class=finding><h3>{escape(name)}</h3><div class=charts>{charts}</div>"
            f"{_latest(lines)}</div>"
        )
    return "\n".join(parts)


def _latest(lines: Sequence[PerformanceSeries]) -> str:
    """The last window's figures in words, for readers who do not read charts."""
    first = lines[0]
    i = len(first.times) - 1
    shown = []
    for s in lines:

        def fmt(v: float | None, s: PerformanceSeries = s) -> str:
            if v is None:
                return "—"
            return f"{v:.1%}" if s.percent else f"{v:.3f}"

        shown.append(
            f"{s.label} realized {fmt(s.realized[i])}, estimated {fmt(s.estimated[i])},"
            f" baseline {fmt(s.baseline)}"
        )
    share = first.labelled_share[i]
    labelled = "" if share is None else f"; {share:.1%} labelled"
    return (
        f"<p class=meta>Window ending {first.times[i]:%Y-%m-%d %H:%M}: "
        + escape("; ".join(shown) + labelled)
        + ".</p>"
    )
