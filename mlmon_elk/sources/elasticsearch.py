"""Send searches to Elasticsearch and return their responses (the I/O edge).

What to search for is built elsewhere (:mod:`mlmon_elk.profile.engine_plan`,
:mod:`mlmon_elk.profile.counting.performance`); this module sends the bodies —
one plain search, or several in one ``_msearch`` — retries what is worth
retrying with the shared rules (:mod:`mlmon_elk.engine.retries`), says when the
cluster refused the number of buckets (:class:`TooManyBuckets`, so the caller
can split its request), and turns everything else into one clear
:class:`~mlmon_elk.errors.SourceError`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from mlmon_elk.engine.retries import (
    RETRY_STATUSES,
    TransientError,
    describe_error,
    response_problem,
    with_retries,
)
from mlmon_elk.errors import SourceError
from mlmon_elk.retry import Retry

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

Body = dict[str, Any]
Response = Mapping[str, Any]


class TooManyBuckets(Exception):
    """The cluster refused the request's bucket count; ``limit`` is its own (0 if unknown)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"too many buckets (cluster limit {limit or 'unknown'})")
        self.limit = limit


def bucket_limit(error: object) -> int | None:
    """The cluster's ``search.max_buckets`` if ``error`` is a too_many_buckets error."""
    if "too_many_buckets" not in str(error):
        return None
    while isinstance(error, Mapping):
        if isinstance(error.get("max_buckets"), int):
            return int(error["max_buckets"])
        error = error.get("caused_by") or error.get("error")
    return 0


def cluster_answered(error: SourceError) -> bool:
    """Whether the cluster answered the search ``error`` is about — refused it, or some
    shards failed — rather than never answering (unreachable, timed out)."""
    from elastic_transport import TransportError

    return not isinstance(error.__cause__, TransportError)


class Searches:
    """Sends search bodies through one client, retrying transient failures.

    Args:
        client: an ``Elasticsearch`` client (see :func:`mlmon_elk.engine.client.connect`).
        retry: retry policy for transient failures.
        sleep: how to wait between tries (tests pass a recorder).
    """

    def __init__(
        self,
        client: Elasticsearch,
        *,
        retry: Retry | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.retry = retry or Retry()
        self._sleep = sleep

    def search_all(
        self, index: str, bodies: Sequence[Body], what: str
    ) -> tuple[list[Response], int]:
        """The complete responses to ``bodies`` on ``index`` (one ``_msearch`` for several),
        and the tries made.

        A partial response (timeout, failed shards) or a busy cluster is retried;
        an error the cluster will repeat is not.

        Raises:
            TooManyBuckets: the cluster's ``search.max_buckets`` is below what
                the bodies may create.
            SourceError: Elasticsearch stayed unreachable or refused the search.
        """
        from elastic_transport import TransportError
        from elasticsearch import ApiError

        try:
            return with_retries(
                partial(self._send, index, bodies), self.retry, what, sleep=self._sleep
            )
        except (ApiError, TransportError) as exc:
            msg = f"{what}: {describe_error(exc)}"
            raise SourceError(msg) from exc

    def search(self, index: str, body: Body, what: str) -> tuple[Response, int]:
        """One search's response, any partial or refused answer retried; and the tries made.

        Raises:
            SourceError: Elasticsearch stayed unreachable or kept answering partially.
        """
        from elastic_transport import TransportError
        from elasticsearch import ApiError

        def send() -> Response:
            response: Response = self.client.search(
                index=index, body=body, ignore_unavailable=True
            ).body
            problem = response_problem(response)
            if problem is not None:
                raise TransientError(problem)
            return response

        try:
            return with_retries(send, self.retry, what, sleep=self._sleep)
        except (ApiError, TransportError) as exc:
            msg = f"{what}: {describe_error(exc)}"
            raise SourceError(msg) from exc

    def _send(self, index: str, bodies: Sequence[Body]) -> list[Response]:
        from elasticsearch import ApiError

        try:
            if len(bodies) == 1:
                search = self.client.search(index=index, body=bodies[0], ignore_unavailable=True)
                responses: list[Response] = [search.body]
            else:
                searches: list[Mapping[str, Any]] = []
                for body in bodies:
                    searches.extend(({"index": index, "ignore_unavailable": True}, body))
                responses = list(self.client.msearch(searches=searches).body["responses"])
        except ApiError as exc:
            limit = bucket_limit(exc.body)
            if limit is not None:
                raise TooManyBuckets(limit) from exc
            raise
        for response in responses:
            problem = response_problem(response)
            if problem is None:
                continue
            if "error" not in response or response.get("status") in RETRY_STATUSES:
                limit = bucket_limit(response.get("error"))
                if limit is not None:
                    raise TooManyBuckets(limit)
                raise TransientError(problem)
            raise SourceError(problem)
        return responses


CONCURRENT_SEARCH = ("search", "concurrent_segment_search")
"""OpenSearch's setting (2.12+) for searching a shard's segments side by side."""


def searches_segments_concurrently(client: Elasticsearch, index: str) -> bool:
    """Whether the engine searches the segments of ``index``'s shards side by side.

    OpenSearch does when ``search.concurrent_segment_search.mode`` is ``auto``
    (requests with aggregations, as ours all are) or ``all``, or, before 2.17,
    when ``….enabled`` is true: set on the newest backing index, else on the
    cluster (``auto`` by default from 3.0, ``none`` before). Elasticsearch has no
    such setting: ``False``.

    Raises:
        elasticsearch.ApiError, elastic_transport.TransportError: the settings
            could not be read.
    """
    # Every backing index answers with its name, so the newest is known even where
    # only an older one sets the mode.
    wanted = "*.settings.index.provided_name,*.settings.index.search.concurrent_segment_search"
    indices = client.indices.get_settings(index=index, filter_path=wanted).body
    newest = indices[max(indices)]["settings"]["index"] if indices else {}
    mode = _concurrency_mode(newest)
    if mode is None:
        cluster = client.cluster.get_settings(
            include_defaults=True, filter_path="*.search.concurrent_segment_search"
        ).body
        for layer in ("transient", "persistent", "defaults"):
            if (mode := _concurrency_mode(cluster.get(layer) or {})) is not None:
                break
    return mode in ("auto", "all")


def _concurrency_mode(settings: Mapping[str, Any]) -> str | None:
    """``mode`` as set in one layer of settings (``enabled`` read as ``all``/``none``)."""
    section: Any = settings
    for key in CONCURRENT_SEARCH:
        section = section.get(key) if isinstance(section, Mapping) else None
    if not isinstance(section, Mapping):
        return None
    if (mode := section.get("mode")) is not None:
        return str(mode)
    if (enabled := section.get("enabled")) is not None:
        return "all" if str(enabled).lower() == "true" else "none"
    return None
