"""A categorical feature's count: documents per top category, other, unseen (with examples).

Values in the training vocabulary but outside the top categories count as
``other``; values outside it as ``unseen``, the most frequent kept as examples
(ties broken by value, as ``terms`` orders them). A keyword array counts the
document once per distinct value. Integer-coded categories arrive as numbers
(under ``num``) and count as their canonical text (``22.0`` → ``"22"``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlmon_elk.contract import Kind, value_field
from mlmon_elk.profile.baseline import CategoricalProfile, FeatureProfile
from mlmon_elk.profile.counting.aggregation import (
    Agg,
    Body,
    most_frequent,
    term_counts,
    total_and_examples,
)
from mlmon_elk.profile.defaults import EXAMPLES
from mlmon_elk.profile.values import number_to_category
from mlmon_elk.profile.window import CategoricalCounts

TOP = "top"
UNSEEN = "unseen"
COUNT = "count"
CODED_TOP = "ntop"
CODED_UNSEEN = "nunseen"
CODED_COUNT = "ncount"
"""Aggregation names (after ``<role>:<feature>:``); ``n…`` count the coded values."""


def aggregations(feature: FeatureProfile, prefix: str, examples: int) -> list[Agg]:
    """``terms`` on the top categories, ``terms`` excluding the vocabulary, ``value_count``;
    the same three on the numeric field for integer-coded categories."""
    c = feature.categorical
    assert c is not None  # noqa: S101 - only called for categorical features
    size = max(examples, 1)
    aggs = _value_aggs(
        value_field(feature.role, Kind.CAT, feature.name),
        c.top_names,
        sorted(c.vocabulary),
        (f"{prefix}:{TOP}", f"{prefix}:{UNSEEN}", f"{prefix}:{COUNT}"),
        size,
    )
    if c.coded:
        # `terms` works on numeric fields too, with exact numbers to include or exclude.
        aggs += _value_aggs(
            value_field(feature.role, Kind.NUM, feature.name),
            [name for name in c.top_names if _code(name) is not None],
            sorted(v for v in c.vocabulary if _code(v) is not None),
            (f"{prefix}:{CODED_TOP}", f"{prefix}:{CODED_UNSEEN}", f"{prefix}:{CODED_COUNT}"),
            size,
        )
    return aggs


def _value_aggs(
    target: str,
    top: Sequence[str],
    vocabulary: list[str],
    names: tuple[str, str, str],
    size: int,
) -> list[Agg]:
    top_name, unseen_name, count_name = names
    aggs = []
    if top:
        aggs.append(
            Agg(
                top_name,
                {"terms": {"field": target, "size": len(top), "include": list(top)}},
                len(top),
            )
        )
    unseen: Body = {"field": target, "size": size}
    if vocabulary:
        unseen["exclude"] = vocabulary
    aggs.append(Agg(unseen_name, {"terms": unseen}, size))
    aggs.append(Agg(count_name, {"value_count": {"field": target}}, 0))
    return aggs


def parse(
    profile: CategoricalProfile, aggs: Mapping[str, Any], prefix: str, examples: int
) -> CategoricalCounts:
    """The counts :func:`aggregations` asked for, from one version bucket."""
    top_counts = term_counts(aggs.get(f"{prefix}:{TOP}") or {})
    top = tuple((name, top_counts.get(name, 0)) for name in profile.top_names)
    unseen, unseen_examples = total_and_examples(aggs.get(f"{prefix}:{UNSEEN}") or {}, examples)
    total = int((aggs.get(f"{prefix}:{COUNT}") or {}).get("value") or 0)
    if profile.coded:
        coded_top = _code_counts(aggs.get(f"{prefix}:{CODED_TOP}") or {})
        top = tuple((name, n + coded_top.get(name, 0)) for name, n in top)
        coded_unseen_agg = aggs.get(f"{prefix}:{CODED_UNSEEN}") or {}
        coded_unseen = _code_counts(coded_unseen_agg)
        unseen += sum(coded_unseen.values()) + int(coded_unseen_agg.get("sum_other_doc_count") or 0)
        merged = dict(unseen_examples)
        for name, n in coded_unseen.items():
            merged[name] = merged.get(name, 0) + n
        ranked = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))
        unseen_examples = tuple(ranked[:examples])
        total += int((aggs.get(f"{prefix}:{CODED_COUNT}") or {}).get("value") or 0)
    return CategoricalCounts(
        top=top,
        other=total - unseen - sum(n for _, n in top),
        unseen=unseen,
        count=total,
        unseen_examples=unseen_examples,
    )


def _code_counts(agg: Mapping[str, Any]) -> dict[str, int]:
    """A numeric ``terms`` aggregation's buckets keyed by category text (``22.0`` → ``"22"``)."""
    return {
        number_to_category(float(b["key"])): int(b["doc_count"]) for b in agg.get("buckets", [])
    }


