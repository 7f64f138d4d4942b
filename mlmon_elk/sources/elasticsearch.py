"""Count windows of predictions with Elasticsearch aggregations (the I/O edge).

The requests come from :mod:`mlmon_elk.profile.engine_plan`; this module sends them,
retries what is worth retrying with exponential backoff, and turns everything
else into one clear :class:`~mlmon_elk.errors.SourceError`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from mlmon_elk.contract import Dataset, stream_name
from mlmon_elk.engine.retries import (
    RETRY_STATUSES,
    TransientError,
    describe_error,
    response_problem,
    with_retries,
)
from mlmon_elk.errors import SourceError
from mlmon_elk.profile.baseline import ModelBaselines
from mlmon_elk.profile.engine_plan import (
    DEFAULT_PERCENTS,
    PlanOptions,
    QueryPlan,
    build_plan,
    parse_responses,
)
from mlmon_elk.retry import Retry
from mlmon_elk.sources import FetchResult
from mlmon_elk.windows import Window

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

logger = logging.getLogger(__name__)


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


class ElasticsearchSource:
    """Counts windows of ``logs-mlmon.prediction-<namespace>`` with aggregations.

    Args:
        client: an ``Elasticsearch`` client (see :func:`mlmon_elk.engine.client.connect`).
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
