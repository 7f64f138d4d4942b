"""Write check results, alerts and run summaries to Elasticsearch (the I/O edge).

Documents go in with bulk ``create`` under their deterministic ids: a ``409``
conflict means an earlier (or concurrent) run already wrote that document and
is counted as *existing*, not as an error. The same code writes to data
streams and to plain indices, whichever the installed templates created.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from mlmon_elk.contract import Check, Dataset, Field, stream_name
from mlmon_elk.engine.retries import describe_error, with_retries
from mlmon_elk.errors import SinkError
from mlmon_elk.results.alerts import AlertKey, AlertState, OpenAlert, alert_state, fold_latest
from mlmon_elk.results.documents import Document
from mlmon_elk.retry import Retry
from mlmon_elk.sinks import WriteReport
from mlmon_elk.windows import format_time

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

logger = logging.getLogger(__name__)

T = TypeVar("T")

BULK_SIZE = 500
"""Documents per bulk request."""

ALERT_PAGE = 1000
"""Alert keys read per page when looking up open alerts."""


class ElasticsearchSink:
    """Creates documents in ``logs-mlmon.check-<ns>`` and ``logs-mlmon.alert-<ns>``.

    Args:
        client: an ``Elasticsearch`` client (see :func:`mlmon_elk.engine.client.connect`).
        namespace: data stream namespace.
        retry: retry policy for transient failures.
        sleep: how to wait between tries (tests pass a recorder).
    """

    def __init__(
        self,
        client: Elasticsearch,
        namespace: str,
        *,
        retry: Retry | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.retry = retry or Retry()
        self._sleep = sleep

    def write(self, documents: Sequence[Document]) -> WriteReport:
        """Bulk-``create`` ``documents``; existing ids are counted, not rewritten.

        Raises:
            SinkError: Elasticsearch stayed unreachable or rejected documents.
        """
        report = WriteReport()
        for start in range(0, len(documents), BULK_SIZE):
            report += self._write_chunk(documents[start : start + BULK_SIZE])
        return report

    def _write_chunk(self, documents: Sequence[Document]) -> WriteReport:
        operations: list[Mapping[str, Any]] = []
        for doc in documents:
            operations.append({"create": {"_index": doc.index(self.namespace), "_id": doc.id}})
            operations.append(doc.source)
        # Searchable when the run returns: the next run reads open alerts back (a backfill
        # runs windows back to back), and a report may follow at once. Results are few.
        response = self._request(
            partial(self.client.bulk, operations=operations, refresh=True),
            f"writing {len(documents)} documents",
        )
        written = existing = 0
        failures: list[str] = []
        for item in response["items"]:
            result = item.get("create", {})
            status = int(result.get("status", 0))
            if result.get("failure_store") == "used":
                # Accepted with 201, but into the failure store: a mapping problem.
                failures.append(f"{result.get('_index')}: stored in the failure store")
            elif status in (200, 201):
                written += 1
            elif status == 409:
                existing += 1
            else:
                error = result.get("error", {})
                reason = f"{error.get('type')}: {error.get('reason')}"
                failures.append(f"{result.get('_index')}: {reason}")
        if failures:
            msg = f"{len(failures)} of {len(documents)} documents were rejected"
            msg += f"; first: {failures[0]}"
            raise SinkError(msg)
        return WriteReport(written, existing)

    def open_alerts(
        self, models: Sequence[str], *, before: datetime, since: datetime
    ) -> dict[AlertKey, OpenAlert]:
        """Alerts open before ``before``, from the latest alert document per key.

        Raises:
            SinkError: the alert stream cannot be read.
        """
        if not models:
            return {}
        query = {
            "bool": {
                "filter": [
                    {"term": {Field.EVENT_DATASET: str(Dataset.ALERT)}},
                    {"terms": {Field.MODEL_NAME: sorted(models)}},
                    {
                        "range": {
                            Field.EVENT_END: {
                                "gte": format_time(since),
                                "lt": format_time(before),
                                "format": "strict_date_optional_time",
                            }
                        }
                    },
                ]
            }
        }
        latest: list[AlertState] = []
        after: Mapping[str, Any] | None = None
        while True:
            composite: dict[str, Any] = {
                "size": ALERT_PAGE,
                "sources": [{"key": {"terms": {"field": "mlmon.key"}}}],
            }
            if after is not None:
                composite["after"] = after
            body = {
                "size": 0,
                "query": query,
                "aggs": {
                    "keys": {
                        "composite": composite,
                        "aggs": {
                            "latest": {
                                "top_hits": {
                                    "size": 1,
                                    "sort": [{Field.EVENT_END: {"order": "desc"}}],
                                    "_source": ["mlmon"],
                                }
                            }
                        },
                    }
                },
            }
            aggregations = self._aggregate(Dataset.ALERT, body, "reading open alerts")
            keys = aggregations.get("keys") or {}
            buckets = keys.get("buckets") or []
            for bucket in buckets:
                hits = bucket["latest"]["hits"]["hits"]
                if hits:
                    latest.append(alert_state(hits[0]["_source"].get("mlmon", {})))
            after = keys.get("after_key")
            if len(buckets) < ALERT_PAGE or after is None:
                return fold_latest(latest)

    def last_success(
        self, models: Sequence[str], *, since: datetime | None = None
    ) -> datetime | None:
        """End of the newest successfully analysed window (a ``max`` over run summaries).

        Raises:
            SinkError: the check stream cannot be read.
        """
        if not models:
            return None
        filters: list[dict[str, Any]] = [
            {"term": {Field.EVENT_DATASET: str(Dataset.RUN)}},
            {"term": {Field.RUN_STATUS: "success"}},
            {"terms": {Field.RUN_MODELS: sorted(models)}},
        ]
        if since is not None:
            when = {"gte": format_time(since), "format": "strict_date_optional_time"}
            filters.append({"range": {Field.EVENT_END: when}})
        body = {
            "size": 0,
            "query": {"bool": {"filter": filters}},
            "aggs": {"last": {"max": {"field": Field.EVENT_END}}},
        }
        aggregations = self._aggregate(Dataset.CHECK, body, "reading run summaries")
        millis = (aggregations.get("last") or {}).get("value")
        if millis is None:
            return None
        return datetime.fromtimestamp(float(millis) / 1000.0, UTC)

    def labelled_counts(
        self, model: str, *, since: datetime, before: datetime
    ) -> dict[tuple[str, datetime], int]:
        """Largest labelled count per version and window (a ``max`` per composite bucket).

        Raises:
            SinkError: the check stream cannot be read.
        """
        ends = {
            "gte": format_time(since),
            "lt": format_time(before),
            "format": "strict_date_optional_time",
        }
        query = {
            "bool": {
                "filter": [
                    {"term": {Field.EVENT_DATASET: str(Dataset.CHECK)}},
                    {"term": {Field.CHECK: str(Check.PERFORMANCE)}},
                    {"term": {Field.MODEL_NAME: model}},
                    {"range": {Field.EVENT_END: ends}},
                ]
            }
        }
        out: dict[tuple[str, datetime], int] = {}
        after: Mapping[str, Any] | None = None
        while True:
            composite: dict[str, Any] = {
                "size": ALERT_PAGE,
                "sources": [
                    {"version": {"terms": {"field": Field.MODEL_VERSION}}},
                    {"end": {"terms": {"field": Field.EVENT_END}}},
                ],
            }
            if after is not None:
                composite["after"] = after
            body = {
                "size": 0,
                "query": query,
                "aggs": {
                    "windows": {
                        "composite": composite,
                        "aggs": {"labelled": {"max": {"field": Field.WINDOW_COUNT}}},
                    }
                },
            }
            aggregations = self._aggregate(Dataset.CHECK, body, "reading labelled counts")
            windows = aggregations.get("windows") or {}
            buckets = windows.get("buckets") or []
            for bucket in buckets:
                end = datetime.fromtimestamp(float(bucket["key"]["end"]) / 1000.0, UTC)
                out[(str(bucket["key"]["version"]), end)] = int(bucket["labelled"]["value"] or 0)
            after = windows.get("after_key")
            if len(buckets) < ALERT_PAGE or after is None:
                return out

    def _aggregate(self, dataset: Dataset, body: dict[str, Any], what: str) -> dict[str, Any]:
        """The ``aggregations`` of a search of ``dataset``'s stream (empty if it has none yet)."""
        search = partial(
            self.client.search,
            index=stream_name(dataset, self.namespace),
            body=body,
            ignore_unavailable=True,
        )
        return dict(self._request(search, what).body.get("aggregations") or {})

    def _request(self, call: Callable[[], T], what: str) -> T:
        """``call`` with retries; a failure that persists is a SinkError saying ``what`` failed."""
        from elastic_transport import TransportError
        from elasticsearch import ApiError

        try:
            response, _ = with_retries(call, self.retry, what, sleep=self._sleep, error=SinkError)
        except (ApiError, TransportError) as exc:
            msg = f"{what}: {describe_error(exc)}"
            raise SinkError(msg) from exc
        return response
