"""Document options as given and validated settings (docs/handler.md, Options)."""

from __future__ import annotations

import pytest

from mlmon_elk.errors import ConfigError
from mlmon_elk.producer.settings import DocumentOptions, DocumentSettings, PrivacyRule


def test_privacy_rules_are_parsed() -> None:
    """drop, hash and truncate:<n>, in any case and spacing."""
    assert PrivacyRule.parse("truncate:5", where="x") == PrivacyRule("truncate", 5)
    assert PrivacyRule.parse(" DROP ", where="x") == PrivacyRule("drop")
    with pytest.raises(ConfigError, match=r"where: expected 'drop'"):
        PrivacyRule.parse("encrypt", where="where")


def test_settings_validation() -> None:
    """A missing model or a bad namespace is a ConfigError naming the option."""
    with pytest.raises(ConfigError, match="model is required"):
        DocumentSettings.create(DocumentOptions())
    with pytest.raises(ConfigError, match="model: expected a non-empty string, got 3"):
        DocumentSettings.create(DocumentOptions(model=3))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="namespace"):
        DocumentSettings.create(DocumentOptions(model="m", namespace="Bad-NS"))
    with pytest.raises(ConfigError, match="max_text_chars"):
        DocumentSettings.create(DocumentOptions(model="m", max_text_chars=-1))


def test_the_hash_key_comes_from_the_environment_it_is_given() -> None:
    """Pure: the key is read from the mapping passed in, only when a hash rule needs it."""
    options = DocumentOptions(model="m", privacy={"email": "hash"}, hash_key_env="K")
    assert DocumentSettings.create(options, {"K": "s3cret"}).hash_key == b"s3cret"
    with pytest.raises(ConfigError, match="set the environment variable K"):
        DocumentSettings.create(options, {})
    assert DocumentSettings.create(DocumentOptions(model="m"), {"K": "x"}).hash_key is None


def test_names_are_sanitised_once() -> None:
    """Text inputs and privacy rules are keyed by sanitised feature names; one text input
    may be given as a bare string."""
    settings = DocumentSettings.create(
        DocumentOptions(model="m", text_inputs="the review", privacy={"e.mail": "drop"})
    )
    assert settings.text_inputs == frozenset({"the_review"})
    assert set(settings.privacy) == {"e_mail"}
