"""Fetch one model's outcomes and score histograms of a window, for the performance checks.

Reading through :mod:`mlmon_elk.sources` (searches on the outcome and prediction
streams, or the JSON-lines files, where the handler writes outcomes beside
predictions) and counting with :mod:`mlmon_elk.profile.counting.performance`.
Realized performance is counted **by prediction time**.
``tests/test_performance_flights.py`` holds the two to the same counts.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from mlmon_elk.contract import Dataset, stream_name
from mlmon_elk.errors import SourceError
from mlmon_elk.profile.baseline import ModelBaselines
from mlmon_elk.profile.counting.performance import (
    OutcomeCounter,
    count_of,
    outcome_body,
    parse_outcomes,
    parse_scores,
    performance_groups,
    score_body,
    version_buckets,
    versions_of,
    zero_scores,
)
from mlmon_elk.profile.performance import PerformanceWindow
from mlmon_elk.profile.window import ModelWindow
from mlmon_elk.sources.elasticsearch import Searches
from mlmon_elk.sources.files import MTIME_SLACK_SECONDS, listed_since, read_chunks
from mlmon_elk.windows import Window

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from mlmon_elk.retry import Retry


class OutcomeSource(Protocol):
    """Anything that can count a model's outcomes and scores in a window."""

    def fetch(
        self, model: ModelBaselines, window: Window, predictions: ModelWindow
    ) -> tuple[dict[str, PerformanceWindow], int]:
        """Version → performance counts (versions whose baseline records performance),
        and the number of requests or files read.

        Raises:
            SourceError: the outcomes cannot be read.
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

    def fetch(
        self, model: ModelBaselines, window: Window, predictions: ModelWindow
    ) -> tuple[dict[str, PerformanceWindow], int]:
        """See :class:`OutcomeSource`."""
        out: dict[str, PerformanceWindow] = {}
        requests = 0
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
            for version in {*outcomes, *scores, *versions_of(model, profile, predictions)}:
                out[version] = PerformanceWindow(
                    predictions=count_of(predictions, version),
                    outcomes=outcomes.get(version),
                    scores=scores.get(version, zero_scores(profile)),
                )
        return out, requests


class FileOutcomes:
    """Counts outcomes and scores from the handler's JSON-lines files."""

    def __init__(
        self, paths: Sequence[str | os.PathLike[str]], *, chunk_rows: int = 50_000
    ) -> None:
        self.paths = list(paths)
        self.chunk_rows = chunk_rows

    def fetch(
        self, model: ModelBaselines, window: Window, predictions: ModelWindow
    ) -> tuple[dict[str, PerformanceWindow], int]:
        """See :class:`OutcomeSource`. Files last written before the window are skipped."""
        counter = OutcomeCounter(model, window)
        paths = list(listed_since(self.paths, window.start.timestamp() - MTIME_SLACK_SECONDS))
        try:
            for chunk in read_chunks(paths, chunk_rows=self.chunk_rows):
                counter.add(chunk)
        except Exception as exc:  # a file rotated away: reported, next run tries again
            if isinstance(exc, SourceError):
                raise
            msg = f"outcomes of {model.model}: files changed while being read ({exc!r})"
            raise SourceError(msg) from exc
        return counter.result(predictions), len(paths)
