"""Fetch one model's outcomes and score histograms of a window, for the performance checks.

Reading through :mod:`mlmon_elk.sources` (searches on the outcome and prediction
streams, or the JSON-lines files, where the handler writes outcomes beside
predictions) and counting with :mod:`mlmon_elk.profile.counting.performance`.
Realized performance is counted **by prediction time**.
``tests/test_performance_flights.py`` holds the two to the same counts.

For ``serve``, each source also says which past windows have outcomes they were
not evaluated with (:meth:`OutcomeSource.changed`): the engine compares labelled
counts per window (one aggregation) with the counts the latest results recorded;
the files, which have no cheap count, look at the outcomes logged since the last
look, in the files modified since.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from mlmon_elk.analyzer.fetch import PLAN_BATCH, planned_from, same_baselines
from mlmon_elk.contract import Dataset, stream_name
from mlmon_elk.errors import SourceError
from mlmon_elk.profile.baseline import ModelBaselines
from mlmon_elk.profile.counting.performance import (
    OutcomeCounter,
    arrived_windows,
    count_of,
    count_outcomes,
    labelled_count_body,
    outcome_body,
    parse_labelled_counts,
    parse_outcomes,
    parse_prediction_counts,
    parse_scores,
    performance_groups,
    prediction_count_body,
    prediction_counts,
    score_body,
    version_buckets,
    versions_of,
    zero_scores,
)
from mlmon_elk.profile.outcome_lines import performance_objects
from mlmon_elk.profile.performance import PerformanceWindow
from mlmon_elk.profile.window import ModelWindow
from mlmon_elk.sources.elasticsearch import Searches
from mlmon_elk.sources.files import (
    MTIME_SLACK_SECONDS,
    a_prediction,
    listed_since,
    of_other_models,
    read_chunks,
    stamped_outside,
)
from mlmon_elk.windows import Window, format_time

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from mlmon_elk.retry import Retry


Recorded = Mapping[tuple[str, datetime], int]
"""(version, window end) → labelled count of the window's latest ``performance`` result."""

ARRIVAL_SLACK = timedelta(minutes=2)
"""Outcomes logged this long before the last look still count as new (file mode):
a handler's batch reaches its file a little after the outcome's ``@timestamp``."""


class OutcomeSource(Protocol):
    """Anything that can count a model's outcomes and scores in a window."""

    def plan(self, windows: Sequence[Window]) -> None:
        """Hear which windows will be fetched next (a backfill, a catch-up), oldest first.

        A source that can count many windows in one pass over its data (the file
        source) does so; one whose cost is per request anyway ignores it.
        """
        ...  # pragma: no cover - protocol

    def fetch(
        self, model: ModelBaselines, window: Window, predictions: ModelWindow | None
    ) -> tuple[dict[str, PerformanceWindow], int]:
        """Version → performance counts (versions whose baseline records performance),
        and the number of requests or files read. ``predictions``: the window as
        the prediction source counted it; ``None`` counts the predictions per
        version here (a re-evaluation of ``performance`` alone).

        Raises:
            SourceError: the outcomes cannot be read.
        """
        ...  # pragma: no cover - protocol

    def changed(
        self,
        model: ModelBaselines,
        windows: Sequence[Window],
        *,
        since: datetime,
        recorded: Callable[[], Recorded],
    ) -> tuple[set[Window], int]:
        """Which of ``windows`` have outcomes their ``performance`` results were not
        evaluated with, and the requests or files read. ``since``: when the
        previous look started; ``recorded``: reads the counts the results hold.

        Raises:
            SourceError: the outcomes cannot be read.
            SinkError: the recorded counts cannot be read.
        """
        ...  # pragma: no cover - protocol


