"""The window's operational counts: failures, latency, and the preceding windows' volumes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from numpy.typing import ArrayLike

from mlmon_elk.contract import Field
from mlmon_elk.profile.counting.aggregation import Agg, Body, number
from mlmon_elk.profile.counting.quantiles import QuantileSketch
from mlmon_elk.profile.window import LatencyStats
from mlmon_elk.windows import Window, format_time

DEFAULT_PERCENTS = (50.0, 95.0, 99.0)
"""Latency percentiles fetched by default."""

HDR_DIGITS = 3
"""Significant digits of the engine's HDR histogram of latencies: each percentile within
0.1 % of a latency of its rank. On a million latencies it took a tenth of TDigest's
time (25 against 255 ms on the test engine), the largest part of a sampled window."""

FAILURES = "failures"
LATENCY = "latency"
LATENCY_STATS = "latency_stats"
HISTORY = "history"
"""Aggregation names (``history`` at the top of a request, the others per version)."""


def failures_aggregation() -> Agg:
    """Failed predictions (``event.outcome: failure``)."""
    return Agg(FAILURES, {"filter": {"term": {Field.EVENT_OUTCOME: "failure"}}}, 0)


def aggregations(percents: Sequence[float], *, hdr: bool = True) -> list[Agg]:
    """Failed predictions, latency percentiles and latency stats.

    The percentiles come from an HDR histogram (:data:`HDR_DIGITS`), or with
    ``hdr=False`` from TDigest, which also records what HDR cannot: a negative
    latency, or latencies spanning more than about 15 orders of magnitude.
    """
    percentiles: Body = {
        "field": Field.LATENCY_MS,
        "percents": sorted(set(percents)),
        "keyed": False,
    }
    if hdr:
        percentiles["hdr"] = {"number_of_significant_value_digits": HDR_DIGITS}
    return [
        failures_aggregation(),
        Agg(LATENCY, {"percentiles": percentiles}, 0),
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
    """The same stats of per-prediction latencies (NaN and infinities are no value):
    percentiles estimated as :func:`latency_sketch_stats` does, so every path agrees."""
    if latency_ms is None:
        return LatencyStats(count=0)
    return latency_sketch_stats(QuantileSketch.of(latency_ms), percents)


def latency_sketch_stats(sketch: QuantileSketch, percents: Sequence[float]) -> LatencyStats:
    """The stats of latencies counted into ``sketch``: count, mean and max exact, percentiles
    within the sketch's relative accuracy (0.5 %) of a latency of the percentile's rank —
    as the engine's own are HDR histogram (or TDigest) estimates."""
    if not sketch.count:
        return LatencyStats(count=0)
    return LatencyStats(
        count=sketch.count,
        percentiles=sketch.percentiles(percents),
        mean=sketch.mean,
        max=sketch.max,
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
