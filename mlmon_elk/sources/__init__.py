"""Where windows of predictions come from: Elasticsearch or JSON-lines files.

Both sources turn the predictions of one model in one window into the same
:class:`~mlmon_elk.profile.window.ModelWindow`; the checks never know which
source counted. ``tests/sources/test_differential.py`` holds them to that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from mlmon_elk.profile.baseline import ModelBaselines
from mlmon_elk.profile.window import ModelWindow
from mlmon_elk.windows import Window


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One model's window as counted by a source."""

    window: ModelWindow
    notes: tuple[str, ...] = ()
    """Limits hit while counting, for the run summary."""
    requests: int = 1
    """Requests made (searches and retries, or files read)."""


class Source(Protocol):
    """Anything that can count one model's window of predictions."""

    def plan(self, windows: Sequence[Window]) -> None:
        """Hear which windows will be fetched next (a backfill, a catch-up), oldest first.

        A source that can count many windows in one pass over its data (the file
        source) does so; one whose cost is per request anyway ignores it.
        """
        ...  # pragma: no cover - protocol

    def fetch(
        self,
        model: ModelBaselines,
        window: Window,
        *,
        history: int = 0,
        percents: Sequence[float] = (50.0, 95.0, 99.0),
    ) -> FetchResult:
        """Count ``model``'s predictions in ``window`` (and ``history`` preceding windows),
        with the latency ``percents``.

        Raises:
            SourceError: the predictions cannot be read.
        """
        ...  # pragma: no cover - protocol