class ElasticsearchOutcomes:
    """Counts outcomes and scores with aggregations: one search on the outcome stream per
    baseline of the model, and one on the prediction stream for its score histogram."""

    def __init__(
        self,
        client: Elasticsearch,
        namespace: str,
        *,
        max_versions: int = 100,
        retry: Retry | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.client = client
        self.outcome_index = stream_name(Dataset.OUTCOME, namespace)
        self.prediction_index = stream_name(Dataset.PREDICTION, namespace)
        self.max_versions = max_versions
        self._searches = Searches(client, retry=retry, sleep=sleep or time.sleep)

    def plan(self, windows: Sequence[Window]) -> None:
        """Nothing to prepare: every window is counted by searches of its own."""

    def fetch(
        self, model: ModelBaselines, window: Window, predictions: ModelWindow | None
    ) -> tuple[dict[str, PerformanceWindow], int]:
        """See :class:`OutcomeSource`."""
        out: dict[str, PerformanceWindow] = {}
        requests = 0
        if predictions is None:
            body = prediction_count_body(model.model, window, self.max_versions)
            response, requests = self._searches.search(
                self.prediction_index, body, f"predictions of {model.model}"
            )
            counts = parse_prediction_counts(response)
        else:
            counts = prediction_counts(predictions)
        for profile, versions in performance_groups(model):
            body = outcome_body(model.model, window, profile, versions, self.max_versions)
            response, tries = self._searches.search(
                self.outcome_index, body, f"outcomes of {model.model}"
            )
            requests += tries
            outcomes = {
                str(b["key"]): parse_outcomes(profile, b) for b in version_buckets(response)
            }
            scores: dict[str, tuple[int, ...]] = {}
            if profile.score is not None:
                body = score_body(model.model, window, profile, versions, self.max_versions)
                response, tries = self._searches.search(
                    self.prediction_index, body, f"scores of {model.model}"
                )
                requests += tries
                scores = {str(b["key"]): parse_scores(b) for b in version_buckets(response)}
            for version in {*outcomes, *scores, *versions_of(model, profile, counts)}:
                out[version] = PerformanceWindow(
                    predictions=count_of(counts, version),
                    outcomes=outcomes.get(version),
                    scores=scores.get(version, zero_scores(profile)),
                )
        return out, requests

    def changed(
        self,
        model: ModelBaselines,
        windows: Sequence[Window],
        *,
        since: datetime,
        recorded: Callable[[], Recorded],
    ) -> tuple[set[Window], int]:
        """See :class:`OutcomeSource`: labelled counts per window (one search per
        baseline recording performance) against the recorded ones. ``since`` is
        not needed — an outcome that reached the engine late (a spool, a slow
        pipeline) is counted whenever it arrives."""
        if not windows:
            return set(), 0
        counts: dict[tuple[str, str], int] = {}
        requests = 0
        for profile, versions in performance_groups(model):
            body = labelled_count_body(model.model, windows, profile, versions, self.max_versions)
            response, tries = self._searches.search(
                self.outcome_index, body, f"labelled outcomes of {model.model}"
            )
            requests += tries
            counts.update(parse_labelled_counts(response))
        if not counts:
            return set(), requests
        known = recorded()
        by_end = {format_time(w.end): w for w in windows}
        return {
            by_end[end]
            for (version, end), n in counts.items()
            if end in by_end and n > known.get((version, by_end[end].end), 0)
        }, requests


class FileOutcomes:
    """Counts outcomes and scores from the handler's JSON-lines files."""

    def __init__(
        self, paths: Sequence[str | os.PathLike[str]], *, chunk_rows: int = 50_000
    ) -> None:
        self.paths = list(paths)
        self.chunk_rows = chunk_rows
        self._planned: list[Window] = []
        self._ready: dict[tuple[str, Window], _Counted] = {}

    def plan(self, windows: Sequence[Window]) -> None:
        """Say which windows will be fetched next (a backfill), so the files are read once.

        The first :meth:`fetch` of a planned window counts the outcomes of the
        planned windows after it too (up to :data:`PLAN_BATCH` at a time) in one
        pass over the files, and keeps their counts for their own fetches.
        """
        self._planned = sorted(set(windows), key=lambda w: (w.start, w.end))
        self._ready.clear()

    def fetch(
        self, model: ModelBaselines, window: Window, predictions: ModelWindow | None
    ) -> tuple[dict[str, PerformanceWindow], int]:
        """See :class:`OutcomeSource`. Files last written before the window are skipped."""
        # The window's predictions are read for their scores, or to count them when the
        # prediction source did not; a prediction outside the windows never is.
        with_predictions = predictions is None or _scores_counted(model)
        counted = self._ready.pop((model.model, window), None)
        files = 0
        if (
            counted is None
            or not same_baselines(counted.model, model)
            or (with_predictions and not counted.with_predictions)
        ):
            windows = planned_from(self._planned, window, PLAN_BATCH)
            # What is kept for earlier windows is never asked for: runs go forward in time.
            self._ready = {k: v for k, v in self._ready.items() if k[1].start >= window.start}
            counters = [OutcomeCounter(model, w) for w in windows]
            files = self._count(counters, with_predictions=with_predictions)
            for counter in counters[1:]:
                self._ready[(model.model, counter.window)] = _Counted(
                    model, counter, with_predictions
                )
            counted = _Counted(model, counters[0], with_predictions)
        counts = prediction_counts(predictions) if predictions is not None else None
        return counted.counter.result(counts), files

    def _count(self, counters: list[OutcomeCounter], *, with_predictions: bool) -> int:
        """Every counter's outcomes (and predictions) from one pass over the files since the
        earliest window; the files read."""
        model = counters[0].model.model
        start = min(c.window.start for c in counters)
        end = max(c.window.end for c in counters)
        paths = list(listed_since(self.paths, start.timestamp() - MTIME_SLACK_SECONDS))
        outside = stamped_outside(start, end)
        other_model = of_other_models([model])

        def skip(line: bytes) -> bool:  # the cheaper test first: most lines are predictions
            return (a_prediction(line) and (not with_predictions or outside(line))) or (
                other_model(line)
            )

        try:
            chunks = read_chunks(
                paths, chunk_rows=self.chunk_rows, skip=skip, decode=performance_objects
            )
            for chunk in chunks:
                count_outcomes(counters, chunk)
        except Exception as exc:  # a file rotated away: reported, next run tries again
            if isinstance(exc, SourceError):
                raise
            msg = f"outcomes of {model}: files changed while being read ({exc!r})"
            raise SourceError(msg) from exc
        return len(paths)

    def changed(
        self,
        model: ModelBaselines,
        windows: Sequence[Window],
        *,
        since: datetime,
        recorded: Callable[[], Recorded],
    ) -> tuple[set[Window], int]:
        """See :class:`OutcomeSource`: the windows of outcomes logged since ``since``
        (less :data:`ARRIVAL_SLACK`), read from the files modified since then only.
        Files untouched since the last look cost a ``stat`` each."""
        if not windows:
            return set(), 0
        after = since - ARRIVAL_SLACK
        paths = list(listed_since(self.paths, after.timestamp() - MTIME_SLACK_SECONDS))
        found: set[Window] = set()
        other_model = of_other_models([model.model])

        def skip(line: bytes) -> bool:  # outcomes alone say what arrived
            return a_prediction(line) or other_model(line)

        try:
            chunks = read_chunks(
                paths, chunk_rows=self.chunk_rows, skip=skip, decode=performance_objects
            )
            for chunk in chunks:
                found |= arrived_windows(chunk, model, windows, after)
        except Exception as exc:  # a file rotated away: reported, next tick looks again
            if isinstance(exc, SourceError):
                raise
            msg = f"late outcomes of {model.model}: files changed while being read ({exc!r})"
            raise SourceError(msg) from exc
        return found, len(paths)


def _scores_counted(model: ModelBaselines) -> bool:
    """Whether a baseline of ``model`` histograms its predictions' scores (for the
    estimated performance): then the window's prediction documents are read for them."""
    return any(
        baseline.performance is not None and baseline.performance.score is not None
        for baseline in model.by_version.values()
    )


@dataclass(frozen=True, slots=True)
class _Counted:
    """A planned window's outcomes, counted ahead with ``model``'s baselines."""

    model: ModelBaselines
    counter: OutcomeCounter
    with_predictions: bool
    """Whether the window's predictions were counted too (a re-evaluation needs them)."""
