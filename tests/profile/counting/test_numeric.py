"""Numeric counts follow Elasticsearch's range and extended_stats semantics."""

from __future__ import annotations

import numpy as np

from mlmon_elk.profile.baseline import NumericProfile
from mlmon_elk.profile.counting import numeric

NUM = NumericProfile(edges=(0.0, 10.0), shares=(0.1, 0.8, 0.1), min=-5, max=20, mean=5, std=3)


def test_numeric_bins_are_half_open_like_range_aggregations() -> None:
    """A value equal to an edge counts in the bin that starts there."""
    counts = numeric.count(np.array([-1.0, 0.0, 9.99, 10.0, 25.0, -6.0]), NUM)
    assert counts.bins == (2, 2, 2)
    assert (counts.count, counts.below_min, counts.above_max) == (6, 1, 1)
    assert counts.min == -6.0
    assert counts.max == 25.0


def test_numeric_without_values_has_empty_bins_and_no_stats() -> None:
    """An empty window yields zero counts, not NaN statistics."""
    counts = numeric.count(np.array([]), NUM)
    assert counts.bins == (0, 0, 0)
    assert counts.mean is None


def test_chunk_counts_merge_exactly_into_the_count_of_all_values() -> None:
    """Counting chunk by chunk and merging equals counting every value at once."""
    rng = np.random.default_rng(7)
    values = rng.normal(5, 8, size=1000)
    merged = numeric.NumericSum.of(NUM)
    for chunk in np.array_split(values, [3, 10, 500]):
        merged.add(numeric.count(chunk, NUM))
    whole = numeric.count(values, NUM)
    result = merged.result()
    assert (result.bins, result.count, result.below_min, result.above_max) == (
        whole.bins,
        whole.count,
        whole.below_min,
        whole.above_max,
    )
    assert (result.min, result.max) == (whole.min, whole.max)
    assert np.isclose(result.mean or 0, whole.mean or 0, rtol=1e-12)
    assert np.isclose(result.std or 0, whole.std or 0, rtol=1e-12)


def test_values_near_the_largest_double_give_infinite_statistics_without_warnings() -> None:
    """A sentinel such as 1e308 overflows the variance: inf, as Elasticsearch's stats give,
    and still counted in its bin (pytest turns any warning into a failure)."""
    counts = numeric.count(np.array([1e308, 1e308, 1.0]), NUM)
    assert counts.bins == (0, 1, 2)
    assert counts.std == float("inf")
