"""The all-features table: every check of every feature, not only what fired.

One row per model version, feature and check: the feature's kind and role, the
metric with its threshold, value and p-value in the last window with data, the
status there and the worst over the period, a sparkline of the metric over the
windows and, for distribution checks, the baseline against that window. Rows
carry ``data-*`` attributes that the report's filter script reads; the filter
can be preset by the address: ``report.html#filter=income`` or ``report.html#alerted``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from html import escape

from mlmon_elk.contract import Check, Status
from mlmon_elk.report import svg
from mlmon_elk.report.data import CheckPoint
from mlmon_elk.report.units import compared_unit, kind_of, unit_of

SeriesKey = tuple[str, str | None, str, str | None]

RANK = {
    Status.CRITICAL: 4,
    Status.WARNING: 3,
    Status.ERROR: 2,
    Status.INSUFFICIENT_DATA: 1,
    Status.NOTICE: 0,
    Status.OK: 0,
}
MARK = {
    Status.CRITICAL: "✖",
    Status.WARNING: "▲",
    Status.ERROR: "!",
    Status.INSUFFICIENT_DATA: "·",
    Status.NOTICE: "◦",
    Status.OK: "✔",
}
"""One mark per status, the same in the table, the legend and the console."""

FILTER_SCRIPT = """
(function(){
  var q=document.getElementById('f-text'),k=document.getElementById('f-kind'),
      a=document.getElementById('f-alerted'),c=document.getElementById('f-count');
  var rows=document.querySelectorAll('#features tbody tr');
  function apply(){
    var text=q.value.toLowerCase(),kind=k.value,only=a.checked,shown=0;
    rows.forEach(function(r){
      var ok=(!text||r.dataset.text.indexOf(text)>=0)&&(!kind||r.dataset.kind===kind)
        &&(!only||r.dataset.alerted==='1');
      r.hidden=!ok; if(ok){shown++;}
    });
    c.textContent=shown+' of '+rows.length+' checks shown';
  }
  [q,k,a].forEach(function(el){el.addEventListener('input',apply);});
  var h=decodeURIComponent(location.hash.slice(1));
  if(h.indexOf('filter=')===0){q.value=h.slice(7);}
  if(h==='alerted'){a.checked=true;}
  apply();
})();
"""


def feature_kinds(checks: Sequence[CheckPoint]) -> dict[tuple[str | None, str], str]:
    """Each (version, feature)'s kind, as implied by the checks run on it."""
    kinds: dict[tuple[str | None, str], str] = {}
    for c in checks:
        if c.feature is None:
            continue
        kind = kind_of(c.check)
        bins = (c.context.get("distribution") or {}).get("bins") or []
        if not kind and c.check is Check.PREDICTION_DRIFT and bins:
            # An output's kind shows in its bins: numeric ones are ranges.
            kind = "num" if all(str(b)[:1] in "<≥" for b in bins) else "cat"
        if kind:
            kinds[(c.version, c.feature)] = kind
    return kinds


def last_with_data(points: Sequence[CheckPoint]) -> CheckPoint:
    """The latest point of a window that had predictions (else the latest point)."""
    with_data = [p for p in points if p.count > 0]
    return (with_data or list(points))[-1]


