"""A text feature's count: documents carrying tokens, tokens, tokens outside the vocabulary.

Each document carries its unique tokens (``mlmon.tokens.<f>``) and its token
count (``mlmon.token_count.<f>``); an out-of-vocabulary token counts once per
document holding it, the most frequent kept as examples.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlmon_elk.contract import token_count_field, tokens_field
from mlmon_elk.profile.baseline import FeatureProfile, TextProfile
from mlmon_elk.profile.counting.aggregation import (
    Agg,
    Body,
    most_frequent,
    most_frequent_of,
    total_and_examples,
)
from mlmon_elk.profile.defaults import EXAMPLES
from mlmon_elk.profile.window import TextCounts

OOV = "oov"
TOKENS = "tokens"
DOCS = "docs"
"""Aggregation names (after ``<role>:<feature>:``)."""


def aggregations(feature: FeatureProfile, prefix: str, examples: int) -> list[Agg]:
    """``terms`` on the tokens excluding the vocabulary, ``sum`` of the token counts,
    and a ``filter`` of the documents carrying tokens."""
    t = feature.text
    assert t is not None  # noqa: S101 - only called for text features
    size = max(examples, 1)
    tokens = tokens_field(feature.name)
    oov: Body = {"field": tokens, "size": size}
    if t.vocabulary:
        oov["exclude"] = sorted(t.vocabulary)
    return [
        Agg(f"{prefix}:{OOV}", {"terms": oov}, size),
        Agg(f"{prefix}:{TOKENS}", {"sum": {"field": token_count_field(feature.name)}}, 0),
        Agg(f"{prefix}:{DOCS}", {"filter": {"exists": {"field": tokens}}}, 0),
    ]


def parse(aggs: Mapping[str, Any], prefix: str, examples: int) -> TextCounts:
    """The counts :func:`aggregations` asked for, from one version bucket."""
    oov, oov_examples = total_and_examples(aggs.get(f"{prefix}:{OOV}") or {}, examples)
    documents = int((aggs.get(f"{prefix}:{DOCS}") or {}).get("doc_count", 0))
    return TextCounts(
        documents=documents,
        tokens=round((aggs.get(f"{prefix}:{TOKENS}") or {}).get("value") or 0),
        oov_tokens=oov,
        oov_examples=oov_examples if documents else (),
    )


def count(
    token_lists: Iterable[Sequence[str]], profile: TextProfile, *, examples: int = EXAMPLES
) -> TextCounts:
    """The same counts of documents' unique-token lists (the DataFrame path)."""
    lists = [t for t in token_lists if len(t)]
    if not lists:
        return TextCounts(documents=0, tokens=0, oov_tokens=0)
    tokens = pd.Series(np.concatenate([np.asarray(t, dtype=object) for t in lists]))
    counts = tokens.value_counts(sort=False)
    vocabulary = profile.vocabulary
    oov_counts = counts[np.fromiter((v not in vocabulary for v in counts.index), dtype=bool)]
    return TextCounts(
        documents=len(lists),
        tokens=int(counts.sum()),
        oov_tokens=int(oov_counts.sum()),
        oov_examples=most_frequent_of(oov_counts, examples),
    )


@dataclass(slots=True)
class TextSum:
    """The same counts over chunks of documents, from their indexed tokens (the record path)."""

    documents: int = 0
    tokens: int = 0
    oov: int = 0
    oov_values: Counter[str] = field(default_factory=Counter)

    def add_documents(
        self, token_documents: Mapping[str, int], documents: int, tokens: int, profile: TextProfile
    ) -> None:
        """Add a chunk: documents per token, documents with tokens, and their token counts."""
        vocabulary = profile.vocabulary
        oov = Counter({t: n for t, n in token_documents.items() if t not in vocabulary})
        self.documents += documents
        self.tokens += tokens
        self.oov += oov.total()
        self.oov_values.update(oov)

    def result(self, examples: int) -> TextCounts:
        return TextCounts(
            documents=self.documents,
            tokens=self.tokens,
            oov_tokens=self.oov,
            oov_examples=most_frequent(self.oov_values, examples) if self.documents else (),
        )
