"""A numeric feature's count: values on the baseline's bins, out-of-range counts, stats.

Bins are half-open ``[edge_i, edge_i+1)`` like Elasticsearch's ``range``
aggregation; ``std`` is the population standard deviation (``extended_stats``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlmon_elk.contract import Kind, value_field
from mlmon_elk.profile.baseline import FeatureProfile, NumericProfile
from mlmon_elk.profile.counting.aggregation import Agg, Body, number
from mlmon_elk.profile.window import NumericCounts

BINS = "bins"
STATS = "stats"
"""Aggregation names (after ``<role>:<feature>:``)."""


def aggregations(feature: FeatureProfile, prefix: str) -> list[Agg]:
    """Keyed ``range`` on the baseline bins plus below-min / above-max, and ``extended_stats``."""
    n = feature.numeric
    assert n is not None  # noqa: S101 - only called for numeric features
    target = value_field(feature.role, Kind.NUM, feature.name)
    bounds = (-math.inf, *n.edges, math.inf)
    ranges: list[Body] = []
    for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        r: Body = {"key": f"b{i}"}
        if lo != -math.inf:
            r["from"] = lo
        if hi != math.inf:
            r["to"] = hi
        ranges.append(r)
    ranges.append({"key": "below", "to": n.min})
    # `from` is inclusive: the next double above the maximum means "> max".
    ranges.append({"key": "above", "from": math.nextafter(n.max, math.inf)})
    return [
        Agg(
            f"{prefix}:{BINS}",
            {"range": {"field": target, "keyed": True, "ranges": ranges}},
            len(ranges),
        ),
        Agg(f"{prefix}:{STATS}", {"extended_stats": {"field": target}}, 0),
    ]


def parse(profile: NumericProfile, aggs: Mapping[str, Any], prefix: str) -> NumericCounts:
    """The counts :func:`aggregations` asked for, from one version bucket."""
    buckets = (aggs.get(f"{prefix}:{BINS}") or {}).get("buckets") or {}
    bins = tuple(
        int((buckets.get(f"b{i}") or {}).get("doc_count", 0)) for i in range(len(profile.edges) + 1)
    )
    if not sum(bins):
        return NumericCounts(bins=bins, count=0)
    stats = aggs.get(f"{prefix}:{STATS}") or {}
    std = stats.get("std_deviation_population", stats.get("std_deviation"))
    return NumericCounts(
        bins=bins,
        count=sum(bins),
        below_min=int((buckets.get("below") or {}).get("doc_count", 0)),
        above_max=int((buckets.get("above") or {}).get("doc_count", 0)),
        min=number(stats.get("min")),
        max=number(stats.get("max")),
        mean=number(stats.get("avg")),
        std=number(std),
    )


def count(values: np.ndarray, profile: NumericProfile) -> NumericCounts:
    """The same counts of finite ``values`` (the DataFrame path and a chunk of documents)."""
    x = np.asarray(values, dtype=float)
    bins = np.bincount(
        np.searchsorted(profile.edges, x, side="right"), minlength=len(profile.edges) + 1
    )
    if x.size == 0:
        return NumericCounts(bins=tuple(int(b) for b in bins), count=0)
    # Values near the largest double (sentinels such as 1e308) overflow the mean and the
    # variance: they give inf, as Elasticsearch's stats do, not a warning per chunk.
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = float(x.mean()), float(x.std())
    return NumericCounts(
        bins=tuple(int(b) for b in bins),
        count=int(x.size),
        below_min=int(np.count_nonzero(x < profile.min)),
        above_max=int(np.count_nonzero(x > profile.max)),
        min=float(x.min()),
        max=float(x.max()),
        mean=mean,
        std=std,
    )


@dataclass(slots=True)
class NumericSum:
    """Counts of chunks merged exactly, as one count of all their values would be."""

    bins: np.ndarray
    below: int = 0
    above: int = 0
    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    lo: float = math.inf
    hi: float = -math.inf

    @classmethod
    def of(cls, profile: NumericProfile) -> NumericSum:
        return cls(bins=np.zeros(len(profile.edges) + 1, dtype=np.int64))

    def add(self, c: NumericCounts) -> None:
        self.bins += np.asarray(c.bins, dtype=np.int64)
        if not c.count:
            return
        self.below += c.below_min
        self.above += c.above_max
        self.lo = min(self.lo, c.min if c.min is not None else math.inf)
        self.hi = max(self.hi, c.max if c.max is not None else -math.inf)
        # Chan et al.'s pairwise update: exact merging of means and variances.
        mean, m2 = c.mean or 0.0, (c.std or 0.0) ** 2 * c.count
        total = self.n + c.count
        delta = mean - self.mean
        self.mean += delta * c.count / total
        self.m2 += m2 + delta * delta * self.n * c.count / total
        self.n = total

    def result(self) -> NumericCounts:
        bins = tuple(int(b) for b in self.bins)
        if not self.n:
            return NumericCounts(bins=bins, count=0)
        return NumericCounts(
            bins=bins,
            count=self.n,
            below_min=self.below,
            above_max=self.above,
            min=self.lo,
            max=self.hi,
            mean=self.mean,
            std=math.sqrt(max(self.m2, 0.0) / self.n),
        )
