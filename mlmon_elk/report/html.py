"""Render a self-contained HTML report (inline SVG and CSS, no external files).

People would rather look than read: the report opens with a status grid of every
check that fired over the period, then one card per firing check — its metric
against its threshold over time, how its alert escalated and, for distribution
checks, the baseline next to the worst window — then a filterable table of every
check of every feature, and ends with the list of alerts. One file: styles, the
small filter script and the charts are inline; nothing is fetched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape

from mlmon_elk.contract import Status, Transition
from mlmon_elk.report import svg
from mlmon_elk.report.data import AlertPoint, CheckPoint, ReportData
from mlmon_elk.report.features import (
    FILTER_SCRIPT,
    MARK,
    SeriesKey,
    features_table,
    last_with_data,
    series_of,
)
from mlmon_elk.report.features import RANK as _RANK
from mlmon_elk.report.performance import performance_section
from mlmon_elk.report.units import unit_of

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1180px;color:#1f2933;
padding:0 1rem}h1{font-size:1.5rem;margin-bottom:.2rem}
h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #e3e6ea}
.meta{color:#52606d}.cards{display:flex;gap:1rem;margin:1rem 0}
.card{border:1px solid #e3e6ea;border-radius:6px;padding:.6rem 1rem;min-width:8rem}
.card b{display:block;font-size:1.4rem}.finding{border:1px solid #e3e6ea;border-radius:6px;
padding:.8rem 1rem;margin:1rem 0}.finding h3{font-size:1rem;margin:.1rem 0 .5rem}
.charts{display:flex;flex-wrap:wrap;gap:.5rem}
table{border-collapse:collapse;width:100%;font-size:.85rem}
td,th{border-bottom:1px solid #e3e6ea;padding:.3rem .4rem;text-align:left;vertical-align:top}
.critical{color:#c0392b;font-weight:600}.warning{color:#b7791f;font-weight:600}.ok{color:#2f855a}
.examples{font-size:.85rem;color:#52606d}code{font-size:.85rem}
.error{color:#6c3483;font-weight:600}.insufficient_data{color:#7b8794}
.filters{display:flex;gap:1rem;align-items:center;margin:.6rem 0;flex-wrap:wrap}
.filters input[type=search]{padding:.3rem .5rem;min-width:18rem}
#features td{vertical-align:middle}#features small{color:#52606d}
#features td:nth-child(n+4):nth-child(-n+9){white-space:nowrap}
#features thead th{position:sticky;top:0;background:#fff}
.escalation{font-size:.85rem;margin:.2rem 0 .6rem}
"""


def render_report(data: ReportData, *, title: str = "", generated: datetime | None = None) -> str:
    """The whole report for ``data`` as one HTML document."""
    when = generated or datetime.now(UTC)
    windows = sorted({c.end for c in data.checks})
    heading = title or (
        "mlmon-elk report · " + ", ".join(data.models) if data.models else "mlmon-elk report"
    )
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>{escape(heading)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(heading)}</h1>",
        f"<p class=meta>{_period(data.checks)} · generated {when:%Y-%m-%d %H:%M} UTC</p>",
        _summary(data, windows),
    ]
    series = series_of(data.checks)
    firing = {
        key: points for key, points in series.items() if any(p.status.is_alert for p in points)
    }
    if firing:
        parts.append("<h2>What fired</h2>")
        parts.append(_grid(firing, windows))
        quiet = len(series) - len(firing)
        parts.append(
            f"<p class=meta>{quiet} other checks stayed without alerts over the period.</p>"
        )
        parts.append("<h2>Details</h2>")
        ranked = sorted(firing, key=lambda k: _worst_rank(firing[k]), reverse=True)
        parts.extend(_finding(firing[key]) for key in ranked)
    else:
        calm = f"{len(series)} checks, all without alerts over the period."
        parts.append(f"<h2>Nothing fired</h2><p>{calm}</p>")
    parts.append(_unchecked_note(series))
    parts.append(performance_section(data.checks))
    if series:
        parts.append(f"<h2>Every check ({len(series)})</h2>")
        parts.append(features_table(series))
    parts.append(_alerts_table(data.alerts))
    parts.append(f"<script>{FILTER_SCRIPT}</script></body></html>")
    return "\n".join(parts)


