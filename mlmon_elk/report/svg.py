"""Three small SVG charts for the HTML report, with no plotting dependency.

Pure functions from numbers to an ``<svg>`` string: grouped bars comparing the
baseline with a window, a metric over time against its threshold, a grid of
check statuses, and table-cell sized sparklines and distribution bars. Text is
escaped; sizes are fixed so the report lays out predictably.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime
from html import escape

BASELINE_COLOUR = "#7a8ca3"
WINDOW_COLOUR = "#e07b39"
ALERT_COLOUR = "#c0392b"
GRID_COLOUR = "#e3e6ea"
STATUS_COLOUR = {
    "ok": "#7fbf7f",
    "notice": "#5b9bd5",
    "warning": "#f0b429",
    "critical": ALERT_COLOUR,
    "insufficient_data": "#c9ced6",
    "error": "#6c3483",
}
_FONT = {"font_family": "system-ui, sans-serif", "font_size": 11}


def bars(
    labels: Sequence[str],
    expected: Sequence[float],
    observed: Sequence[float],
    *,
    width: int = 500,
    height: int = 220,
    title: str = "",
) -> str:
    """Grouped bars of two distributions (shares 0..1) over the same bins."""
    n = len(labels)
    if n == 0 or len(expected) != n or len(observed) != n:
        msg = "bars needs one expected and one observed share per label"
        raise ValueError(msg)
    left, right, top, bottom = 40, 10, 24, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    scale = _nice_ceiling(max([*expected, *observed, 1e-9]))
    slot = plot_w / n
    bar_w = max(1.0, slot * 0.38)
    parts = [*_y_grid(left, top, plot_w, plot_h, scale, percent=True)]
    for i, (label, e, o) in enumerate(zip(labels, expected, observed, strict=True)):
        x = left + i * slot + slot / 2
        for offset, value, colour, who in (
            (-bar_w, e, BASELINE_COLOUR, "baseline"),
            (0.0, o, WINDOW_COLOUR, "window"),
        ):
            tip = f"{label} · {who} {value:.1%}"
            parts.append(
                _bar(x + offset, top + plot_h, bar_w, plot_h * value / scale, colour, tip=tip)
            )
        y = top + plot_h + 12
        parts.append(
            _text(
                _short(label),
                x=x,
                y=y,
                text_anchor="end",
                transform=f"rotate(-35 {x:.1f} {y})",
                **_FONT,
            )
        )
    parts.append(
        _legend(width - right, top - 10, (("baseline", BASELINE_COLOUR), ("window", WINDOW_COLOUR)))
    )
    return _svg(width, height, title, parts)


def timeline(
    times: Sequence[datetime],
    values: Sequence[float | None],
    thresholds: Sequence[float | None],
    alerts: Sequence[bool],
    *,
    width: int = 500,
    height: int = 180,
    title: str = "",
    percent: bool = False,
    suffix: str = "",
) -> str:
    """A metric per window (line and dots) against its threshold (dashed), alerts in red.

    ``suffix`` follows every number (`` pts``, `` ms``): values are plotted as given.
    """
    n = len(times)
    if n == 0 or not (len(values) == len(thresholds) == len(alerts) == n):
        msg = "timeline needs one value, threshold and alert flag per time"
        raise ValueError(msg)
    left, right, top, bottom = 46, 10, 24, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    finite = [v for v in (*values, *thresholds) if v is not None and math.isfinite(v)]
    scale = _nice_ceiling(max([*finite, 1e-9]))
    t0, span = times[0].timestamp(), max(times[-1].timestamp() - times[0].timestamp(), 1.0)

    def xy(t: datetime, v: float) -> tuple[float, float]:
        x = left + plot_w * ((t.timestamp() - t0) / span if n > 1 else 0.5)
        return x, top + plot_h - plot_h * min(v, scale) / scale

    parts = [*_y_grid(left, top, plot_w, plot_h, scale, percent=percent, suffix=suffix)]
    for series, colour, dash in (
        (thresholds, ALERT_COLOUR, "4 3"),
        (values, WINDOW_COLOUR, "none"),
    ):
        points = [xy(t, v) for t, v in zip(times, series, strict=True) if v is not None]
        parts += _polyline(points, colour, dash, 1.5)
    for t, v, alert in zip(times, values, alerts, strict=True):
        if v is None:
            continue
        x, y = xy(t, v)
        shown = f"{v:.1%}" if percent else f"{v:.4g}{suffix}"
        tip = _title(f"{t:%Y-%m-%d %H:%M} · {shown}")
        parts.append(
            _tag("circle", tip, cx=x, cy=y, r=3.2, fill=ALERT_COLOUR if alert else WINDOW_COLOUR)
        )
    parts += _time_axis(left, width - right, height - 8, times)
    parts.append(_marks_legend(width - right, top - 10))
    return _svg(width, height, title, parts)


def sparkline(
    values: Sequence[float | None],
    thresholds: Sequence[float | None],
    alerts: Sequence[bool],
    *,
    width: int = 120,
    height: int = 26,
    tip: str = "",
) -> str:
    """A tiny metric-over-windows line for a table cell: threshold dashed, alerts as red dots."""
    n = len(values)
    if n == 0 or not (len(thresholds) == len(alerts) == n):
        msg = "sparkline needs one value, threshold and alert flag per window"
        raise ValueError(msg)
    finite = [v for v in (*values, *thresholds) if v is not None and math.isfinite(v)]
    scale = max([*finite, 1e-9]) * 1.1
    pad = 3.0

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)
        return x, height - pad - (height - 2 * pad) * min(v, scale) / scale

    parts = [_title(tip)] if tip else []
    for series, colour, dash in (
        (thresholds, ALERT_COLOUR, "3 2"),
        (values, WINDOW_COLOUR, "none"),
    ):
        points = [xy(i, v) for i, v in enumerate(series) if v is not None and math.isfinite(v)]
        parts += _polyline(points, colour, dash, 1.2)
    for i, (v, alert) in enumerate(zip(values, alerts, strict=True)):
        if alert and v is not None and math.isfinite(v):
            x, y = xy(i, v)
            parts.append(_tag("circle", cx=x, cy=y, r=2.2, fill=ALERT_COLOUR))
    return _bare_svg(width, height, parts)


def mini_bars(
    expected: Sequence[float],
    observed: Sequence[float],
    *,
    width: int = 120,
    height: int = 26,
    tip: str = "",
) -> str:
    """Baseline (grey) and window (orange) shares per bin, side by side, for a table cell."""
    n = len(expected)
    if n == 0 or len(observed) != n:
        msg = "mini_bars needs one expected and one observed share per bin"
        raise ValueError(msg)
    scale = max([*expected, *observed, 1e-9])
    slot = (width - 2) / n
    bar = max(slot / 2 - 0.5, 0.5)
    parts = [_title(tip)] if tip else []
    for i, (e, o) in enumerate(zip(expected, observed, strict=True)):
        for offset, value, colour in ((0.0, e, BASELINE_COLOUR), (bar, o, WINDOW_COLOUR)):
            parts.append(
                _bar(1 + i * slot + offset, height - 1, bar, (height - 2) * value / scale, colour)
            )
    return _bare_svg(width, height, parts)


def _bar(x: float, base: float, width: float, height: float, fill: str, *, tip: str = "") -> str:
    """A bar standing on the line ``y = base``, with a hover ``tip``."""
    body = _title(tip) if tip else ""
    return _tag("rect", body, x=x, y=base - height, width=width, height=height, fill=fill)


def _polyline(
    points: Sequence[tuple[float, float]], colour: str, dash: str, width: float
) -> list[str]:
    """A line through ``points``; nothing for fewer than two."""
    if len(points) < 2:
        return []
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    line = _tag(
        "polyline",
        points=path,
        fill="none",
        stroke=colour,
        stroke_width=width,
        stroke_dasharray=dash,
    )
    return [line]


def _legend_line(x0: float, y: float, length: float, colour: str, dash: str) -> str:
    """A legend's sample of a line: ``length`` wide from ``x0``, at height ``y``."""
    return _tag(
        "line",
        x1=x0,
        y1=y,
        x2=x0 + length,
        y2=y,
        stroke=colour,
        stroke_width=1.5,
        stroke_dasharray=dash,
    )


