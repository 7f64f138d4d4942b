"""Two small SVG charts for the HTML report, with no plotting dependency.

Pure functions from numbers to an ``<svg>`` string: grouped bars comparing the
baseline with a window, and a metric over time against its threshold. Text is
escaped; sizes are fixed so the report lays out predictably.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from html import escape

BASELINE_COLOUR = "#7a8ca3"
WINDOW_COLOUR = "#e07b39"
ALERT_COLOUR = "#c0392b"
GRID_COLOUR = "#e3e6ea"
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


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
    peak = max([*expected, *observed, 1e-9])
    scale = _nice_ceiling(peak)
    slot = plot_w / n
    bar_w = max(1.0, slot * 0.38)
    parts = [_open(width, height, title)]
    parts += _y_grid(left, top, plot_w, plot_h, scale, percent=True)
    for i, (label, e, o) in enumerate(zip(labels, expected, observed, strict=True)):
        x = left + i * slot + slot / 2
        for offset, value, colour, who in ((-bar_w, e, BASELINE_COLOUR, "baseline"), (0.0, o, WINDOW_COLOUR, "window")):
            h = plot_h * value / scale
            parts.append(
                f'<rect x="{x + offset:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(label)} · {who} {value:.1%}</title></rect>'
            )
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 12}" {FONT} text-anchor="end" '
            f'transform="rotate(-35 {x:.1f} {top + plot_h + 12})">{escape(_short(label))}</text>'
        )
    parts.append(_legend(width - right, top - 10, (("baseline", BASELINE_COLOUR), ("window", WINDOW_COLOUR))))
    parts.append("</svg>")
    return "".join(parts)


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
) -> str:
    """A metric per window (line and dots) against its threshold (dashed), alerts in red."""
    n = len(times)
    if n == 0 or not (len(values) == len(thresholds) == len(alerts) == n):
        msg = "timeline needs one value, threshold and alert flag per time"
        raise ValueError(msg)
    left, right, top, bottom = 46, 10, 24, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    finite = [v for v in (*values, *thresholds) if v is not None and math.isfinite(v)]
    scale = _nice_ceiling(max([*finite, 1e-9]))
    t0, t1 = times[0].timestamp(), times[-1].timestamp()
    span = max(t1 - t0, 1.0)

    def xy(t: datetime, v: float) -> tuple[float, float]:
        x = left + plot_w * ((t.timestamp() - t0) / span if n > 1 else 0.5)
        return x, top + plot_h - plot_h * min(v, scale) / scale

    parts = [_open(width, height, title)]
    parts += _y_grid(left, top, plot_w, plot_h, scale, percent=percent)
    for points, style in (
        ([xy(t, v) for t, v in zip(times, thresholds, strict=True) if v is not None], 'stroke-dasharray="4 3"'),
        ([xy(t, v) for t, v in zip(times, values, strict=True) if v is not None], ""),
    ):
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            colour = ALERT_COLOUR if style else WINDOW_COLOUR
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5" {style}/>')
    for t, v, alert in zip(times, values, alerts, strict=True):
        if v is None:
            continue
        x, y = xy(t, v)
        colour = ALERT_COLOUR if alert else WINDOW_COLOUR
        label = f"{t:%Y-%m-%d %H:%M} · {v:.1%}" if percent else f"{t:%Y-%m-%d %H:%M} · {v:.4g}"
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.2" fill="{colour}"><title>{label}</title></circle>')
    parts.append(
        f'<text x="{left}" y="{height - 8}" {FONT}>{times[0]:%m-%d %H:%M}</text>'
        f'<text x="{width - right}" y="{height - 8}" {FONT} text-anchor="end">{times[-1]:%m-%d %H:%M}</text>'
    )
    parts.append(_legend(width - right, top - 10, (("value", WINDOW_COLOUR), ("threshold", ALERT_COLOUR))))
    parts.append("</svg>")
    return "".join(parts)


def _open(width: int, height: int, title: str) -> str:
    head = f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'
    if title:
        head += f'<text x="4" y="13" {FONT} font-weight="600">{escape(title)}</text>'
    return head


def _y_grid(left: int, top: int, plot_w: int, plot_h: int, scale: float, *, percent: bool) -> list[str]:
    parts = []
    # 1 and 2 × 10^k split into quarters, 2.5 and 5 × 10^k into fifths: round ticks.
    lead = round(scale / 10.0 ** math.floor(math.log10(scale)), 6)
    steps = 5 if lead in (2.5, 5.0) else 4
    for k in range(steps + 1):
        value = scale * k / steps
        y = top + plot_h - plot_h * k / steps
        label = f"{value:.0%}" if percent else f"{value:.3g}"
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{GRID_COLOUR}"/>'
            f'<text x="{left - 4}" y="{y + 3:.1f}" {FONT} text-anchor="end">{label}</text>'
        )
    return parts


def _legend(x_right: int, y: int, items: Sequence[tuple[str, str]]) -> str:
    parts, x = [], float(x_right)
    for label, colour in reversed(items):
        x -= 7 * len(label) + 18
        parts.append(
            f'<rect x="{x:.0f}" y="{y - 8}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14:.0f}" y="{y + 1}" {FONT}>{escape(label)}</text>'
        )
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


STATUS_COLOUR = {
    "ok": "#7fbf7f",
    "warning": "#f0b429",
    "critical": ALERT_COLOUR,
    "insufficient_data": "#c9ced6",
    "error": "#6c3483",
}


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
    cols = max(len(times), 1)
    cell = (width - label_width - 10) / cols
    height = top + bottom + row_height * len(rows)
    parts = [_open(width, height, "")]
    for i, (label, row) in enumerate(zip(rows, statuses, strict=True)):
        y = top + i * row_height
        parts.append(
            f'<text x="{label_width - 6}" y="{y + row_height - 4}" {FONT} text-anchor="end">'
            f"{escape(label)}</text>"
        )
        for j, status in enumerate(row):
            if status is None:
                continue
            x = label_width + j * cell
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 1}" width="{max(cell - 1, 1):.1f}" height="{row_height - 2}" '
                f'fill="{STATUS_COLOUR.get(status, GRID_COLOUR)}"><title>{escape(label)} · '
                f"{times[j]:%Y-%m-%d %H:%M} · {escape(status)}</title></rect>"
            )
    if times:
        y = height - 6
        parts.append(
            f'<text x="{label_width}" y="{y}" {FONT}>{times[0]:%m-%d %H:%M}</text>'
            f'<text x="{width - 10}" y="{y}" {FONT} text-anchor="end">{times[-1]:%m-%d %H:%M}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
