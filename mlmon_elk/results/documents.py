"""Check-result, alert and run-summary documents with deterministic ids (pure).

Every document is written with ``create`` under an ``_id`` derived only from
what it describes — the window, the model, version, check and feature, the
alert transition — so analysing a window again, or two analyzers analysing it
at once, can never write anything twice: the second ``create`` finds the id
taken. Only a *failed* run's summary carries its start time in the id, so
each failure is recorded, while a successful re-run writes nothing new. The
``performance`` result also carries its labelled count: outcomes that arrived
since make a re-run (backfill) of a past window a new result.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from mlmon_elk.checks.result import CheckResult, WindowResult
from mlmon_elk.contract import ECS_VERSION, Check, Dataset, Status, Transition, stream_name
from mlmon_elk.results.alerts import AlertEvent, AlertKey
from mlmon_elk.results.run_summary import RunSummary
from mlmon_elk.windows import Window, format_time

SEVERITY_CODE = {Status.WARNING: 2, Status.CRITICAL: 3}
"""``event.severity`` (a number in ECS) of each alerting status."""

Source = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Document:
    """One document to write with ``create``."""

    dataset: Dataset
    """Which kind of document; the sink derives the stream or file from it."""
    id: str
    source: Source

    def index(self, namespace: str) -> str:
        return stream_name(self.dataset, namespace)


def document_id(*parts: object) -> str:
    """A stable id from ``parts`` (SHA-1 of their unambiguous joined text)."""
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()  # noqa: S324 - an id


REALIZED = ("accuracy", "roc_auc", "mae", "rmse", "bias", "labelled_share")
"""Realized figures of a ``performance`` result copied from its context to mapped fields."""


def check_document(
    window: WindowResult,
    result: CheckResult,
    namespace: str,
    *,
    evaluated: datetime | None = None,
) -> Document:
    """The ``mlmon.check`` document of one check result (every status, ``ok`` included).

    ``evaluated`` (when the analyzer evaluated it) becomes ``event.created`` of a
    ``performance`` result: the latest of a window's results is the current one.
    """
    key = AlertKey.of(window, result)
    source = _common(Dataset.CHECK, "metric", _window_of(window), namespace)
    source["message"] = result.message(window.model, window.version)
    source["mlmon"] = _result_fields(window, result, key)
    parts: list[object] = ["check", key, *_bounds(window)]
    if result.check is Check.PERFORMANCE:
        # Outcomes arrive late: a re-run of the window with more labels is a new
        # result (a new document), a re-run with the same labels writes nothing.
        parts.append(f"labelled={result.count}")
        if evaluated is not None:
            source["event"]["created"] = format_time(evaluated)
        # Every realized metric, mapped, whichever one the result is about (mlmon.metric).
        realized = {k: _finite(result.context.get(k)) for k in REALIZED}
        source["mlmon"]["realized"] = {k: v for k, v in realized.items() if v is not None}
    return Document(Dataset.CHECK, document_id(*parts), source)


def alert_document(event: AlertEvent, namespace: str) -> Document:
    """The ``mlmon.alert`` document of one transition."""
    window, result = event.window, event.result
    source = _common(Dataset.ALERT, "alert", _window_of(window), namespace)
    message = result.message(window.model, window.version)
    prefix = _PREFIX.get(event.transition)
    if prefix:
        message = f"{prefix}: {message}"
    source["message"] = message
    source["event"]["severity"] = SEVERITY_CODE[event.severity]
    source["rule"] = {"name": str(result.check)}
    fields = _result_fields(window, result, event.key)
    fields["transition"] = str(event.transition)
    fields["severity"] = str(event.severity)
    if event.transition in (Transition.RECOVERING, Transition.RESOLVED):
        fields["clear_windows"] = event.clear_windows
    source["mlmon"] = fields
    ident = document_id("alert", event.key, *_bounds(window), event.transition)
    return Document(Dataset.ALERT, ident, source)


_PREFIX = {
    Transition.RESOLVED: "Resolved",
    Transition.RECOVERING: "Recovering",
    Transition.ESCALATED: "Escalated",
}


def run_id(summary: RunSummary, namespace: str) -> str:
    """Deterministic for a successful run of a window; unique per failed run."""
    parts: list[object] = ["run", namespace, *_window_bounds(summary.window), *summary.models]
    if not summary.ok:
        parts.append(format_time(summary.started))
    return document_id(*parts)


def run_document(summary: RunSummary, namespace: str) -> Document:
    """The ``mlmon.run`` document of one analyzer run (written to the check stream)."""
    ident = run_id(summary, namespace)
    source = _common(Dataset.RUN, "event", summary.window, namespace)
    source["@timestamp"] = format_time(summary.finished)
    source["event"].update(
        {
            "outcome": "success" if summary.ok else "failure",
            "duration": round(summary.duration_seconds * 1e9),
        }
    )
    source["message"] = summary.line()
    source["mlmon"] = {
        "run": {
            "id": ident,
            "status": "success" if summary.ok else "failure",
            "started": format_time(summary.started),
            "models": list(summary.models),
            "model_count": len(summary.models),
            "checks": summary.checks,
            "statuses": {str(s): n for s, n in sorted(summary.statuses.items())},
            "alerts": {str(t): n for t, n in sorted(summary.alerts.items())},
            "alert_count": sum(summary.alerts.values()),
            "errors": list(summary.errors),
            "error_count": len(summary.errors),
            "notes": list(summary.notes),
            "requests": summary.requests,
            "written": summary.written,
            "existing": summary.existing,
        }
    }
    if summary.errors:
        source["error"] = {"type": "AnalyzerRunFailed", "message": summary.errors[0]}
    return Document(Dataset.RUN, ident, source)


def _common(dataset: Dataset, kind: str, window: Window, namespace: str) -> Source:
    stream = Dataset.CHECK if dataset is Dataset.RUN else dataset
    return {
        "@timestamp": format_time(window.end),
        "ecs": {"version": ECS_VERSION},
        "event": {
            "kind": kind,
            "dataset": str(dataset),
            "start": format_time(window.start),
            "end": format_time(window.end),
        },
        "data_stream": {"type": "logs", "dataset": str(stream), "namespace": namespace},
    }


def _result_fields(window: WindowResult, result: CheckResult, key: AlertKey) -> Source:
    fields: Source = {
        "key": str(key),
        "model": {"name": window.model},
        "check": str(result.check),
        "metric": result.metric,
        "status": str(result.status),
        "window": {"count": result.count},
    }
    if result.sample_rate is not None:
        fields["window"]["sample_rate"] = result.sample_rate
    if window.version is not None:
        fields["model"]["version"] = window.version
    if result.feature is not None:
        fields["feature"] = result.feature
    if result.role is not None:
        fields["role"] = str(result.role)
    for name in ("value", "threshold", "p_value", "expected", "observed"):
        number = _finite(getattr(result, name))
        if number is not None:
            fields[name] = number
    if result.context:
        fields["context"] = jsonable(result.context)
    return fields


def _window_of(window: WindowResult) -> Window:
    return Window(window.start, window.end)


def _bounds(window: WindowResult) -> tuple[str, str]:
    return format_time(window.start), format_time(window.end)


def _window_bounds(window: Window) -> tuple[str, str]:
    return format_time(window.start), format_time(window.end)


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def jsonable(value: Any) -> Any:
    """``value`` with only JSON types: numpy scalars unwrapped, NaN/±inf as ``None``,
    enums as their value, sets sorted, tuples as lists, keys as strings."""
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(jsonable(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=str)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return jsonable(item())
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)
