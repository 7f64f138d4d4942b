"""Names every part of mlmon-elk agrees on (shared/DESIGN.md §3, §5, §6).

The handler writes these fields, the index templates map them, the analyzer
queries them and the Kibana assets chart them. Change a name here only together
with every place that reads it; tests check the Kibana and template assets
against this module.
"""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum

ECS_VERSION = "8.11.0"
"""ECS version the documents follow (``ecs.version``)."""

SCHEMA_VERSION = 1
"""Version of the prediction document layout (``mlmon.schema``)."""

DEFAULT_NAMESPACE = "default"


KEYWORD_IGNORE_ABOVE = 1024
"""Longer categorical values are kept in ``_source`` but not aggregated."""


TOKEN_IGNORE_ABOVE = 256
"""Tokens are cut at 64 characters by the tokenizer; this only guards the mapping."""


class Dataset(StrEnum):
    """``event.dataset`` values; the first three are also data stream datasets."""

    PREDICTION = "mlmon.prediction"
    CHECK = "mlmon.check"
    ALERT = "mlmon.alert"
    RUN = "mlmon.run"
    """Analyzer run summaries; written to the check stream."""
    SHIPPER = "mlmon.shipper"
    """Handler delivery counters; shipped along the prediction stream."""
    OUTCOME = "mlmon.outcome"
    """Ground truth of a prediction, logged when it is known (``log_outcome``)."""


STREAM_OF_DATASET: dict[Dataset, Dataset] = {
    Dataset.PREDICTION: Dataset.PREDICTION,
    Dataset.SHIPPER: Dataset.PREDICTION,
    Dataset.CHECK: Dataset.CHECK,
    Dataset.RUN: Dataset.CHECK,
    Dataset.ALERT: Dataset.ALERT,
    Dataset.OUTCOME: Dataset.OUTCOME,
}
"""Which data stream each kind of document is written to."""


class DataView(StrEnum):
    """Ids (and names) of the Kibana data views."""

    PREDICTIONS = "mlmon-predictions"
    CHECKS = "mlmon-checks"
    ALERTS = "mlmon-alerts"
    OUTCOMES = "mlmon-outcomes"


class Kind(StrEnum):
    """How a feature's value is typed in the document: ``mlmon.inputs.<kind>.<f>``."""

    NUM = "num"
    CAT = "cat"
    TEXT = "text"


class Role(StrEnum):
    """Whether a feature is a model input or a model output."""

    INPUT = "input"
    OUTPUT = "output"


class Check(StrEnum):
    """Check names (DESIGN.md §5); Kibana filters and rules use these strings."""

    FEATURE_VANISHED = "feature_vanished"
    MISSING_SPIKE = "missing_spike"
    CATEGORY_SHIFT = "category_shift"
    UNSEEN_CATEGORIES = "unseen_categories"
    TEXT_OOV = "text_oov"
    NUMERIC_DRIFT = "numeric_drift"
    PREDICTION_DRIFT = "prediction_drift"
    TYPE_MISMATCH = "type_mismatch"
    NEW_FEATURE = "new_feature"
    LATENCY = "latency"
    ERROR_RATE = "error_rate"
    VOLUME = "volume"
    MODEL_VERSION = "model_version"
    PERFORMANCE = "performance"
    """Realized performance (from logged outcomes) versus the baseline's held-out performance."""
    ESTIMATED_PERFORMANCE = "estimated_performance"
    """Performance implied by the window's scores under the baseline's calibration (no labels)."""


class Status(StrEnum):
    """``mlmon.status`` of a check result."""

    OK = "ok"
    NOTICE = "notice"
    """Significant after correction but below the alert threshold: a real,
    small change worth showing (dashboards, report), never an alert."""
    WARNING = "warning"
    CRITICAL = "critical"
    INSUFFICIENT_DATA = "insufficient_data"
    ERROR = "error"

    @property
    def is_alert(self) -> bool:
        """Only warnings and criticals raise alerts; no data is never an alert."""
        return self in (Status.WARNING, Status.CRITICAL)


class Transition(StrEnum):
    """``mlmon.transition`` of an alert document."""

    NEW = "new"
    ONGOING = "ongoing"
    ESCALATED = "escalated"
    """An open warning became critical (its own transition, so a rule can page on it)."""
    RECOVERING = "recovering"
    """An open alert whose check is back below its threshold, not yet for long
    enough to resolve (``resolve_after`` clear windows); still open."""
    RESOLVED = "resolved"


