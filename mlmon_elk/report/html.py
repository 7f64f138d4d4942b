"""Render a self-contained HTML report (inline SVG and CSS, no external files).

People would rather look than read: the report opens with a status grid of every
check that fired over the period, then one card per firing check — its metric
against its threshold over time and, for distribution checks, the baseline next
to the worst window — and ends with the list of alerts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from mlmon_elk.contract import Status, Transition
from mlmon_elk.report import svg
from mlmon_elk.report.data import AlertPoint, CheckPoint, ReportData

_RANK = {
    Status.CRITICAL: 4,
    Status.WARNING: 3,
    Status.ERROR: 2,
    Status.INSUFFICIENT_DATA: 1,
    Status.NOTICE: 0,
    Status.OK: 0,
}

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1080px;color:#1f2933;
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
    series = _series(data.checks)
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
    parts.append(_alerts_table(data.alerts))
    parts.append("</body></html>")
    return "\n".join(parts)


def _period(checks: Sequence[CheckPoint]) -> str:
    if not checks:
        return "no check results in the period"
    start, end = min(c.start for c in checks), max(c.end for c in checks)
    return f"{start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC"


def _summary(data: ReportData, windows: Sequence[datetime]) -> str:
    new = sum(a.transition is Transition.NEW for a in data.alerts)
    resolved = sum(a.transition is Transition.RESOLVED for a in data.alerts)
    last = windows[-1] if windows else None
    open_now = sum(c.status.is_alert for c in data.checks if c.end == last)
    versions = sorted({c.version for c in data.checks if c.version})
    cards = [
        ("windows", len(windows)),
        ("check results", len(data.checks)),
        ("alerts raised", new),
        ("resolved", resolved),
        ("firing in the last window", open_now),
    ]
    html = "".join(
        f"<div class=card><b>{value:,}</b>{escape(label)}</div>" for label, value in cards
    )
    shown = escape(", ".join(versions) or "—")
    return f"<div class=cards>{html}</div><p class=meta>versions: {shown}</p>"


def _series(
    checks: Sequence[CheckPoint],
) -> dict[tuple[str, str | None, str, str | None], list[CheckPoint]]:
    out: dict[tuple[str, str | None, str, str | None], list[CheckPoint]] = defaultdict(list)
    for c in checks:
        out[(c.model, c.version, str(c.check), c.feature)].append(c)
    return out


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
    legend = " ".join(
        f'<span style="color:{colour}">■</span> {escape(name)}'
        for name, colour in svg.STATUS_COLOUR.items()
    )
    return (
        svg.status_grid([_label(k) for k in keys], windows, statuses)
        + f"<p class=meta>{legend}</p>"
    )


def _worst_rank(points: Sequence[CheckPoint]) -> tuple[int, float]:
    worst = max(points, key=_severity)
    return _severity(worst)


def _severity(p: CheckPoint) -> tuple[int, float]:
    ratio = (p.value or 0.0) / p.threshold if p.threshold else 0.0
    return (_RANK[p.status], ratio)


def _finding(points: Sequence[CheckPoint]) -> str:
    worst = max(points, key=_severity)
    times = [p.end for p in points]
    charts = [
        svg.timeline(
            times,
            [p.value for p in points],
            [p.threshold for p in points],
            [p.status.is_alert for p in points],
            title=f"{worst.metric} per window (threshold dashed)",
        )
    ]
    distribution = worst.context.get("distribution")
    if isinstance(distribution, dict) and distribution.get("bins"):
        charts.append(
            svg.bars(
                [str(b) for b in distribution["bins"]],
                [float(x) for x in distribution["expected"]],
                [float(x) for x in distribution["observed"]],
                title=f"baseline vs window ending {worst.end:%H:%M}",
            )
        )
    examples = worst.context.get("examples")
    extra = ""
    if isinstance(examples, list) and examples:
        shown = ", ".join(f"<code>{escape(str(v))}</code> ×{int(n):,}" for v, n in examples[:10])
        extra = f"<p class=examples>Examples in the worst window: {shown}</p>"
    status = str(worst.status)
    return (
        f'<div class=finding><h3><span class="{status}">{escape(status)}</span> · '
        f"{escape(worst.message)}</h3><div class=charts>{''.join(charts)}</div>{extra}</div>"
    )


def _alerts_table(alerts: Sequence[AlertPoint]) -> str:
    if not alerts:
        return "<h2>Alerts</h2><p>No alerts in the period.</p>"
    quiet = (Transition.ONGOING, Transition.RECOVERING)
    ongoing = sum(a.transition in quiet for a in alerts)
    alerts = [a for a in alerts if a.transition not in quiet]
    rows = "".join(
        f"<tr><td>{a.end:%Y-%m-%d %H:%M}</td><td>{escape(str(a.transition))}</td>"
        f'<td class="{a.severity}">{escape(str(a.severity))}</td><td>{escape(a.message)}</td></tr>'
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