def _bare_svg(width: int, height: int, parts: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img">' + "".join(parts) + "</svg>"
    )


def _marks_legend(x_right: int, y: int) -> str:
    """The legend of :func:`timeline`, drawn with the very marks it explains."""

    def line(x0: float, colour: str, dash: str) -> str:
        return _legend_line(x0, y - 3.0, 14, colour, dash)

    def dot(x0: float, colour: str) -> str:
        return _tag("circle", cx=x0 + 7, cy=y - 3.0, r=3.2, fill=colour)

    parts, x = [], float(x_right)
    for label in ("threshold", "alerting", "value"):
        x -= 6.5 * len(label) + 22
        x0 = float(round(x))
        if label == "threshold":
            parts.append(line(x0, ALERT_COLOUR, "4 3"))
        elif label == "alerting":
            parts.append(dot(x0, ALERT_COLOUR))
        else:
            parts.append(line(x0, WINDOW_COLOUR, "none") + dot(x0, WINDOW_COLOUR))
        parts.append(_text(label, x=x0 + 18, y=y + 1, **_FONT))
    return _tag("g", "".join(parts), class_="legend")


def status_grid(
    rows: Sequence[str],
    times: Sequence[datetime],
    statuses: Sequence[Sequence[str | None]],
    *,
    width: int = 1040,
    row_height: int = 16,
    label_width: int = 300,
) -> str:
    """One coloured cell per (row, window) by check status; blank where no result."""
    if len(statuses) != len(rows) or any(len(r) != len(times) for r in statuses):
        msg = "status_grid needs one status per row and window"
        raise ValueError(msg)
    top, bottom = 8, 22
    cell = (width - label_width - 10) / max(len(times), 1)
    height = top + bottom + row_height * len(rows)
    parts = []
    for i, (label, row) in enumerate(zip(rows, statuses, strict=True)):
        y = top + i * row_height
        parts.append(
            _text(label, x=label_width - 6, y=y + row_height - 4, text_anchor="end", **_FONT)
        )
        for j, status in enumerate(row):
            if status is None:
                continue
            tip = _title(f"{label} · {times[j]:%Y-%m-%d %H:%M} · {status}")
            fill = STATUS_COLOUR.get(status, GRID_COLOUR)
            x = label_width + j * cell
            parts.append(
                _tag(
                    "rect",
                    tip,
                    x=x,
                    y=y + 1,
                    width=max(cell - 1, 1),
                    height=row_height - 2,
                    fill=fill,
                )
            )
    if times:
        parts += _time_axis(label_width, width - 10, height - 6, times)
    return _svg(width, height, "", parts)


