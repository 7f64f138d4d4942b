"""Text counts: documents with tokens, tokens, and out-of-vocabulary tokens."""

from __future__ import annotations

from mlmon_elk.profile.baseline import TextProfile
from mlmon_elk.profile.counting import text


def test_text_counts_tokens_and_oov_per_document() -> None:
    """OOV counts are token occurrences across documents of unique-token lists."""
    profile = TextProfile(
        vocabulary=frozenset({"late", "payment"}),
        vocabulary_size=2,
        expected_oov_rate=0,
        tokens_per_row=2,
    )
    counts = text.count([("late", "fee"), (), ("fee", "payment", "crypto")], profile, examples=5)
    assert (counts.documents, counts.tokens, counts.oov_tokens) == (2, 5, 3)
    assert counts.oov_examples == (("fee", 2), ("crypto", 1))