def _code(name: str) -> float | None:
    """The number a category name stands for, if it is the canonical text of one."""
    try:
        x = float(name)
    except ValueError:
        return None
    return x if math.isfinite(x) and number_to_category(x) == name else None


def codes(numbers: Iterable[float]) -> pd.Series:
    """Integer-coded categories that arrived as numbers, as the category texts they count as."""
    return pd.Series([number_to_category(x) for x in numbers], dtype=object)


def count(
    values: pd.Series, profile: CategoricalProfile, *, examples: int = EXAMPLES
) -> CategoricalCounts:
    """The same counts of string ``values`` (one per document and distinct value, no nulls)."""
    counts = values.value_counts(sort=False)
    per_value = dict(zip(counts.index, counts.to_numpy().tolist(), strict=True))
    return count_values(per_value, profile, examples=examples)


def count_values(
    counts: Mapping[str, int], profile: CategoricalProfile, *, examples: int = EXAMPLES
) -> CategoricalCounts:
    """:func:`count` from documents per value already counted (a chunk of documents)."""
    vocabulary = profile.vocabulary
    unseen_counts = {value: n for value, n in counts.items() if value not in vocabulary}
    top = tuple((name, int(counts.get(name, 0))) for name in profile.top_names)
    total = sum(counts.values())
    unseen = sum(unseen_counts.values())
    return CategoricalCounts(
        top=top,
        other=total - unseen - sum(c for _, c in top),
        unseen=unseen,
        count=total,
        unseen_examples=most_frequent(unseen_counts, examples),
    )


def code_counts(numbers: np.ndarray) -> Counter[str]:
    """Documents per category text of integer-coded categories that arrived as numbers."""
    values, documents = np.unique(numbers, return_counts=True)
    counts: Counter[str] = Counter()
    for x, n in zip(values.tolist(), documents.tolist(), strict=True):
        counts[number_to_category(x)] += n
    return counts


@dataclass(slots=True)
class CategoricalSum:
    """Counts of chunks merged (counted with every unseen value kept as an example)."""

    top: np.ndarray
    other: int = 0
    unseen: int = 0
    count: int = 0
    unseen_values: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, profile: CategoricalProfile) -> CategoricalSum:
        return cls(top=np.zeros(len(profile.top), dtype=np.int64))

    def add(self, c: CategoricalCounts) -> None:
        self.top += np.asarray([n for _, n in c.top], dtype=np.int64)
        self.other += c.other
        self.unseen += c.unseen
        self.count += c.count
        self.unseen_values.update(dict(c.unseen_examples))

    def result(self, names: Sequence[str], examples: int) -> CategoricalCounts:
        return CategoricalCounts(
            top=tuple((name, int(n)) for name, n in zip(names, self.top, strict=True)),
            other=self.other,
            unseen=self.unseen,
            count=self.count,
            unseen_examples=most_frequent(self.unseen_values, examples),
        )
