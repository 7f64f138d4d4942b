"""Feature names, namespaces and stream names follow one documented rule."""

from __future__ import annotations

import pytest

from mlmon_elk.contract import (
    MAX_NAME_LENGTH,
    Dataset,
    sanitize_name,
    stream_name,
    validate_namespace,
    with_hash_suffix,
)


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("age", "age"),
        ("loan.amount", "loan_amount"),
        ("monthly income (EUR)", "monthly_income__EUR_"),
        ("größe", "größe"),
        ('a*b"c', "a_b_c"),
        (42, "42"),
        ("", "_"),
        ("kebab-case", "kebab-case"),
    ],
)
def test_sanitize_name_replaces_unsafe_characters(raw: object, name: str) -> None:
    """Dots, spaces, quotes and wildcards never reach a field name."""
    assert sanitize_name(raw) == name


def test_long_names_are_shortened_but_stay_distinct() -> None:
    """Two long keys sharing a prefix keep distinct names of bounded length."""
    a, b = sanitize_name("x" * 150 + "a"), sanitize_name("x" * 150 + "b")
    assert a != b
    assert len(a) == len(b) == MAX_NAME_LENGTH
    assert a.startswith("x" * 91 + "~")


def test_hash_suffix_is_deterministic_and_bounded() -> None:
    """The collision suffix depends only on the raw key."""
    assert with_hash_suffix("a_b", "a.b") == with_hash_suffix("a_b", "a.b")
    assert with_hash_suffix("a_b", "a.b") != with_hash_suffix("a_b", "a b")
    assert len(with_hash_suffix("y" * 100, "z")) == MAX_NAME_LENGTH


@pytest.mark.parametrize("bad", ["", "Prod", "a-b", "a b", "a*b", "x" * 101])
def test_invalid_namespaces_are_refused(bad: str) -> None:
    """Namespaces that Elasticsearch would reject fail early with a clear message."""
    with pytest.raises(ValueError, match="namespace"):
        validate_namespace(bad)


def test_run_summaries_and_shipper_counters_share_streams() -> None:
    """Run summaries go to the check stream, shipper counters to the prediction stream."""
    assert stream_name(Dataset.RUN, "prod") == "logs-mlmon.check-prod"
    assert stream_name(Dataset.SHIPPER) == "logs-mlmon.prediction-default"
    assert stream_name(Dataset.ALERT, "a.b_c") == "logs-mlmon.alert-a.b_c"