def _tag(name: str, body: str = "", **attributes: object) -> str:
    """One SVG element around ``body`` (markup); ``font_size`` → ``font-size``,
    ``class_`` → ``class``, floats to one decimal, attribute values escaped."""
    attrs = " ".join(
        f'{key.rstrip("_").replace("_", "-")}="{_value(value)}"'
        for key, value in attributes.items()
    )
    return f"<{name} {attrs}>{body}</{name}>"


def _text(text: str, **attributes: object) -> str:
    return _tag("text", escape(text), **attributes)


def _title(text: str) -> str:
    return _tag("title", escape(text))


def _value(value: object) -> str:
    return f"{value:.1f}" if isinstance(value, float) else escape(str(value))


def _svg(width: int, height: int, title: str, parts: list[str]) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img">'
    )
    if title:
        head += _text(title, x=4, y=13, font_weight=600, **_FONT)
    return head + "".join(parts) + "</svg>"


def _y_grid(
    left: int, top: int, plot_w: int, plot_h: int, scale: float, *, percent: bool, suffix: str = ""
) -> list[str]:
    parts = []
    # 1 and 2 × 10^k split into quarters, 2.5 and 5 × 10^k into fifths: round ticks.
    lead = round(scale / 10.0 ** math.floor(math.log10(scale)), 6)
    steps = 5 if lead in (2.5, 5.0) else 4
    label: Callable[[float], str] = (
        (lambda v: f"{v:.0%}") if percent else (lambda v: f"{v:.3g}{suffix}")
    )
    for k in range(steps + 1):
        value = scale * k / steps
        y = top + plot_h - plot_h * k / steps
        parts.append(_tag("line", x1=left, y1=y, x2=left + plot_w, y2=y, stroke=GRID_COLOUR))
        parts.append(_text(label(value), x=left - 4, y=y + 3, text_anchor="end", **_FONT))
    return parts


