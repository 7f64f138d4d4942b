"""The window's operational counts: failures, latency, and the preceding windows' volumes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from mlmon_elk.contract import Field
from mlmon_elk.profile.counting.aggregation import Agg, Body, number
from mlmon_elk.profile.window import LatencyStats
from mlmon_elk.windows import Window, format_time

DEFAULT_PERCENTS = (50.0, 95.0, 99.0)
"""Latency percentiles fetched by default."""

FAILURES = "failures"
LATENCY = "latency"
LATENCY_STATS = "latency_stats"
HISTORY = "history"
"""Aggregation names (``history`` at the top of a request, the others per version)."""


def failures_aggregation() -> Agg:
    """Failed predictions (``event.outcome: failure``)."""
    return Agg(FAILURES, {"filter": {"term": {Field.EVENT_OUTCOME: "failure"}}}, 0)


def aggregations(percents: Sequence[float]) -> list[Agg]:
    """Failed predictions, latency percentiles and latency stats."""
    return [
        failures_aggregation(),
        Agg(
            LATENCY,
            {
                "percentiles": {
                    "field": Field.LATENCY_MS,
                    "percents": sorted(set(percents)),
                    "keyed": False,
                }
            },
            0,
        ),
        Agg(LATENCY_STATS, {"stats": {"field": Field.LATENCY_MS}}, 0),
    ]


def parse_failures(aggs: Mapping[str, Any]) -> int:
    return int((aggs.get(FAILURES) or {}).get("doc_count", 0))


def parse_latency(aggs: Mapping[str, Any]) -> LatencyStats:
    stats = aggs.get(LATENCY_STATS) or {}
    count = int(stats.get("count") or 0)
    if not count:
        return LatencyStats(count=0)
    percentiles = {
        float(v["key"]): float(v["value"])
        for v in (aggs.get(LATENCY) or {}).get("values", [])
        if v.get("value") is not None
    }
    return LatencyStats(
        count=count,
        percentiles=percentiles,
        mean=number(stats.get("avg")),
        max=number(stats.get("max")),
    )


def latency_stats(latency_ms: ArrayLike | None, percents: Sequence[float]) -> LatencyStats:
    """The same stats of per-prediction latencies (NaN and infinities are no value)."""
    if latency_ms is None:
        return LatencyStats(count=0)
    x = np.asarray(latency_ms, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return LatencyStats(count=0)
    values = np.percentile(x, percents)
    return LatencyStats(
        count=int(x.size),
        percentiles={p: float(v) for p, v in zip(percents, values, strict=True)},
        mean=float(x.mean()),
        max=float(x.max()),
    )


def history_aggregation(window: Window, history: int) -> Body:
    """``date_range``: one bucket per preceding window of the same length (the volume check)."""
    ranges = [
        {"key": f"h{i}", "from": format_time(w.start), "to": format_time(w.end)}
        for i, w in enumerate(window.preceding(history))
    ]
    return {"date_range": {"field": Field.TIMESTAMP, "keyed": True, "ranges": ranges}}


def parse_history(response: Mapping[str, Any], history: int) -> tuple[int, ...]:
    buckets = ((response.get("aggregations") or {}).get(HISTORY) or {}).get("buckets") or {}
    return tuple(int((buckets.get(f"h{i}") or {}).get("doc_count", 0)) for i in range(history))
