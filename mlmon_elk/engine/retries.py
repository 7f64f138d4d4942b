"""Talking to the search engine reliably: which failures to retry, and what to tell a person.

Shared by the sources (searches) and the sinks (bulk writes): one layer owns
retries — the client's own are off (``NO_CLIENT_RETRIES``) — and every other
failure becomes one clear line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from mlmon_elk.errors import MlmonError, SourceError
from mlmon_elk.retry import Retry

logger = logging.getLogger(__name__)

T = TypeVar("T")


RETRY_STATUSES = frozenset({429, 502, 503, 504})
"""HTTP statuses that mean "busy or briefly away": worth another try."""


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


def response_problem(response: Mapping[str, Any]) -> str | None:
    """Why a search response (or ``_msearch`` item) cannot be trusted, or ``None``.

    Partial results — a timeout or failed shards — would undercount silently,
    so they are problems, not answers.
    """
    if "error" in response:
        return _error_reason(response["error"])
    if response.get("timed_out"):
        return "the search timed out before every shard answered"
    shards = response.get("_shards") or {}
    if shards.get("failed"):
        failures = shards.get("failures") or [{}]
        reason = _error_reason(failures[0].get("reason", {}))
        return f"{shards['failed']} of {shards.get('total', '?')} shards failed: {reason}"
    return None


def _error_reason(error: object) -> str:
    if isinstance(error, Mapping):
        cause = error.get("caused_by")
        reason = f"{error.get('type', 'error')}: {error.get('reason') or ''}".rstrip(": ")
        if isinstance(cause, Mapping) and cause.get("reason"):
            reason += f" (caused by {cause.get('type')}: {cause.get('reason')})"
        return reason
    return str(error)
