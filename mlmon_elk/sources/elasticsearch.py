"""Count windows of predictions with Elasticsearch aggregations (the I/O edge).

The requests come from :mod:`mlmon_elk.queries`; this module sends them,
retries what is worth retrying with exponential backoff, and turns everything
else into one clear :class:`~mlmon_elk.errors.SourceError`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from mlmon_elk.contract import Dataset, stream_name
from mlmon_elk.errors import MlmonError, SourceError
from mlmon_elk.queries import (
    DEFAULT_PERCENTS,
    PlanOptions,
    QueryPlan,
    build_plan,
    parse_responses,
    response_problem,
)
from mlmon_elk.sources import FetchResult, ModelBaselines
from mlmon_elk.windows import Window

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

logger = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_STATUSES = frozenset({429, 502, 503, 504})
"""HTTP statuses that mean "busy or briefly away": worth another try."""


@dataclass(frozen=True, slots=True)
class Retry:
    """How often and how patiently a request is retried."""

    attempts: int = 4
    """Tries in all (1 = no retry)."""
    initial: float = 1.0
    """Seconds before the first retry; doubles each time (with jitter)."""
    maximum: float = 30.0
    """Longest wait between two tries, in seconds."""

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed try number ``attempt`` (0-based)."""
        wait: float = min(self.maximum, self.initial * 2.0**attempt)
        return wait * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security


class TransientError(Exception):
    """A failure worth retrying (connection lost, timeout, overload, partial result)."""


def with_retries(
    call: Callable[[], T],
    retry: Retry,
    what: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    error: type[MlmonError] = SourceError,
) -> tuple[T, int]:
    """Run ``call`` until it succeeds or ``retry.attempts`` are spent.

    Returns the result and the number of tries. Transient Elasticsearch
    failures are retried after a growing delay; any other error is re-raised.

    Raises:
        MlmonError: ``error`` when the last try failed transiently.
    """
    for attempt in range(retry.attempts):
        try:
            return call(), attempt + 1
        except Exception as exc:
            transient = _transient_reason(exc)
            if transient is None:
                raise
            if attempt + 1 >= retry.attempts:
                msg = f"{what} failed after {retry.attempts} tries: {transient}"
                raise error(msg) from exc
            wait = retry.delay(attempt)
            logger.warning("%s failed (%s); retrying in %.1f s", what, transient, wait)
            sleep(wait)
    msg = f"{what}: no tries allowed (attempts={retry.attempts})"
    raise error(msg)


def _transient_reason(exc: BaseException) -> str | None:
    """A short reason if ``exc`` is worth retrying, else ``None``."""
    from elasticsearch import ApiError, ConnectionTimeout
    from elasticsearch import ConnectionError as EsConnectionError

    if isinstance(exc, TransientError):
        return str(exc)
    if isinstance(exc, ConnectionTimeout):
        return f"no answer from Elasticsearch in time ({exc.message})"
    if isinstance(exc, EsConnectionError):
        return f"cannot reach Elasticsearch ({exc.message})"
    if isinstance(exc, ApiError) and exc.meta.status in RETRY_STATUSES:
        return f"HTTP {exc.meta.status} {exc.error}"
    return None


class _TooManyBuckets(Exception):
    """The cluster refused the plan's bucket count; ``limit`` is its own (0 if unknown)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"too many buckets (cluster limit {limit or 'unknown'})")
        self.limit = limit


def _bucket_limit(error: object) -> int | None:
    """The cluster's ``search.max_buckets`` if ``error`` is a too_many_buckets error."""
    if "too_many_buckets" not in str(error):
        return None
    while isinstance(error, Mapping):
        if isinstance(error.get("max_buckets"), int):
            return int(error["max_buckets"])
        error = error.get("caused_by") or error.get("error")
    return 0


def describe_error(exc: BaseException) -> str:
    """One line saying what went wrong talking to Elasticsearch."""
    from elasticsearch import ApiError, ConnectionTimeout
    from elasticsearch import ConnectionError as EsConnectionError

    if isinstance(exc, ConnectionTimeout):
        return f"no answer from Elasticsearch in time ({exc.message})"
    if isinstance(exc, EsConnectionError):
        return f"cannot reach Elasticsearch ({exc.message})"
    if isinstance(exc, ApiError):
        body = exc.body if isinstance(exc.body, Mapping) else {}
        error = body.get("error")
        reason = response_problem({"error": error}) if error else str(exc.message)
        return f"HTTP {exc.meta.status}: {reason}"
    return f"{type(exc).__name__}: {exc}"


