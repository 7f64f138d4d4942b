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
import os
from typing import Any, NamedTuple

from pythonjsonlogger.json import JsonFormatter

from mlmon_elk.producer.batches import batch_documents, is_batch, single_row
from mlmon_elk.producer.builder import DocumentBuilder
from mlmon_elk.producer.call import PREDICTION_ATTR, PredictionCall
from mlmon_elk.producer.encoding import encode_line
from mlmon_elk.producer.options import split_document_options
from mlmon_elk.producer.settings import DocumentOptions, DocumentSettings


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
        options: The document options; or give them as flat keywords (any
            field of :class:`~mlmon_elk.producer.settings.DocumentOptions`:
            ``model``, ``model_version``, ``text_inputs``, ``privacy``…).
        settings: Ready document settings (instead of options); the options'
            ``max_document_bytes`` still applies.
        **kwargs: The document options' fields; the rest is passed to ``JsonFormatter``.

    Raises:
        ConfigError: A document option is invalid (the message names it), or a
            ``hash`` rule's key is missing from the environment.

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
        options: DocumentOptions | None = None,
        settings: DocumentSettings | None = None,
        **kwargs: Any,
    ) -> None:
        given, rest = split_document_options(kwargs)
        super().__init__(*args, **rest)
        if options is None:
            options = given
        if settings is None:
            settings = DocumentSettings.create(options, os.environ)  # the edge reads the key
        self.builder = DocumentBuilder(settings)
        self.max_document_bytes = options.max_document_bytes

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
        raises only on a bug, or :class:`~mlmon_elk.producer.call.CallError`
        for a value that makes no document (e.g. an unparsable timestamp).
        """
        builder = self.builder
        inputs = call.inputs
        limit = self.max_document_bytes
        if type(inputs) is dict:  # the usual case, without the batch machinery
            line = builder.prediction_line(call, created) or encode_line(
                builder.prediction(call, created)
            )
            return Encoded(line, 0, ()) if len(line) <= limit else Encoded(b"", 1, ())
        problems: list[str] = []
        if is_batch(inputs):
            docs, problems = batch_documents(builder, call, created)
        else:
            docs = [builder.prediction(call._replace(inputs=single_row(inputs)), created)]
        lines = [encode_line(doc) for doc in docs]
        kept = [line for line in lines if len(line) <= limit]
        return Encoded(b"".join(kept), len(lines) - len(kept), tuple(problems))