def _period(checks: Sequence[CheckPoint]) -> str:
    """The period of the windows that had predictions, and how many did not."""
    if not checks:
        return "no check results in the period"
    with_data = [c for c in checks if c.count > 0] or list(checks)
    start, end = min(c.start for c in with_data), max(c.end for c in with_data)
    text = f"{start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC"
    empty = sorted({c.end for c in checks} - {c.end for c in checks if c.count > 0})
    if empty and len(with_data) < len(checks):
        text += (
            f" (plus {len(empty)} windows without predictions,"
            f" the latest ending {empty[-1]:%Y-%m-%d %H:%M})"
        )
    return text


def open_alerts(alerts: Sequence[AlertPoint]) -> int:
    """Alerts whose latest document is not a resolution (``new`` or ``ongoing``)."""
    latest: dict[tuple[str, str | None, str, str | None], Transition] = {}
    for a in sorted(alerts, key=lambda a: a.end):
        latest[(a.model, a.version, str(a.check), a.feature)] = a.transition
    return sum(t is not Transition.RESOLVED for t in latest.values())


def _summary(data: ReportData, windows: Sequence[datetime]) -> str:
    new = sum(a.transition is Transition.NEW for a in data.alerts)
    resolved = sum(a.transition is Transition.RESOLVED for a in data.alerts)
    with_data = sorted({c.end for c in data.checks if c.count > 0}) or list(windows)
    last = with_data[-1] if with_data else None
    open_now = sum(c.status.is_alert for c in data.checks if c.end == last)
    versions = sorted({c.version for c in data.checks if c.version})
    cards = [
        ("windows with predictions", len(with_data)),
        ("check results", len(data.checks)),
        ("alerts raised", new),
        ("resolved", resolved),
        ("open at the end of the period", open_alerts(data.alerts)),
        (
            f"firing in the last window with data (ending {last:%Y-%m-%d %H:%M})"
            if last
            else "firing in the last window",
            open_now,
        ),
    ]
    html = "".join(
        f"<div class=card><b>{value:,}</b>{escape(label)}</div>" for label, value in cards
    )
    shown = escape(", ".join(versions) or "—")
    return f"<div class=cards>{html}</div><p class=meta>versions: {shown}</p>"


def _label(key: tuple[str, str | None, str, str | None]) -> str:
    model, version, check, feature = key
    return " · ".join(p for p in (version or model, feature, check) if p)


def _grid(
    series: dict[tuple[str, str | None, str, str | None], list[CheckPoint]],
    windows: Sequence[datetime],
) -> str:
    keys = sorted(series, key=lambda k: (k[1] or "", k[3] or "", k[2]))
    index = {w: i for i, w in enumerate(windows)}
    statuses: list[list[str | None]] = []
    for key in keys:
        row: list[str | None] = [None] * len(windows)
        for p in series[key]:
            row[index[p.end]] = str(p.status)
        statuses.append(row)
    legend = (
        "Cells: "
        + " ".join(
            f'<span style="color:{colour}">■</span> {escape(name)}'
            for name, colour in svg.STATUS_COLOUR.items()
        )
        + "; blank: no result in that window."
    )
    return (
        svg.status_grid([_label(k) for k in keys], windows, statuses)
        + f"<p class=meta>{legend}</p>"
    )


def _unchecked_note(series: Mapping[SeriesKey, Sequence[CheckPoint]]) -> str:
    """Say so when most checks could not run: quiet is not the same as fine."""
    unchecked = sum(
        last_with_data(points).status is Status.INSUFFICIENT_DATA for points in series.values()
    )
    if not series or unchecked * 2 < len(series):
        return ""
    counts = sorted({p.count for points in series.values() for p in points if p.count > 0})
    seen = f" (windows held {counts[0]:,}–{counts[-1]:,} predictions)" if counts else ""
    return (
        f"<p class=warning>{unchecked} of {len(series)} checks could not run in the last window"
        f" with data: too few predictions per window{seen}. Checks need"
        " <code>checks.min_rows</code> predictions per window and model version (200 by"
        " default): lengthen <code>schedule.window</code> or lower"
        " <code>checks.min_rows</code>.</p>"
    )