class ElasticsearchSource:
    """Counts windows of ``logs-mlmon.prediction-<namespace>`` with aggregations.

    Args:
        client: an ``Elasticsearch`` client (see :func:`mlmon_elk.es_client.connect`).
        namespace: data stream namespace of the predictions.
        options: query plan options (``max_buckets``, ``max_versions``…);
            ``history`` and ``percents`` are given per fetch.
        retry: retry policy for transient failures.
        sleep: how to wait between tries (tests pass a recorder).
    """

    def __init__(
        self,
        client: Elasticsearch,
        namespace: str,
        *,
        options: PlanOptions | None = None,
        retry: Retry | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.index = stream_name(Dataset.PREDICTION, namespace)
        self.options = options or PlanOptions()
        self.retry = retry or Retry()
        self._sleep = sleep

    def plan(self, windows: Sequence[Window]) -> None:
        """Nothing to prepare: every window is one aggregation request whatever comes next."""

    def query_plan(
        self,
        model: ModelBaselines,
        window: Window,
        *,
        history: int = 0,
        percents: Sequence[float] = DEFAULT_PERCENTS,
    ) -> QueryPlan:
        """The query plan :meth:`fetch` would send (for ``--dry-run`` style inspection)."""
        options = replace(self.options, history=history, percents=tuple(percents))
        return build_plan(model, window, self.index, options)

    def fetch(
        self,
        model: ModelBaselines,
        window: Window,
        *,
        history: int = 0,
        percents: Sequence[float] = DEFAULT_PERCENTS,
    ) -> FetchResult:
        """Count ``model``'s predictions in ``window`` (and ``history`` earlier windows).

        Raises:
            SourceError: Elasticsearch stayed unreachable or refused the query.
        """
        from elastic_transport import TransportError
        from elasticsearch import ApiError

        plan = self.query_plan(model, window, history=history, percents=percents)
        what = f"counting {model.model} in {window}"
        requests = 0
        # A cluster with a lower search.max_buckets than configured says so in
        # its error; re-plan with its limit instead of failing the run.
        for _ in range(3):
            try:
                responses, tries = with_retries(
                    partial(self._send, plan), self.retry, what, sleep=self._sleep
                )
            except _TooManyBuckets as exc:
                requests += 1
                current = plan.options.max_buckets
                smaller = exc.limit if 0 < exc.limit < current else current // 2
                logger.warning(
                    "%s: the cluster allows fewer buckets; splitting under %d", what, smaller
                )
                plan = build_plan(
                    model, window, self.index, replace(plan.options, max_buckets=max(smaller, 1))
                )
                continue
            except (ApiError, TransportError) as exc:
                msg = f"{what}: {describe_error(exc)}"
                raise SourceError(msg) from exc
            requests += tries
            parsed = parse_responses(plan, responses)
            notes = parsed.notes
            if len(plan.bodies) > 1:
                notes = (*notes, f"{model.model}: split into {len(plan.bodies)} searches")
            return FetchResult(parsed.window, notes, requests)
        msg = f"{what}: the cluster keeps refusing the number of buckets; lower max_buckets"
        raise SourceError(msg)

    def _send(self, plan: QueryPlan) -> list[Mapping[str, Any]]:
        from elasticsearch import ApiError

        try:
            if len(plan.bodies) == 1:
                search = self.client.search(
                    index=plan.index, body=plan.bodies[0], ignore_unavailable=True
                )
                responses: list[Mapping[str, Any]] = [search.body]
            else:
                searches: list[Mapping[str, Any]] = []
                for body in plan.bodies:
                    searches.extend(({"index": plan.index, "ignore_unavailable": True}, body))
                responses = list(self.client.msearch(searches=searches).body["responses"])
        except ApiError as exc:
            limit = _bucket_limit(exc.body)
            if limit is not None:
                raise _TooManyBuckets(limit) from exc
            raise
        for response in responses:
            problem = response_problem(response)
            if problem is None:
                continue
            if "error" not in response or response.get("status") in RETRY_STATUSES:
                limit = _bucket_limit(response.get("error"))
                if limit is not None:
                    raise _TooManyBuckets(limit)
                raise TransientError(problem)
            raise SourceError(problem)
        return responses
