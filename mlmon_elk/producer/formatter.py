"""``PredictionFormatter``: prediction records as contract documents (DESIGN.md §3).

A python-json-logger ``JsonFormatter``: wherever a JSON formatter fits (a
``StreamHandler`` to stdout, a ``dictConfig`` ``formatters`` entry with
``()``), it turns a record made by :func:`mlmon_elk.log_prediction` into
exactly the prediction document — one JSON line per row — and nothing from
the ``LogRecord`` that the contract does not name. Other records are
formatted as python-json-logger always does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from pythonjsonlogger.json import JsonFormatter

from mlmon_elk.contract import DEFAULT_NAMESPACE
from mlmon_elk.producer.batches import batch_documents, is_batch, single_row
from mlmon_elk.producer.encoding import encode_line
from mlmon_elk.producer.events import (
    DEFAULT_MAX_TEXT_CHARS,
    PREDICTION_ATTR,
    DocumentBuilder,
    DocumentSettings,
    PredictionCall,
    PrivacyRule,
)

DEFAULT_MAX_DOCUMENT_BYTES = 1024 * 1024
"""Larger documents are dropped and counted (Logstash and Elasticsearch limit line sizes)."""


class Encoded(NamedTuple):
    """The JSON lines of one call and what did not make it into them."""

    data: bytes
    """Newline-terminated JSON lines, one per document kept."""
    oversize: int
    """Documents left out for exceeding ``max_document_bytes``."""
    problems: tuple[str, ...]
    """Mismatches found in a batch (its rows are logged without the mismatched part)."""


class PredictionFormatter(JsonFormatter):
    """Formats prediction records as contract documents.

    Args:
        *args: Passed to ``JsonFormatter`` (used for records that are not predictions).
        settings: Document settings; built from the keywords below when ``None``.
        model, model_version, service, service_version, environment, namespace,
            labels, text_inputs, privacy, hash_key_env, empty_as_null,
            max_text_chars: See :meth:`DocumentSettings.create`.
        max_document_bytes: Documents larger than this are dropped and counted.
        **kwargs: Passed to ``JsonFormatter``.

    Example (``logging.config.dictConfig``)::

        formatters:
          predictions:
            (): mlmon_elk.producer.formatter.PredictionFormatter
            model: churn
            model_version: "3"
    """

    def __init__(
        self,
        *args: Any,
        settings: DocumentSettings | None = None,
        model: str | None = None,
        model_version: str | None = None,
        service: str | None = None,
        service_version: str | None = None,
        environment: str | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        labels: Mapping[str, object] | None = None,
        text_inputs: Iterable[str] = (),
        privacy: Mapping[str, str | PrivacyRule] | None = None,
        hash_key_env: str = "MLMON_HASH_KEY",
        empty_as_null: bool = False,
        max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
        max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if settings is None:
            settings = DocumentSettings.create(
                model=model or "",
                model_version=model_version,
                service=service,
                service_version=service_version,
                environment=environment,
                namespace=namespace,
                labels=labels,
                text_inputs=text_inputs,
                privacy=privacy,
                hash_key_env=hash_key_env,
                empty_as_null=empty_as_null,
                max_text_chars=max_text_chars,
            )
        self.builder = DocumentBuilder(settings)
        self.max_document_bytes = max_document_bytes

    @property
    def settings(self) -> DocumentSettings:
        """The settings every document is built with."""
        return self.builder.settings

    def format(self, record: logging.LogRecord) -> str:
        """The contract documents of a prediction record (one line per row)."""
        call = record.__dict__.get(PREDICTION_ATTR)
        if not isinstance(call, PredictionCall):
            return super().format(record)
        return self.encode(call, record.created).data.decode("utf-8").rstrip("\n")

    def encode(self, call: PredictionCall, created: float | None = None) -> Encoded:
        """JSON lines for one call; ``created`` is the record's time if the call has none.

        Never raises for bad values (they are typed by the documented rules);
        raises only on a bug.
        """
        builder = self.builder
        timestamp = call.timestamp if call.timestamp is not None else created
        inputs = call.inputs
        limit = self.max_document_bytes
        if type(inputs) is dict:  # the usual case, without the batch machinery
            args = (
                inputs,
                call.outputs,
                call.latency_ms,
                call.prediction_id,
                call.labels,
                timestamp,
                call.error,
                call.outcome,
                call.model,
                call.model_version,
            )
            line = builder.prediction_line(*args) or encode_line(builder.prediction(*args))
            return Encoded(line, 0, ()) if len(line) <= limit else Encoded(b"", 1, ())
        problems: list[str] = []
        if is_batch(inputs):
            docs, problems = batch_documents(
                builder,
                inputs,
                call.outputs,
                prediction_id=call.prediction_id,
                feature_names=call.feature_names,
                latency_ms=call.latency_ms,
                labels=call.labels,
                timestamp=timestamp,
                error=call.error,
                outcome=call.outcome,
                model=call.model,
                model_version=call.model_version,
            )
        else:
            docs = [
                builder.prediction(
                    single_row(inputs),
                    call.outputs,
                    latency_ms=call.latency_ms,
                    prediction_id=call.prediction_id,
                    labels=call.labels,
                    timestamp=timestamp,
                    error=call.error,
                    outcome=call.outcome,
                    model=call.model,
                    model_version=call.model_version,
                )
            ]
        lines = [encode_line(doc) for doc in docs]
        kept = [line for line in lines if len(line) <= limit]
        return Encoded(b"".join(kept), len(lines) - len(kept), tuple(problems))