def _time_axis(x_left: int, x_right: int, y: int, times: Sequence[datetime]) -> list[str]:
    return [
        _text(f"{times[0]:%Y-%m-%d %H:%M}", x=x_left, y=y, **_FONT),
        _text(f"{times[-1]:%Y-%m-%d %H:%M}", x=x_right, y=y, text_anchor="end", **_FONT),
    ]


def _legend(x_right: int, y: int, items: Sequence[tuple[str, str]]) -> str:
    parts, x = [], float(x_right)
    for label, colour in reversed(items):
        x -= 7 * len(label) + 18
        parts.append(_tag("rect", x=round(x), y=y - 8, width=10, height=10, fill=colour))
        parts.append(_text(label, x=round(x) + 14, y=y + 1, **_FONT))
    return "".join(parts)


def _nice_ceiling(value: float) -> float:
    """The smallest 1/2/2.5/5 × 10^k at or above ``value`` (clean axis labels)."""
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        candidate = step * 10.0**exponent
        if candidate >= value * (1 - 1e-12):
            return candidate
    return 10.0 ** (exponent + 1)  # pragma: no cover - the loop always returns


def _short(label: str, limit: int = 14) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


ESTIMATE_COLOUR = "#3f6fb5"
SHARE_COLOUR = "#e6ebf2"


