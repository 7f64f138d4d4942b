"""The one tokenizer for free-text inputs.

The handler tokenizes text inputs into ``mlmon.tokens.<f>`` and the baseline
builder tokenizes training text with this same function, so the training
vocabulary and the served tokens are comparable. Changing the rule changes
every stored baseline's meaning: bump ``TOKENIZER_VERSION`` when you do.
"""

from __future__ import annotations

import re

TOKENIZER_VERSION = 1
"""Recorded in baselines; a baseline built with another version is refused."""

MAX_TOKENS_PER_DOCUMENT = 256
"""Cap on unique tokens kept per document (bounds document size and mappings)."""

MAX_TOKEN_LENGTH = 64
"""Longer tokens (URLs, hashes, base64) are cut to this many characters."""

MAX_TEXT_CHARS = 100_000
"""Only the first this-many characters of a text are tokenized (bounds the cost)."""

# Runs of letters or digits, with inner apostrophes kept ("don't", "l'eau").
_TOKEN = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")


def tokenize(
    text: str,
    *,
    max_tokens: int = MAX_TOKENS_PER_DOCUMENT,
    max_token_length: int = MAX_TOKEN_LENGTH,
) -> tuple[str, ...]:
    """Unique case-folded word tokens of ``text``, in order of first appearance.

    Tokens are maximal runs of Unicode letters and digits (inner apostrophes
    kept, the typographic one normalised to ``'``), case-folded, cut to
    ``max_token_length`` characters; duplicates are dropped and at most
    ``max_tokens`` are returned. Only the first ``MAX_TEXT_CHARS`` characters
    are read.

    >>> tokenize("Hello, hello WORLD! Don\u2019t panic")
    ('hello', 'world', "don't", 'panic')
    """
    seen: dict[str, None] = {}
    for match in _TOKEN.finditer(text, 0, MAX_TEXT_CHARS):
        token = match.group().casefold().replace("\u2019", "'")[:max_token_length]
        if token not in seen:
            seen[token] = None
            if len(seen) >= max_tokens:
                break
    return tuple(seen)
