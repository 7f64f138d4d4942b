"""Categorical counts follow Elasticsearch's terms semantics."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from mlmon_elk.profile.baseline import CategoricalProfile
from mlmon_elk.profile.counting import categorical

CAT = CategoricalProfile(
    top=(("a", 0.6), ("b", 0.3)),
    other_share=0.1,
    vocabulary=frozenset({"a", "b", "c", "d"}),
    vocabulary_size=4,
    expected_unseen_rate=0.0,
)


def test_categorical_splits_top_other_and_unseen() -> None:
    """Seen-but-not-top values are 'other'; values outside the vocabulary are 'unseen'."""
    values = pd.Series(["a", "a", "b", "c", "d", "x", "y", "y", "z"])
    counts = categorical.count(values, CAT, examples=2)
    assert counts.top == (("a", 2), ("b", 1))
    assert (counts.other, counts.unseen, counts.count) == (2, 4, 9)
    assert counts.unseen_examples == (("y", 2), ("x", 1))


def test_integer_coded_categories_count_as_their_text() -> None:
    """A category logged as the number 22.0 counts as "22"."""
    assert categorical.codes([22.0, 2.5]).tolist() == ["22", "2.5"]


def test_counts_of_values_already_counted_are_the_same() -> None:
    """A chunk's documents per value give the counts its values give."""
    values = ["a", "a", "b", "c", "d", "x", "y", "y", "z"]
    from_counts = categorical.count_values(Counter(values), CAT, examples=2)
    assert from_counts == categorical.count(pd.Series(values), CAT, examples=2)


def test_coded_numbers_count_as_their_texts_per_document() -> None:
    """Numbers of integer-coded categories counted by text: 22.0 and 22 are both "22"."""
    counts = categorical.code_counts(np.array([22.0, 22.0, 2.5, -0.0, 0.0]))
    assert counts == Counter({"22": 2, "2.5": 1, "0": 2})
