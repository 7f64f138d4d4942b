"""Where check results, alerts and run summaries go: Elasticsearch or JSON-lines files.

A sink writes :class:`~mlmon_elk.results.documents.Document` objects with
``create`` semantics — an id already written is counted, never duplicated —
and answers which alerts were open before a window (from its own alert
documents), which is all the alert transitions need, and which window was
analysed last (from its run summaries), which is where ``serve`` resumes, and
how many labelled outcomes the ``performance`` results of past windows were
evaluated with, which is how ``serve`` finds windows whose outcomes arrived late.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mlmon_elk.results.alerts import AlertKey, OpenAlert
from mlmon_elk.results.documents import Document


@dataclass(frozen=True, slots=True)
class WriteReport:
    """What a write did."""

    written: int = 0
    existing: int = 0
    """Documents whose id was already there (an earlier or concurrent run)."""

    def __add__(self, other: WriteReport) -> WriteReport:
        return WriteReport(self.written + other.written, self.existing + other.existing)


class Sink(Protocol):
    """Anything that stores the analyzer's documents."""

    def write(self, documents: Sequence[Document]) -> WriteReport:
        """Create ``documents``; ids already present are counted as existing.

        Raises:
            SinkError: some documents could not be written.
        """
        ...  # pragma: no cover - protocol

    def open_alerts(
        self, models: Sequence[str], *, before: datetime, since: datetime
    ) -> dict[AlertKey, OpenAlert]:
        """Alerts of ``models`` open at ``before``: each key's latest alert document
        with window end in ``[since, before)`` is ``new``, ``ongoing``,
        ``escalated`` or ``recovering``.

        Raises:
            SinkError: the alerts cannot be read.
        """
        ...  # pragma: no cover - protocol

    def last_success(
        self, models: Sequence[str], *, since: datetime | None = None
    ) -> datetime | None:
        """End of the newest window (ending at or after ``since``, if given) that a
        run covering any of ``models`` analysed successfully; ``None`` if there is none.

        Raises:
            SinkError: the run summaries cannot be read.
        """
        ...  # pragma: no cover - protocol

    def labelled_counts(
        self, model: str, *, since: datetime, before: datetime
    ) -> dict[tuple[str, datetime], int]:
        """(version, window end) → the largest labelled count (``mlmon.window.count``) of
        ``model``'s ``performance`` results of windows ending in ``[since, before)``.

        Raises:
            SinkError: the check results cannot be read.
        """
        ...  # pragma: no cover - protocol
