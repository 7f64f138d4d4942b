"""The shared tokenizer gives the same tokens in the handler and the baseline."""

from __future__ import annotations

from mlmon_elk.producer.tokens import MAX_TEXT_CHARS, tokenize


def test_tokens_are_unique_casefolded_words_in_order() -> None:
    """Punctuation splits, case folds, duplicates drop, first appearance wins."""
    assert tokenize("The cat; THE dog — the END.") == ("the", "cat", "dog", "end")


def test_apostrophes_inside_words_are_kept_and_normalised() -> None:
    """Typographic apostrophes become ASCII so both spellings share a token."""
    assert tokenize("Don\u2019t, don't 'quoted'") == ("don't", "quoted")


def test_non_latin_scripts_and_digits_are_tokens() -> None:
    """Unicode letters and digits form tokens (case-folded: ß → ss); underscores separate."""
    assert tokenize("Größe 42 Ωmega snake_case") == ("grösse", "42", "ωmega", "snake", "case")


def test_limits_bound_the_work_and_the_output() -> None:
    """Token count, token length and the text read are all capped."""
    assert len(tokenize(" ".join(f"w{i}" for i in range(1000)), max_tokens=10)) == 10
    assert tokenize("a" * 500, max_token_length=64) == ("a" * 64,)
    assert tokenize("x " * MAX_TEXT_CHARS + "late") == ("x",)