def features_table(series: Mapping[SeriesKey, Sequence[CheckPoint]]) -> str:
    """The table with its filter controls (the script is added once by the page)."""
    kinds = feature_kinds([p for points in series.values() for p in points])
    versions = {key[1] for key in series if key[1] is not None}
    rows = [
        _row(key, series[key], kinds, show_version=len(versions) > 1)
        for key in sorted(series, key=lambda k: _order(k, series[k]))
    ]
    controls = (
        "<div class=filters>"
        '<input id=f-text type=search placeholder="filter: feature, check, status…"'
        ' aria-label="filter rows">'
        '<select id=f-kind aria-label="kind"><option value="">every kind</option>'
        "<option value=num>numeric</option><option value=cat>categorical</option>"
        "<option value=text>text</option><option value=op>operational</option></select>"
        "<label><input id=f-alerted type=checkbox> only checks that alerted in the period</label>"
        "<span id=f-count class=meta></span></div>"
    )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "feature",
            "kind",
            "check",
            "metric",
            "threshold",
            "value",
            "p-value",
            "status",
            "worst",
            "over the windows",
            "baseline vs window",
        )
    )
    legend = (
        "<p class=meta>Value, p-value and status: the last window with predictions. "
        + " ".join(
            f'<span class="{s}">{MARK[s]} {escape(str(s))}</span>'
            for s in sorted(RANK, key=RANK.__getitem__, reverse=True)
        )
        + ". Sparkline: "
        f'<span style="color:{svg.WINDOW_COLOUR}">━ metric</span>, '
        f'<span style="color:{svg.ALERT_COLOUR}">╌ threshold</span>, '
        f'<span style="color:{svg.ALERT_COLOUR}">● alerting window</span>. Bars: '
        f'<span style="color:{svg.BASELINE_COLOUR}">■ baseline</span> '
        f'<span style="color:{svg.WINDOW_COLOUR}">■ window</span>.</p>'
    )
    return (
        f"{controls}{legend}<table id=features><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _order(key: SeriesKey, points: Sequence[CheckPoint]) -> tuple[int, int, str, str, str]:
    worst = max(RANK[p.status] for p in points)
    last = RANK[last_with_data(points).status]
    return (-worst, -last, key[1] or "", key[3] or "~", key[2])


def _row(
    key: SeriesKey,
    points: Sequence[CheckPoint],
    kinds: Mapping[tuple[str | None, str], str],
    *,
    show_version: bool,
) -> str:
    model, version, check, feature = key
    last = last_with_data(points)
    unit = unit_of(last.metric)
    worst = max(points, key=lambda p: RANK[p.status]).status
    kind = kinds.get((version, feature), "") if feature else "op"
    role = f" ({last.role})" if last.role == "output" else ""
    name = (feature or "(model)") + role
    if show_version:
        name = f"{version or model} · {name}"
    alerted = any(p.status.is_alert for p in points)
    values = [unit.plotted(p.value) for p in points]
    thresholds = [unit.plotted(p.threshold) for p in points]
    trend = svg.sparkline(
        values,
        thresholds,
        [p.status.is_alert for p in points],
        tip=f"{check} · {feature or model}: {len(points)} windows, "
        f"{points[0].end:%Y-%m-%d %H:%M} → {points[-1].end:%Y-%m-%d %H:%M}",
    )
    text = " ".join(str(x) for x in (name, kind, check, last.status, worst) if x).lower()
    cells = [
        escape(name),
        escape(kind if kind != "op" else "—"),
        escape(check),
        escape(last.metric),
        escape(unit.show(last.threshold)),
        escape(unit.show(last.value)),
        "—" if last.p_value is None else f"{last.p_value:.2g}",
        _status(last.status),
        _status(worst),
        trend,
        _distribution(last, kind),
    ]
    body = "".join(f"<td>{c}</td>" for c in cells)
    return (
        f'<tr data-text="{escape(text)}" data-kind="{kind}" data-alerted="{int(alerted)}">'
        f"{body}</tr>"
    )


def _status(status: Status) -> str:
    return f'<span class="{status}">{MARK[status]} {escape(str(status))}</span>'


def _distribution(point: CheckPoint, kind: str) -> str:
    """Mini bars of the window's distribution, or the baseline → window figures."""
    distribution = point.context.get("distribution")
    compared = compared_unit(point.check, point.metric, kind)
    figures = (
        f"{compared.show(point.expected)} → {compared.show(point.observed)}"
        if point.expected is not None or point.observed is not None
        else "—"
    )
    if isinstance(distribution, dict) and distribution.get("bins"):
        expected = [float(x) for x in distribution["expected"]]
        observed = [float(x) for x in distribution["observed"]]
        tip = "; ".join(
            f"{b}: {e:.1%} → {o:.1%}"
            for b, e, o in zip(distribution["bins"], expected, observed, strict=True)
        )
        return svg.mini_bars(expected, observed, tip=tip) + f"<br><small>{escape(figures)}</small>"
    return escape(figures)


def series_of(checks: Sequence[CheckPoint]) -> dict[SeriesKey, list[CheckPoint]]:
    """Check points grouped by what a line over time follows (oldest first)."""
    out: dict[SeriesKey, list[CheckPoint]] = defaultdict(list)
    for c in checks:
        out[(c.model, c.version, str(c.check), c.feature)].append(c)
    return out
