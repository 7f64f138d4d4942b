"""A readable console table of one run's results (the embedded mode's screen output).

Only what needs a look is listed — warnings, criticals, errors and alerts
that resolved — followed by one line per model version counting the rest, so
a run with hundreds of ``ok`` checks still fits on a screen::

    credit 1.0  [2024-05-01 12:00 → 12:10)  5,000 predictions
      critical  category_shift     marital    PSI 0.41 ≥ 0.10 (n=5,000); "divorced" 12% → 31%   new
      ok 41 · insufficient_data 2
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from mlmon_elk.checks.result import WindowResult
from mlmon_elk.contract import Status, Transition
from mlmon_elk.results.alerts import AlertEvent, AlertKey
from mlmon_elk.results.run_summary import RunSummary

_SHOWN = (Status.CRITICAL, Status.WARNING, Status.ERROR)
_ORDER = {s: i for i, s in enumerate((*_SHOWN, Status.INSUFFICIENT_DATA, Status.NOTICE, Status.OK))}


def run_table(
    results: Sequence[WindowResult],
    alerts: Sequence[AlertEvent],
    summary: RunSummary,
    *,
    verbose: bool = False,
) -> str:
    """The table of one run; ``verbose`` lists every result, ``ok`` included."""
    transition = {
        (e.key, id(e.window)): e.transition
        for e in alerts
        if e.transition is not Transition.RESOLVED
    }
    resolved = {(e.key, id(e.window)) for e in alerts if e.transition is Transition.RESOLVED}
    lines: list[str] = []
    for window in results:
        head = f"{window.model} {window.version}" if window.version else f"{window.model} (model)"
        span = f"[{time_range(window.start, window.end)})"
        lines.append(f"{head}  {span}  {window.count:,} predictions")
        rows = []
        for result in sorted(window.results, key=lambda r: (_ORDER[r.status], str(r.check))):
            key = (AlertKey.of(window, result), id(window))
            if not (verbose or result.status in _SHOWN or key in resolved):
                continue
            note = str(transition.get(key, "resolved" if key in resolved else ""))
            rows.append(
                (
                    str(result.status),
                    str(result.check),
                    result.feature or "-",
                    result.summary or result.metric,
                    note,
                )
            )
        lines.extend(_rows(rows))
        hidden = Counter(
            str(r.status) for r in window.results if not verbose and r.status not in _SHOWN
        )
        if hidden:
            lines.append(
                "  " + " · ".join(f"{s} {n}" for s, n in sorted(hidden.items(), key=_by_status))
            )
    lines.append(summary.line())
    lines.extend(f"  error: {e}" for e in summary.errors)
    lines.extend(f"  note: {n}" for n in summary.notes)
    return "\n".join(lines)


def time_range(start: datetime, end: datetime) -> str:
    """``2018-11-01 00:00 → 00:05``, with the end's date (and year) when it is another day."""
    end_format = "%H:%M" if end.date() == start.date() else "%Y-%m-%d %H:%M"
    return f"{start:%Y-%m-%d %H:%M} → {end.strftime(end_format)}"


def _by_status(item: tuple[str, int]) -> int:
    return _ORDER[Status(item[0])]


def _rows(rows: list[tuple[str, str, str, str, str]]) -> list[str]:
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return [
        "  "
        + "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + f"  {row[3]}"
        + (f"  [{row[4]}]" if row[4] else "")
        for row in rows
    ]
