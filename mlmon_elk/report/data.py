"""What a report shows, read from check-result and alert documents.

The documents are the analyzer's own output (see docs/contract.md) — JSON lines in the
embedded mode, ``logs-mlmon.check-*`` / ``logs-mlmon.alert-*`` in Elasticsearch —
so a report never needs the predictions themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlmon_elk.contract import Check, Dataset, Status, Transition, stream_name
from mlmon_elk.errors import DataError, SourceError
from mlmon_elk.sinks.files import FILE_OF_DATASET
from mlmon_elk.windows import format_time, parse_time

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch


@dataclass(frozen=True, slots=True)
class CheckPoint:
    """One check result: one check of one feature in one window."""

    start: datetime
    end: datetime
    model: str
    version: str | None
    check: Check
    feature: str | None
    status: Status
    metric: str
    value: float | None
    threshold: float | None
    expected: float | None
    observed: float | None
    count: int
    message: str
    context: Mapping[str, Any] = field(default_factory=dict)
    p_value: float | None = None
    role: str | None = None
    """``input`` or ``output`` for feature checks; ``None`` for operational ones."""

    @property
    def series(self) -> tuple[str, str | None, Check, str | None]:
        """What a line over time follows: version, check and feature."""
        return (self.model, self.version, self.check, self.feature)


@dataclass(frozen=True, slots=True)
class AlertPoint:
    """One alert document: a check turning non-ok, staying so, or recovering."""

    end: datetime
    model: str
    version: str | None
    check: Check
    feature: str | None
    transition: Transition
    severity: Status
    message: str


@dataclass(frozen=True, slots=True)
class ReportData:
    """Check results and alerts of one period, oldest first."""

    checks: tuple[CheckPoint, ...]
    alerts: tuple[AlertPoint, ...]

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(sorted({c.model for c in self.checks}))


def read_result_files(
    directory: str | Path,
    *,
    model: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> ReportData:
    """Results the file sink wrote to ``directory`` (``checks.jsonl``, ``alerts.jsonl``).

    Raises:
        DataError: the directory has no check results, or a line is not JSON.
    """
    folder = Path(directory)
    checks_path = folder / FILE_OF_DATASET[Dataset.CHECK]
    if not checks_path.is_file():
        msg = f"{folder}: no {checks_path.name} here (run `mlmon-elk analyze` first)"
        raise DataError(msg)
    checks = _parse_checks(_json_lines(checks_path))
    alerts_path = folder / FILE_OF_DATASET[Dataset.ALERT]
    alerts = _parse_alerts(_json_lines(alerts_path)) if alerts_path.is_file() else []
    return _select(checks, alerts, model, start, end)


def read_result_index(
    client: Elasticsearch,
    namespace: str,
    *,
    model: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> ReportData:
    """Results the analyzer indexed in Elasticsearch for ``namespace``.

    Raises:
        SourceError: Elasticsearch cannot be read.
    """
    from elasticsearch import ApiError, TransportError, helpers

    filters: list[dict[str, Any]] = []
    if model is not None:
        filters.append({"term": {"mlmon.model.name": model}})
    bounds: dict[str, str] = {}
    if start is not None:
        bounds["gte"] = format_time(start)
    if end is not None:
        bounds["lte"] = format_time(end)
    if bounds:
        filters.append({"range": {"@timestamp": bounds}})

    def scan(dataset: Dataset) -> list[Mapping[str, Any]]:
        query = {"bool": {"filter": [{"term": {"event.dataset": str(dataset)}}, *filters]}}
        hits = helpers.scan(
            client,
            index=stream_name(dataset, namespace),
            query={"query": query},
            ignore_unavailable=True,
        )
        return [hit["_source"] for hit in hits]

    try:
        checks, alerts = scan(Dataset.CHECK), scan(Dataset.ALERT)
    except (ApiError, TransportError) as exc:
        msg = f"cannot read results from Elasticsearch: {exc}"
        raise SourceError(msg) from exc
    return _select(_parse_checks(checks), _parse_alerts(alerts), model, start, end)


def _select(
    checks: list[CheckPoint],
    alerts: list[AlertPoint],
    model: str | None,
    start: datetime | None,
    end: datetime | None,
) -> ReportData:
    def keep(m: str, window_end: datetime) -> bool:
        return (
            (model is None or m == model)
            and (start is None or window_end > start)
            and (end is None or window_end <= end)
        )

    return ReportData(
        checks=tuple(sorted((c for c in checks if keep(c.model, c.end)), key=_check_order)),
        alerts=tuple(sorted((a for a in alerts if keep(a.model, a.end)), key=lambda a: a.end)),
    )


def _check_order(c: CheckPoint) -> tuple[datetime, str, str, str]:
    return (c.end, c.version or "", str(c.check), c.feature or "")


def _json_lines(path: Path) -> Iterator[Mapping[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                msg = f"{path}:{number}: not a JSON document ({exc.msg})"
                raise DataError(msg) from exc


def _parse_checks(documents: Iterable[Mapping[str, Any]]) -> list[CheckPoint]:
    points = []
    for doc in documents:
        event, mlmon = doc.get("event", {}), doc.get("mlmon", {})
        if event.get("dataset") != str(Dataset.CHECK):
            continue
        points.append(
            CheckPoint(
                start=parse_time(event["start"]),
                end=parse_time(event["end"]),
                model=mlmon["model"]["name"],
                version=mlmon["model"].get("version"),
                check=Check(mlmon["check"]),
                feature=mlmon.get("feature"),
                status=Status(mlmon["status"]),
                metric=mlmon.get("metric", ""),
                value=mlmon.get("value"),
                threshold=mlmon.get("threshold"),
                expected=mlmon.get("expected"),
                observed=mlmon.get("observed"),
                count=int(mlmon.get("window", {}).get("count", 0)),
                message=doc.get("message", ""),
                context=mlmon.get("context") or {},
                p_value=mlmon.get("p_value"),
                role=mlmon.get("role"),
            )
        )
    return points


def _parse_alerts(documents: Iterable[Mapping[str, Any]]) -> list[AlertPoint]:
    points = []
    for doc in documents:
        event, mlmon = doc.get("event", {}), doc.get("mlmon", {})
        if event.get("dataset") != str(Dataset.ALERT):
            continue
        points.append(
            AlertPoint(
                end=parse_time(event["end"]),
                model=mlmon["model"]["name"],
                version=mlmon["model"].get("version"),
                check=Check(mlmon["check"]),
                feature=mlmon.get("feature"),
                transition=Transition(mlmon["transition"]),
                severity=Status(mlmon.get("severity", mlmon["status"])),
                message=doc.get("message", ""),
            )
        )
    return points
