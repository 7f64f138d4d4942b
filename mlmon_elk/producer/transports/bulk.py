"""Straight into the cluster: ``_bulk`` ``create`` into the mlmon data streams.

No Logstash in between: each batch becomes one ``POST /logs-mlmon.prediction-<ns>/_bulk``
request (NDJSON, the same on Elasticsearch and OpenSearch), standard library
only. A document whose ``data_stream`` fields name another mlmon stream (an
outcome: ``logs-mlmon.outcome-<ns>``) goes there, by its action's ``_index``.
Every document gets a fixed ``_id`` — ``mlmon.prediction_id`` for predictions
and outcomes (one outcome per prediction: the first one wins), a hash of the
line for the handler's counters documents — and
the action is ``create``, which data streams require anyway. So a batch sent
twice (a retry after a lost answer, a spool replay) is answered ``409`` for
what the cluster already has: counted as a duplicate, never a second document.

Per document: ``201`` created, ``409`` already there (a duplicate), ``400`` a
rejection for good (a mapping conflict, an invalid value: counted as
rejected, the reason in the handler's diagnostics; sending it again would
fail again). Anything else — ``429``, ``5xx``, and also ``401``/``403``/``404``,
which are no fault of the document — fails the whole batch, which the sender
keeps and retries with backoff; what was created meanwhile comes back as
``409`` then. The same holds for the request as a whole.

Credentials come from the environment only: an API key (``MLMON_ES_API_KEY``,
``id:key`` or the encoded form) or, for clusters without API keys (OpenSearch's
security plugin), basic auth from ``MLMON_HTTP_USERNAME``/``MLMON_HTTP_PASSWORD``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import ssl
from dataclasses import dataclass
from typing import Any

from mlmon_elk.contract import Dataset, stream_name
from mlmon_elk.producer.transports import (
    DeliveryError,
    Destination,
    Receipt,
    TransportOptions,
    Waiting,
)
from mlmon_elk.producer.transports.http import AnsweredTransport, KeepAlive, basic_auth

MAX_ID_BYTES = 512
"""Elasticsearch and OpenSearch refuse a longer ``_id``."""


@dataclass(frozen=True)
class BulkBody:
    """An NDJSON ``_bulk`` body for a batch of lines, and what could not go in it."""

    body: bytes
    documents: int
    """Documents in ``body``."""
    unreadable: int = 0
    """Lines that are not a JSON object (left out; counted as rejected)."""


def document_id(line: bytes) -> str:
    """The ``_id`` of a document line: its prediction id, else a hash of the line."""
    return create_action(line)[1]


def create_action(line: bytes) -> tuple[str | None, str]:
    """The target (``None``: the request's own stream) and ``_id`` of a document line.

    The target is the mlmon stream the document's ``data_stream`` fields name, if
    they name one. A prediction id longer than the cluster allows (and a line
    without one, such as a counters document) gets a SHA-256 of the line: still
    the same for every resend of that line.

    Raises:
        ValueError: The line is not a JSON object.
    """
    doc = json.loads(line)
    if not isinstance(doc, dict):
        msg = "not a JSON object"
        raise ValueError(msg)
    mlmon = doc.get("mlmon")
    given = mlmon.get("prediction_id") if isinstance(mlmon, dict) else None
    if isinstance(given, str) and given and len(given.encode("utf-8")) <= MAX_ID_BYTES:
        doc_id = given
    else:
        doc_id = "sha256:" + hashlib.sha256(line.rstrip(b"\n")).hexdigest()
    return _target(doc.get("data_stream")), doc_id


def _target(data_stream: object) -> str | None:
    if not isinstance(data_stream, dict) or data_stream.get("type") != "logs":
        return None
    dataset, namespace = data_stream.get("dataset"), data_stream.get("namespace")
    if dataset == Dataset.PREDICTION or not isinstance(namespace, str) or not namespace:
        return None
    if dataset not in _ROUTED:
        return None
    return f"logs-{dataset}-{namespace}"


_ROUTED = frozenset({str(Dataset.OUTCOME)})
"""Datasets a document may name to leave the prediction stream."""


def bulk_body(data: bytes) -> BulkBody:
    """One ``create`` action with a fixed ``_id`` before each line of ``data``.

    The document lines are passed on as they are (the handler made them).
    """
    parts: list[bytes] = []
    documents = unreadable = 0
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            index, doc_id = create_action(line)
        except ValueError:
            unreadable += 1
            continue
        action = {"_index": index, "_id": doc_id} if index else {"_id": doc_id}
        parts += (b'{"create":', json.dumps(action).encode(), b"}\n", line, b"\n")
        documents += 1
    return BulkBody(b"".join(parts), documents, unreadable)


@dataclass(frozen=True)
class BulkOutcome:
    """What a ``_bulk`` answer says, document by document."""

    created: int = 0
    duplicates: int = 0
    rejected: int = 0
    retry: int = 0
    """Documents refused for a passing reason (429, 5xx, …): the batch must be sent again."""
    first_rejection: str = ""
    first_retry: str = ""


def read_bulk_answer(answer: Any, documents: int) -> BulkOutcome:
    """Sort the items of a decoded ``_bulk`` answer into the outcomes above.

    Raises:
        DeliveryError: The answer is not a bulk answer for ``documents`` items.
    """
    items = answer.get("items") if isinstance(answer, dict) else None
    if not isinstance(items, list) or len(items) != documents:
        got = len(items) if isinstance(items, list) else "no"
        msg = f"the _bulk answer has {got} items for {documents} documents"
        raise DeliveryError(msg)
    created = duplicates = rejected = retry = 0
    first_rejection = first_retry = ""
    for item in items:
        result: Any = next(iter(item.values()), None) if isinstance(item, dict) else None
        status = result.get("status") if isinstance(result, dict) else None
        if status in (200, 201):
            created += 1
        elif status == 409:
            duplicates += 1
        elif status == 400:
            rejected += 1
            first_rejection = first_rejection or _reason(result)
        else:
            retry += 1
            first_retry = first_retry or f"HTTP {status}: {_reason(result)}"
    return BulkOutcome(created, duplicates, rejected, retry, first_rejection, first_retry)


def _reason(result: Any) -> str:
    error = result.get("error") if isinstance(result, dict) else None
    doc_id = result.get("_id") if isinstance(result, dict) else None
    if isinstance(error, dict):
        text = f"{error.get('type')}: {error.get('reason')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict):
            text += f" ({cause.get('type')}: {cause.get('reason')})"
    else:
        text = str(error)
    return f"_id {doc_id}: {text}"


class BulkTransport(AnsweredTransport):
    """One keep-alive connection to the cluster; an answered ``_bulk`` is the acknowledgement."""

    def __init__(
        self,
        destination: Destination,
        options: TransportOptions,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(
            KeepAlive(
                destination,
                options,
                content_type="application/x-ndjson",
                auth=api_key_or_basic_auth,
                ssl_context=ssl_context,
            )
        )
        self.destination = destination
        self.stream = stream_name(Dataset.PREDICTION, options.namespace)
        self.path = f"{destination.path}/{self.stream}/_bulk"
        self._options = options

    def send(self, data: bytes, waiting: Waiting | None = None) -> Receipt:
        """Create the batch's documents; raise unless the cluster answered for each of them
        (``waiting`` runs while a busy cluster has not begun its answer).

        Raises:
            DeliveryError: The request failed, or the cluster asked for some
                documents to be sent again (the sender retries the batch).
        """
        bulk = bulk_body(data)
        if not bulk.documents:
            return _receipt(BulkOutcome(), bulk.unreadable)
        status, payload = self.connection.post(self.path, bulk.body, waiting)
        where = f"{self.destination.host}:{self.destination.port}"
        if status in (401, 403):
            msg = (
                f"{where} answered HTTP {status} to _bulk on {self.stream}: set"
                f" {self._options.api_key_env} (or {self._options.http_username_env}"
                f" / {self._options.http_password_env}) to credentials allowed to"
                " create documents there"
            )
            raise DeliveryError(msg)
        if not 200 <= status < 300:
            msg = f"{where} answered HTTP {status} to _bulk: {payload[:300]!r}"
            raise DeliveryError(msg)
        try:
            answer = json.loads(payload)
        except ValueError as exc:
            msg = f"{where} answered _bulk with something that is not JSON: {payload[:100]!r}"
            raise DeliveryError(msg) from exc
        outcome = read_bulk_answer(answer, bulk.documents)
        if outcome.retry:
            msg = (
                f"{where}: {outcome.retry} of {bulk.documents} documents to be sent again"
                f" (first: {outcome.first_retry})"
            )
            raise DeliveryError(msg)
        return _receipt(outcome, bulk.unreadable)


def api_key_or_basic_auth(options: TransportOptions) -> dict[str, str]:
    """An API key (``id:key`` or encoded) from the environment, else basic auth."""
    if api_key := os.environ.get(options.api_key_env):
        encoded = base64.b64encode(api_key.encode()).decode("ascii") if ":" in api_key else api_key
        return {"Authorization": f"ApiKey {encoded}"}
    return basic_auth(options)


def _receipt(outcome: BulkOutcome, unreadable: int) -> Receipt:
    first = outcome.first_rejection or ("a line that is not a JSON object" if unreadable else "")
    return Receipt(outcome.duplicates, outcome.rejected + unreadable, first)
