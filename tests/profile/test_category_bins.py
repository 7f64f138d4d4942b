"""Category bins: top categories, other and unseen, with rare tops pooled into other."""

from __future__ import annotations

import numpy as np
import pytest

from mlmon_elk.profile.baseline import CategoricalProfile
from mlmon_elk.profile.category_bins import OTHER, UNSEEN, category_bins

IDS = CategoricalProfile(
    top=(("a", 0.5), *((f"id{i}", 0.001) for i in range(20))),
    other_share=0.48,
    vocabulary=frozenset({"a", *(f"id{i}" for i in range(20))}),
    vocabulary_size=4_000,
    expected_unseen_rate=0.02,
)


def test_rare_top_categories_are_pooled_into_other_at_small_windows() -> None:
    """At 500 values a 0.1% id is expected 0.5 times: it joins 'other'."""
    bins = category_bins(IDS, 500, 5)
    assert bins.labels == ("a", OTHER, UNSEEN)
    assert bins.expected == pytest.approx([0.49, 0.49, 0.02])
    counts = np.array([250, *([1] * 20), 220, 10])
    assert list(bins.fold(counts)) == [250, 240, 10]


def test_large_windows_keep_every_top_category() -> None:
    """At 50,000 values every top category is a bin of its own."""
    bins = category_bins(IDS, 50_000, 5)
    assert len(bins.labels) == 23
    assert bins.expected.sum() == pytest.approx(1.0)