def performance(
    times: Sequence[datetime],
    realized: Sequence[float | None],
    estimated: Sequence[float | None],
    baseline: float | None,
    labelled_share: Sequence[float | None],
    *,
    width: int = 540,
    height: int = 200,
    title: str = "",
    percent: bool = True,
) -> str:
    """Realized (solid) and estimated (dashed) metric per window against the baseline (dotted),
    over pale bars of the labelled share (right axis, 0–100%)."""
    n = len(times)
    if n == 0 or not (len(realized) == len(estimated) == len(labelled_share) == n):
        msg = "performance needs one realized, estimated and labelled-share value per time"
        raise ValueError(msg)
    left, right, top, bottom = 46, 40, 30, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for v in (*realized, *estimated, baseline) if v is not None and math.isfinite(v)]
    lo, hi = _value_range(values, percent=percent)
    t0, span = times[0].timestamp(), max(times[-1].timestamp() - times[0].timestamp(), 1.0)

    def x_of(t: datetime) -> float:
        return left + plot_w * ((t.timestamp() - t0) / span if n > 1 else 0.5)

    def y_of(v: float) -> float:
        return top + plot_h - plot_h * (min(max(v, lo), hi) - lo) / (hi - lo)

    parts = []
    bar = max(min(plot_w / n * 0.6, 24.0), 1.0)
    for t, share in zip(times, labelled_share, strict=True):
        if share is None:
            continue
        h = plot_h * min(max(share, 0.0), 1.0)
        tip = _title(f"{t:%Y-%m-%d %H:%M} · labelled {share:.1%}")
        parts.append(
            _tag(
                "rect",
                tip,
                x=x_of(t) - bar / 2,
                y=top + plot_h - h,
                width=bar,
                height=h,
                fill=SHARE_COLOUR,
            )
        )
    label: Callable[[float], str] = (lambda v: f"{v:.0%}") if percent else (lambda v: f"{v:.3g}")
    for k in range(5):
        value = lo + (hi - lo) * k / 4
        y = top + plot_h - plot_h * k / 4
        parts.append(_tag("line", x1=left, y1=y, x2=left + plot_w, y2=y, stroke=GRID_COLOUR))
        parts.append(_text(label(value), x=left - 4, y=y + 3, text_anchor="end", **_FONT))
        parts.append(_text(f"{k * 25}%", x=left + plot_w + 4, y=y + 3, fill="#8a99ad", **_FONT))
    if baseline is not None:
        y = y_of(baseline)
        parts.append(
            _tag(
                "line",
                _title(f"baseline {label(baseline)}"),
                x1=left,
                y1=y,
                x2=left + plot_w,
                y2=y,
                stroke=BASELINE_COLOUR,
                stroke_width=1.5,
                stroke_dasharray="2 3",
            )
        )
    for series, colour, dash, hollow, who in (
        (estimated, ESTIMATE_COLOUR, "5 3", True, "estimated"),
        (realized, WINDOW_COLOUR, "none", False, "realized"),
    ):
        points = [
            (t, v, x_of(t), y_of(v)) for t, v in zip(times, series, strict=True) if v is not None
        ]
        if len(points) > 1:
            parts.append(
                _tag(
                    "polyline",
                    points=" ".join(f"{x:.1f},{y:.1f}" for _, _, x, y in points),
                    fill="none",
                    stroke=colour,
                    stroke_width=1.5,
                    stroke_dasharray=dash,
                )
            )
        for t, v, x, y in points:
            tip = _title(f"{t:%Y-%m-%d %H:%M} · {who} {label(v) if percent else f'{v:.3f}'}")
            parts.append(_performance_dot(x, y, colour, hollow=hollow, body=tip))
    parts += _time_axis(left, width - right, height - 8, times)
    parts.append(_performance_legend(width - right, top - 14))
    return _svg(width, height, title, parts)


def _value_range(values: Sequence[float], *, percent: bool) -> tuple[float, float]:
    """An axis range around ``values`` in round steps (shares within 0..1)."""
    if not values:
        return (0.0, 1.0)
    low, high = min(values), max(values)
    step = 0.05 if percent else _nice_ceiling(max(high - low, abs(high) * 0.05, 1e-9)) / 4
    lo, hi = math.floor(low / step) * step, math.ceil(high / step) * step
    if hi - lo < 4 * step:
        hi = lo + 4 * step
    if percent:
        lo, hi = max(lo, 0.0), min(hi, 1.0)
        if hi - lo < 4 * step:
            lo = max(hi - 4 * step, 0.0)
    return lo, hi


def _performance_dot(x: float, y: float, colour: str, *, hollow: bool, body: str = "") -> str:
    fill = "#fff" if hollow else colour
    return _tag("circle", body, cx=x, cy=y, r=3.0, fill=fill, stroke=colour, stroke_width=1.4)


def _performance_legend(x_right: int, y: int) -> str:
    """The legend of :func:`performance`, drawn with the marks it names."""
    parts, x = [], float(x_right)
    for label in ("labelled share", "baseline", "estimated", "realized"):
        x -= 6.5 * len(label) + 24
        x0 = float(round(x))
        if label == "labelled share":
            parts.append(_tag("rect", x=x0 + 2, y=y - 8, width=12, height=10, fill=SHARE_COLOUR))
        elif label == "baseline":
            parts.append(_legend_line(x0, y - 3.0, 16, BASELINE_COLOUR, "2 3"))
        else:
            colour = ESTIMATE_COLOUR if label == "estimated" else WINDOW_COLOUR
            dash = "5 3" if label == "estimated" else "none"
            parts.append(
                _legend_line(x0, y - 3.0, 16, colour, dash)
                + _performance_dot(x0 + 8, y - 3.0, colour, hollow=label == "estimated")
            )
        parts.append(_text(label, x=x0 + 20, y=y + 1, **_FONT))
    return _tag("g", "".join(parts), class_="legend")
