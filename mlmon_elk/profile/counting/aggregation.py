"""What every counting spec shares: an aggregation with its bucket cost, and reading terms."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

Body = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Agg:
    """One named aggregation under a version bucket."""

    name: str
    body: Body
    buckets: int
    """Buckets this aggregation may create under one version bucket."""


def term_counts(agg: Mapping[str, Any]) -> dict[str, int]:
    """A ``terms`` aggregation's buckets as key → documents."""
    return {str(b["key"]): int(b["doc_count"]) for b in agg.get("buckets", [])}


def total_and_examples(
    agg: Mapping[str, Any], examples: int
) -> tuple[int, tuple[tuple[str, int], ...]]:
    """Everything a ``terms`` aggregation counted (buckets + the rest), and its first buckets.

    ``sum_other_doc_count`` is exact, so the total is too, however few buckets
    came back.
    """
    buckets = agg.get("buckets", [])
    total = sum(int(b["doc_count"]) for b in buckets) + int(agg.get("sum_other_doc_count") or 0)
    return total, tuple((str(b["key"]), int(b["doc_count"])) for b in buckets[:examples])


def number(value: object) -> float | None:
    """A metric aggregation's value; ``None`` for no value."""
    if value is None or isinstance(value, str):  # ES writes "NaN" / "Infinity" as strings
        return None
    x = float(value)  # type: ignore[arg-type]
    return x if math.isfinite(x) else None


def most_frequent(counts: Mapping[str, int], k: int) -> tuple[tuple[str, int], ...]:
    """The ``k`` largest counts, descending, ties by ascending key (as ``terms`` orders)."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple((key, int(n)) for key, n in ranked[:k] if n > 0)


def most_frequent_of(counts: pd.Series, k: int) -> tuple[tuple[str, int], ...]:
    """:func:`most_frequent` of a Series of counts indexed by value (vectorised)."""
    if counts.empty or k <= 0:
        return ()
    frame = pd.DataFrame({"key": counts.index.astype(str), "n": counts.to_numpy()})
    frame = frame.sort_values(["n", "key"], ascending=[False, True]).head(k)
    return tuple((str(key), int(n)) for key, n in zip(frame["key"], frame["n"], strict=True))
