"""Window counting follows Elasticsearch's aggregation semantics."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlmon_elk.profile.baseline import CategoricalProfile, NumericProfile, TextProfile
from mlmon_elk.profile.counting.categorical import count as count_categorical
from mlmon_elk.profile.counting.numeric import count as count_numeric
from mlmon_elk.profile.counting.text import count as count_text

NUM = NumericProfile(edges=(0.0, 10.0), shares=(0.1, 0.8, 0.1), min=-5, max=20, mean=5, std=3)
CAT = CategoricalProfile(
    top=(("a", 0.6), ("b", 0.3)),
    other_share=0.1,
    vocabulary=frozenset({"a", "b", "c", "d"}),
    vocabulary_size=4,
    expected_unseen_rate=0.0,
)


def test_numeric_bins_are_half_open_like_range_aggregations() -> None:
    """A value equal to an edge counts in the bin that starts there."""
    counts = count_numeric(np.array([-1.0, 0.0, 9.99, 10.0, 25.0, -6.0]), NUM)
    assert counts.bins == (2, 2, 2)
    assert (counts.count, counts.below_min, counts.above_max) == (6, 1, 1)
    assert counts.min == -6.0
    assert counts.max == 25.0


def test_numeric_without_values_has_empty_bins_and_no_stats() -> None:
    """An empty window yields zero counts, not NaN statistics."""
    counts = count_numeric(np.array([]), NUM)
    assert counts.bins == (0, 0, 0)
    assert counts.mean is None


def test_categorical_splits_top_other_and_unseen() -> None:
    """Seen-but-not-top values are 'other'; values outside the vocabulary are 'unseen'."""
    values = pd.Series(["a", "a", "b", "c", "d", "x", "y", "y", "z"])
    counts = count_categorical(values, CAT, examples=2)
    assert counts.top == (("a", 2), ("b", 1))
    assert (counts.other, counts.unseen, counts.count) == (2, 4, 9)
    assert counts.unseen_examples == (("y", 2), ("x", 1))


def test_text_counts_tokens_and_oov_per_document() -> None:
    """OOV counts are token occurrences across documents of unique-token lists."""
    profile = TextProfile(
        vocabulary=frozenset({"late", "payment"}),
        vocabulary_size=2,
        expected_oov_rate=0,
        tokens_per_row=2,
    )
    counts = count_text([("late", "fee"), (), ("fee", "payment", "crypto")], profile, examples=5)
    assert (counts.documents, counts.tokens, counts.oov_tokens) == (2, 5, 3)
    assert counts.oov_examples == (("fee", 2), ("crypto", 1))