def _worst_rank(points: Sequence[CheckPoint]) -> tuple[int, float]:
    worst = max(points, key=_severity)
    return _severity(worst)


def _severity(p: CheckPoint) -> tuple[int, float]:
    ratio = (p.value or 0.0) / p.threshold if p.threshold else 0.0
    return (_RANK[p.status], ratio)


def escalation(points: Sequence[CheckPoint]) -> list[tuple[datetime, Status]]:
    """Each change of status over the windows: (window end, new status), the first included."""
    steps: list[tuple[datetime, Status]] = []
    for p in points:
        if p.count == 0 and p.status is Status.INSUFFICIENT_DATA:
            continue  # an empty window says nothing about the alert
        if not steps or steps[-1][1] is not p.status:
            steps.append((p.end, p.status))
    return steps


def _escalation_line(points: Sequence[CheckPoint]) -> str:
    steps = escalation(points)
    shown = []
    for i, (end, status) in enumerate(steps):
        when = (
            f"{end:%Y-%m-%d %H:%M}"
            if i == 0 or end.date() != steps[i - 1][0].date()
            else (f"{end:%H:%M}")
        )
        shown.append(
            f'<span class="{status}">{MARK[status]} {escape(str(status))}</span> from {when}'
        )
    return "<p class=escalation>Over time (window ends, UTC): " + " → ".join(shown) + "</p>"


def _finding(points: Sequence[CheckPoint]) -> str:
    worst = max(points, key=_severity)
    times = [p.end for p in points]
    unit = unit_of(worst.metric)
    in_unit = f", in{unit.suffix}" if unit.suffix.strip() else ""
    charts = [
        svg.timeline(
            times,
            [unit.plotted(p.value) for p in points],
            [unit.plotted(p.threshold) for p in points],
            [p.status.is_alert for p in points],
            title=f"{worst.metric} per window{in_unit}",
            suffix=unit.suffix,
        )
    ]
    distribution = worst.context.get("distribution")
    if isinstance(distribution, dict) and distribution.get("bins"):
        charts.append(
            svg.bars(
                [str(b) for b in distribution["bins"]],
                [float(x) for x in distribution["expected"]],
                [float(x) for x in distribution["observed"]],
                title=f"baseline vs window ending {worst.end:%Y-%m-%d %H:%M}",
            )
        )
    examples = worst.context.get("examples")
    extra = ""
    if isinstance(examples, list) and examples:
        shown = ", ".join(f"<code>{escape(str(v))}</code> ×{int(n):,}" for v, n in examples[:10])
        extra = f"<p class=examples>Examples in the worst window: {shown}</p>"
    status = str(worst.status)
    return (
        f'<div class=finding><h3><span class="{status}">{MARK[worst.status]} {escape(status)}'
        f"</span> · {escape(worst.message)}</h3>{_escalation_line(points)}"
        f"<div class=charts>{''.join(charts)}</div>{extra}</div>"
    )


def _alerts_table(alerts: Sequence[AlertPoint]) -> str:
    if not alerts:
        return "<h2>Alerts</h2><p>No alerts in the period.</p>"
    quiet = (Transition.ONGOING, Transition.RECOVERING)
    ongoing = sum(a.transition in quiet for a in alerts)
    alerts = [a for a in alerts if a.transition not in quiet]
    rows = "".join(
        f"<tr><td>{a.end:%Y-%m-%d %H:%M}</td><td>{escape(str(a.transition))}</td>"
        f'<td class="{a.severity}">{MARK[a.severity]} {escape(str(a.severity))}</td>'
        f"<td>{escape(a.message)}</td></tr>"
        for a in alerts
    )
    note = (
        f"<p class=meta>Raised and resolved; {ongoing} ongoing repeats not listed.</p>"
        if ongoing
        else ""
    )
    return (
        f"<h2>Alerts</h2>{note}<table><tr><th>window end</th><th>transition</th><th>severity</th>"
        f"<th>message</th></tr>{rows}</table>"
    )