class Field:
    """Dotted field names of the documents (DESIGN.md §3 and §5)."""

    TIMESTAMP = "@timestamp"
    ECS_VERSION = "ecs.version"
    EVENT_KIND = "event.kind"
    EVENT_DATASET = "event.dataset"
    EVENT_DURATION = "event.duration"
    EVENT_OUTCOME = "event.outcome"
    EVENT_START = "event.start"
    EVENT_END = "event.end"
    EVENT_SEVERITY = "event.severity"
    EVENT_CREATED = "event.created"
    DS_TYPE = "data_stream.type"
    DS_DATASET = "data_stream.dataset"
    DS_NAMESPACE = "data_stream.namespace"
    SERVICE_NAME = "service.name"
    SERVICE_VERSION = "service.version"
    SERVICE_ENVIRONMENT = "service.environment"
    ERROR_TYPE = "error.type"
    ERROR_MESSAGE = "error.message"
    RULE_NAME = "rule.name"
    MESSAGE = "message"

    SCHEMA = "mlmon.schema"
    MODEL_NAME = "mlmon.model.name"
    MODEL_VERSION = "mlmon.model.version"
    PREDICTION_ID = "mlmon.prediction_id"
    LATENCY_MS = "mlmon.latency_ms"
    PRESENT = "mlmon.present"
    NULL = "mlmon.null"
    INVALID = "mlmon.invalid"

    FEATURE = "mlmon.feature"
    CHECK = "mlmon.check"
    METRIC = "mlmon.metric"
    VALUE = "mlmon.value"
    THRESHOLD = "mlmon.threshold"
    P_VALUE = "mlmon.p_value"
    STATUS = "mlmon.status"
    WINDOW_COUNT = "mlmon.window.count"
    EXPECTED = "mlmon.expected"
    OBSERVED = "mlmon.observed"
    CONTEXT = "mlmon.context"
    TRANSITION = "mlmon.transition"
    REALIZED_ACCURACY = "mlmon.realized.accuracy"
    REALIZED_ROC_AUC = "mlmon.realized.roc_auc"
    RUN_STATUS = "mlmon.run.status"
    RUN_MODELS = "mlmon.run.models"

    # Outcome documents (``event.dataset: mlmon.outcome``)
    PREDICTION_TIME = "mlmon.prediction_time"
    ACTUAL_NUM = "mlmon.actual.num"
    ACTUAL_CAT = "mlmon.actual.cat"
    PREDICTED_NUM = "mlmon.predicted.num"
    PREDICTED_CAT = "mlmon.predicted.cat"
    SCORE = "mlmon.score"
    RESIDUAL = "mlmon.residual"


def value_field(role: Role, kind: Kind, name: str) -> str:
    """Field of a feature's value, e.g. ``mlmon.inputs.num.age``.

    ``name`` must already be sanitised (:func:`sanitize_name`).
    """
    group = "inputs" if role is Role.INPUT else "outputs"
    return f"mlmon.{group}.{kind}.{name}"


def tokens_field(name: str) -> str:
    """Keyword array of the unique tokens of text input ``name``."""
    return f"mlmon.tokens.{name}"


def token_count_field(name: str) -> str:
    """Number of tokens in :func:`tokens_field` for text input ``name``."""
    return f"mlmon.token_count.{name}"


def stream_name(dataset: Dataset, namespace: str = DEFAULT_NAMESPACE) -> str:
    """Data stream (or index) a document of ``dataset`` is written to.

    >>> stream_name(Dataset.RUN, "prod")
    'logs-mlmon.check-prod'
    """
    return f"logs-{STREAM_OF_DATASET[dataset]}-{validate_namespace(namespace)}"


_NAMESPACE_FORBIDDEN = re.compile(r'[\\/*?"<>|,#:\s-]')


def validate_namespace(namespace: str) -> str:
    """Return ``namespace`` if Elasticsearch accepts it in a data stream name.

    Data stream naming rules: lower case, at most 100 bytes, none of
    ``\\ / * ? " < > | , # :``, no whitespace and no ``-`` (which separates the
    parts of ``logs-<dataset>-<namespace>``).
    """
    if (
        not namespace
        or namespace != namespace.lower()
        or len(namespace.encode()) > 100
        or _NAMESPACE_FORBIDDEN.search(namespace)
    ):
        msg = (
            f"namespace {namespace!r} is not valid: use lower-case letters, digits,"
            " '_' or '.', at most 100 bytes, no '-'"
        )
        raise ValueError(msg)
    return namespace


MAX_NAME_LENGTH = 100
"""Longest sanitised feature name; longer names are shortened with a hash."""

_NAME_UNSAFE = re.compile(r"[^\w-]")
_HASH_LENGTH = 8


def sanitize_name(raw: object) -> str:
    """Turn any input key into a safe, deterministic feature name.

    The rule (documented in the README):

    * non-string keys are converted with ``str()``;
    * every character that is not a Unicode letter, digit, ``_`` or ``-`` becomes
      ``_`` (so ``.``, which Elasticsearch reads as an object path, never
      survives, nor do spaces, ``*`` or quotes);
    * an empty name becomes ``_``;
    * a name longer than 100 characters keeps its first 91 characters, followed
      by ``~`` and the first 8 hex digits of the SHA-1 of the original key, so
      distinct long keys stay distinct.

    The same function runs in the handler and in the baseline builder, so
    training columns and logged keys always agree.

    >>> sanitize_name("loan.amount (EUR)")
    'loan_amount__EUR_'
    """
    text = raw if isinstance(raw, str) else str(raw)
    name = _NAME_UNSAFE.sub("_", text) or "_"
    if len(name) <= MAX_NAME_LENGTH:
        return name
    return with_hash_suffix(name, text)


def with_hash_suffix(name: str, raw: str) -> str:
    """``name`` followed by ``~`` and a short hash of ``raw``.

    Used for over-long names and to keep two keys apart whose sanitised names
    collide in one record (``"a.b"`` and ``"a_b"``).
    """
    digest = hashlib.sha1(raw.encode("utf-8", "surrogatepass")).hexdigest()  # noqa: S324 - a name, not security
    return f"{name[: MAX_NAME_LENGTH - _HASH_LENGTH - 1]}~{digest[:_HASH_LENGTH]}"
