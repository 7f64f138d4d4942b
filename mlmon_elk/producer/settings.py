"""What a handler's documents are built with: the options as given, and validated.

:class:`DocumentOptions` holds the keywords as the user wrote them (one field
per option: adding an option is adding a field here);
:meth:`DocumentSettings.create` checks them and sanitises names once, so the
document builder never has to. Pure: the environment (for the ``hash`` key)
is passed in by the caller that constructs the handler or formatter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from mlmon_elk.contract import DEFAULT_NAMESPACE, sanitize_name, validate_namespace
from mlmon_elk.errors import ConfigError
from mlmon_elk.producer.labels import label_values

DEFAULT_MODEL_VERSION: Final = "unknown"

DEFAULT_MAX_TEXT_CHARS: Final = 1000
"""Declared text inputs are stored cut to this many characters (tokens see the whole text)."""

DEFAULT_MAX_DOCUMENT_BYTES: Final = 1024 * 1024
"""Larger documents are dropped and counted (Logstash and Elasticsearch limit line sizes)."""


@dataclass(frozen=True)
class PrivacyRule:
    """What happens to one input before anything leaves the process.

    ``drop``: the input is removed entirely (not even listed in ``mlmon.present``).
    ``truncate``: strings (categories, text, list items) are cut to ``length``
    characters; text tokens are taken from the cut text. ``hash``: the logged
    value is replaced by the first 32 hex digits of its HMAC-SHA256 under the
    key from the environment, as a category (so equal values still group).
    """

    action: Literal["drop", "truncate", "hash"]
    length: int = 0

    @classmethod
    def parse(cls, spec: str | PrivacyRule, *, where: str) -> PrivacyRule:
        """Read ``"drop"``, ``"hash"`` or ``"truncate:<n>"``.

        Raises:
            ConfigError: The spec is none of these; the message names ``where``.
        """
        if isinstance(spec, PrivacyRule):
            return spec
        text = str(spec).strip().lower()
        if text in ("drop", "hash"):
            return cls(text)  # type: ignore[arg-type]
        name, _, length = text.partition(":")
        if name == "truncate" and length.isdigit():
            return cls("truncate", int(length))
        msg = f"{where}: expected 'drop', 'hash' or 'truncate:<chars>', got {spec!r}"
        raise ConfigError(msg)


@dataclass(frozen=True)
class DocumentOptions:
    """The document options of a handler or formatter, as given (flat keywords map here)."""

    model: str = ""
    """Model name (``mlmon.model.name``); required."""
    model_version: str | None = None
    """Model version (default ``"unknown"``)."""
    service: str | None = None
    """``service.name`` of the serving app."""
    service_version: str | None = None
    """``service.version``."""
    environment: str | None = None
    """``service.environment``."""
    namespace: str = DEFAULT_NAMESPACE
    """Data stream namespace (default ``default``)."""
    labels: Mapping[str, object] | None = None
    """Static ``labels.*`` added to every document."""
    text_inputs: Iterable[str] = ()
    """Names of free-text inputs (tokenized); other strings are categories."""
    privacy: Mapping[str, str | PrivacyRule] | None = None
    """Input name → ``"drop"``, ``"hash"`` or ``"truncate:<n>"``."""
    hash_key_env: str = "MLMON_HASH_KEY"
    """Environment variable holding the HMAC key for ``hash`` rules."""
    empty_as_null: bool = False
    """Treat empty strings as null values."""
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
    """Characters of a text input kept in the document."""
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES
    """Larger documents are dropped and counted (default 1 MiB)."""


@dataclass(frozen=True)
class DocumentSettings:
    """Everything constant across the documents of one handler, validated.

    Build it with :meth:`create`, which validates and sanitises the options.
    """

    model: str
    model_version: str = DEFAULT_MODEL_VERSION
    service_name: str | None = None
    service_version: str | None = None
    environment: str | None = None
    namespace: str = DEFAULT_NAMESPACE
    labels: Mapping[str, str] = field(default_factory=dict)
    text_inputs: frozenset[str] = frozenset()
    privacy: Mapping[str, PrivacyRule] = field(default_factory=dict)
    hash_key: bytes | None = field(default=None, repr=False)
    empty_as_null: bool = False
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS

    @classmethod
    def create(
        cls, options: DocumentOptions, environ: Mapping[str, str] | None = None
    ) -> DocumentSettings:
        """Validated settings; names of inputs are sanitised like feature names.

        Args:
            options: The options as given.
            environ: Where ``hash_key_env`` is looked up (the caller passes
                ``os.environ``); read only when a ``hash`` rule is configured.

        Raises:
            ConfigError: A value is wrong (the message names the option), or a
                ``hash`` rule is configured and ``hash_key_env`` is not set.
        """
        model = options.model
        if not isinstance(model, str) or not model:
            msg = (
                "model is required: the name of the model, e.g. model='churn'"
                if model in ("", None)
                else f"model: expected a non-empty string, got {model!r}"
            )
            raise ConfigError(msg)
        text_inputs = options.text_inputs
        if isinstance(text_inputs, str):
            text_inputs = (text_inputs,)
        if options.max_text_chars < 0:
            msg = f"max_text_chars: expected a number ≥ 0, got {options.max_text_chars!r}"
            raise ConfigError(msg)
        try:
            validate_namespace(options.namespace)
        except ValueError as exc:
            msg = f"namespace: {exc}"
            raise ConfigError(msg) from exc
        rules = {
            sanitize_name(name): PrivacyRule.parse(spec, where=f"privacy[{name!r}]")
            for name, spec in (options.privacy or {}).items()
        }
        key = None
        if any(rule.action == "hash" for rule in rules.values()):
            secret = (environ or {}).get(options.hash_key_env)
            if not secret:
                msg = (
                    f"privacy: a 'hash' rule needs a key; set the environment variable"
                    f" {options.hash_key_env} (the key never goes into configuration files)"
                )
                raise ConfigError(msg)
            key = secret.encode("utf-8")
        return cls(
            model=model,
            model_version=str(options.model_version)
            if options.model_version
            else DEFAULT_MODEL_VERSION,
            service_name=options.service,
            service_version=options.service_version,
            environment=options.environment,
            namespace=options.namespace,
            labels=label_values(options.labels or {}),
            text_inputs=frozenset(sanitize_name(name) for name in text_inputs),
            privacy=rules,
            hash_key=key,
            empty_as_null=options.empty_as_null,
            max_text_chars=options.max_text_chars,
        )
