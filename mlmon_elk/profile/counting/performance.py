"""Realized performance's count: outcomes (ground truth) and score histograms of a window.

An outcome belongs to the window its ``mlmon.prediction_time`` falls in,
whenever it was logged. Each outcome document carries the prediction's score
or predicted value (see :mod:`mlmon_elk.producer.outcomes`), so the count is a
pure aggregation on the outcome stream, per version: a ``range`` on the score
per actual class, or ``terms`` actual × predicted, or ``extended_stats`` of the
residual; plus, for the label-free estimate, a ``range`` of the score output on
the prediction stream. The response size depends on the number of bins and
classes, never on the number of outcomes. :class:`OutcomeCounter` counts the
same from decoded documents (the JSON-lines files).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from mlmon_elk.contract import Dataset, Field, Kind, Role, value_field
from mlmon_elk.profile.baseline import ModelBaselines
from mlmon_elk.profile.counting.aggregation import Body
from mlmon_elk.profile.performance import (
    OutcomeCounts,
    PerformanceProfile,
    PerformanceWindow,
    ResidualSums,
    Task,
)
from mlmon_elk.profile.window import ModelWindow
from mlmon_elk.windows import Window, format_time

MAX_CLASSES = 100
"""Classes (``terms`` size) counted per actual and predicted value."""

VERSIONS = "versions"
"""The per-version split of both searches."""


def performance_groups(model: ModelBaselines) -> list[tuple[PerformanceProfile, Body]]:
    """One (profile, version filter) per baseline that records performance.

    Versions with a baseline of their own get a ``terms`` filter; the default
    baseline covers every other version (``must_not``).
    """
    own = sorted(v for v in model.by_version if v != model.default_version)
    groups: list[tuple[PerformanceProfile, Body]] = []
    for version in own:
        profile = model.by_version[version].performance
        if profile is not None:
            groups.append((profile, {"terms": {Field.MODEL_VERSION: [version]}}))
    default = model.default.performance
    if default is not None:
        others: Body = {"bool": {"must_not": [{"terms": {Field.MODEL_VERSION: own}}]}}
        groups.append((default, others if own else {"match_all": {}}))
    return groups


def _ranges(edges: Sequence[float]) -> list[Body]:
    bounds: list[float | None] = [None, *edges, None]
    out = []
    for low, high in itertools.pairwise(bounds):
        r: Body = {}
        if low is not None:
            r["from"] = low
        if high is not None:
            r["to"] = high
        out.append(r)
    return out


def outcome_aggregations(profile: PerformanceProfile) -> Body:
    """The per-version aggregations of a profile's task on the outcome stream."""
    if profile.task is Task.REGRESSION:
        return {
            "labelled": {
                "filter": {"exists": {"field": Field.RESIDUAL}},
                "aggs": {
                    "residual": {"extended_stats": {"field": Field.RESIDUAL}},
                    "positive": {
                        "filter": {"range": {Field.RESIDUAL: {"gte": 0}}},
                        "aggs": {"sum": {"sum": {"field": Field.RESIDUAL}}},
                    },
                },
            }
        }
    if profile.score is not None:
        ranges = _ranges(profile.edges)
        classes = [c for c in (profile.positive, profile.negative) if c is not None]
        return {
            "labelled": {
                "filter": {
                    "bool": {
                        "filter": [
                            {"terms": {Field.ACTUAL_CAT: classes}},
                            {"exists": {"field": Field.SCORE}},
                        ]
                    }
                },
                "aggs": {
                    "actual": {
                        "terms": {"field": Field.ACTUAL_CAT, "size": len(classes)},
                        "aggs": {"bins": {"range": {"field": Field.SCORE, "ranges": ranges}}},
                    },
                    "bins": {
                        "range": {"field": Field.SCORE, "ranges": ranges},
                        "aggs": {"score": {"sum": {"field": Field.SCORE}}},
                    },
                },
            }
        }
    return {
        "labelled": {
            "filter": {
                "bool": {
                    "filter": [
                        {"exists": {"field": Field.ACTUAL_CAT}},
                        {"exists": {"field": Field.PREDICTED_CAT}},
                    ]
                }
            },
            "aggs": {
                "actual": {
                    "terms": {"field": Field.ACTUAL_CAT, "size": MAX_CLASSES},
                    "aggs": {
                        "predicted": {"terms": {"field": Field.PREDICTED_CAT, "size": MAX_CLASSES}}
                    },
                }
            },
        }
    }


def _time_range(field_name: str, window: Window) -> Body:
    return {
        "range": {
            field_name: {
                "gte": format_time(window.start),
                "lt": format_time(window.end),
                "format": "strict_date_optional_time",
            }
        }
    }


def _per_version(
    dataset: Dataset, model: str, time: Body, versions: Body, *, max_versions: int, aggs: Body
) -> Body:
    """A size-0 search over one model's documents of ``dataset``, ``aggs`` per version."""
    return {
        "size": 0,
        "track_total_hits": False,
        "query": {
            "bool": {
                "filter": [
                    {"term": {Field.EVENT_DATASET: str(dataset)}},
                    {"term": {Field.MODEL_NAME: model}},
                    time,
                    versions,
                ]
            }
        },
        "aggs": {
            VERSIONS: {
                "terms": {"field": Field.MODEL_VERSION, "size": max_versions},
                "aggs": aggs,
            }
        },
    }


def outcome_body(
    model: str, window: Window, profile: PerformanceProfile, versions: Body, max_versions: int
) -> Body:
    """The search on the outcome stream for one baseline's versions (by prediction time)."""
    time = _time_range(Field.PREDICTION_TIME, window)
    aggs = outcome_aggregations(profile)
    return _per_version(
        Dataset.OUTCOME, model, time, versions, max_versions=max_versions, aggs=aggs
    )


def score_field(profile: PerformanceProfile) -> str:
    """The prediction document's field holding the score."""
    return value_field(Role.OUTPUT, Kind.NUM, profile.score or "")


def score_body(
    model: str, window: Window, profile: PerformanceProfile, versions: Body, max_versions: int
) -> Body:
    """The search on the prediction stream: the window's score histogram per version."""
    scores = {"range": {"field": score_field(profile), "ranges": _ranges(profile.edges)}}
    time = _time_range(Field.TIMESTAMP, window)
    return _per_version(
        Dataset.PREDICTION,
        model,
        time,
        versions,
        max_versions=max_versions,
        aggs={"scores": scores},
    )


def parse_outcomes(profile: PerformanceProfile, version_bucket: Mapping[str, Any]) -> OutcomeCounts:
    """The outcome counts of one version bucket of :func:`outcome_body`'s response."""
    labelled = version_bucket["labelled"]
    count = int(labelled["doc_count"])
    if profile.task is Task.REGRESSION:
        stats = labelled["residual"]
        total = float(stats.get("sum") or 0.0)
        positive = float(labelled["positive"]["sum"]["value"] or 0.0)
        return OutcomeCounts(
            labelled=count,
            residuals=ResidualSums(
                count=int(stats["count"]),
                sum=total,
                sum_squares=float(stats.get("sum_of_squares") or 0.0),
                sum_positive=positive,
                sum_negative=total - positive,
            ),
        )
    if profile.score is not None:
        bins = {
            str(b["key"]): tuple(int(r["doc_count"]) for r in b["bins"]["buckets"])
            for b in labelled["actual"]["buckets"]
        }
        sums = tuple(float(r["score"]["value"] or 0.0) for r in labelled["bins"]["buckets"])
        return OutcomeCounts(labelled=count, score_bins=bins, score_sums=sums)
    confusion = {
        (str(a["key"]), str(p["key"])): int(p["doc_count"])
        for a in labelled["actual"]["buckets"]
        for p in a["predicted"]["buckets"]
    }
    return OutcomeCounts(labelled=count, confusion=confusion)


def parse_scores(version_bucket: Mapping[str, Any]) -> tuple[int, ...]:
    """The score histogram of one version bucket of :func:`score_body`'s response."""
    return tuple(int(r["doc_count"]) for r in version_bucket["scores"]["buckets"])


def version_buckets(response: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The per-version buckets of a response to :func:`outcome_body` or :func:`score_body`."""
    buckets: list[Mapping[str, Any]] = (
        response.get("aggregations", {}).get(VERSIONS, {}).get("buckets", [])
    )
    return buckets


def prediction_counts(predictions: ModelWindow) -> dict[str, int]:
    """Version → predictions in the window."""
    return {v: p.count for v, p in predictions.versions.items()}


def versions_of(
    model: ModelBaselines, profile: PerformanceProfile, predictions: Mapping[str, int]
) -> list[str]:
    """Versions with predictions in the window that ``profile`` applies to."""
    return [v for v in predictions if model.for_version(v).performance is profile]


def count_of(predictions: Mapping[str, int], version: str) -> int:
    return predictions.get(version, 0)


def prediction_count_body(model: str, window: Window, max_versions: int) -> Body:
    """The search on the prediction stream counting the window's predictions per version."""
    time = _time_range(Field.TIMESTAMP, window)
    return _per_version(
        Dataset.PREDICTION, model, time, {"match_all": {}}, max_versions=max_versions, aggs={}
    )


def parse_prediction_counts(response: Mapping[str, Any]) -> dict[str, int]:
    """Version → predictions, from :func:`prediction_count_body`'s response."""
    return {str(b["key"]): int(b["doc_count"]) for b in version_buckets(response)}


# ------------------------------------------------------ late outcomes (serve)

WINDOWS = "windows"
"""The per-window split of :func:`labelled_count_body` (one ``date_range`` per window)."""


def labelled_count_body(
    model: str,
    windows: Sequence[Window],
    profile: PerformanceProfile,
    versions: Body,
    max_versions: int,
) -> Body:
    """The labelled outcomes per version and window (by prediction time), in one search.

    Counted with the same filter as :func:`outcome_aggregations`, so each figure
    is the ``mlmon.window.count`` a ``performance`` result of that window would
    record. One ``date_range`` bucket per window (they may overlap).
    """
    span = Window(min(w.start for w in windows), max(w.end for w in windows))
    labelled = outcome_aggregations(profile)["labelled"]["filter"]
    ranges = [
        {"key": format_time(w.end), "from": format_time(w.start), "to": format_time(w.end)}
        for w in windows
    ]
    by_window = {
        WINDOWS: {
            "date_range": {
                "field": Field.PREDICTION_TIME,
                "format": "strict_date_optional_time",
                "ranges": ranges,
            }
        }
    }
    body = _per_version(
        Dataset.OUTCOME,
        model,
        _time_range(Field.PREDICTION_TIME, span),
        versions,
        max_versions=max_versions,
        aggs=by_window,
    )
    body["query"]["bool"]["filter"].append(labelled)
    return body


def parse_labelled_counts(response: Mapping[str, Any]) -> dict[tuple[str, str], int]:
    """(version, window end as formatted) → labelled outcomes, from :func:`labelled_count_body`.

    Windows without outcomes are left out.
    """
    return {
        (str(v["key"]), str(w["key"])): int(w["doc_count"])
        for v in version_buckets(response)
        for w in v[WINDOWS]["buckets"]
        if int(w["doc_count"])
    }


def arrived_windows(
    docs: Sequence[Mapping[str, Any]],
    model: ModelBaselines,
    windows: Sequence[Window],
    since: datetime,
) -> set[Window]:
    """``windows`` holding the prediction time of an outcome of ``docs`` logged at or after
    ``since`` (``@timestamp``), for a version whose baseline records performance."""
    logged_at: list[object] = []
    predicted_at: list[object] = []
    for d in docs:
        mlmon = d.get("mlmon") or {}
        if (d.get("event") or {}).get("dataset") != Dataset.OUTCOME:
            continue
        if (mlmon.get("model") or {}).get("name") != model.model:
            continue
        version = _keyword((mlmon.get("model") or {}).get("version"))
        if version is None or model.for_version(version).performance is None:
            continue
        logged_at.append(d.get("@timestamp"))
        predicted_at.append(mlmon.get("prediction_time"))
    if not logged_at:
        return set()
    logged = _times(logged_at)
    predicted = _times(predicted_at)
    recent = logged >= pd.Timestamp(since).value
    return {w for w in windows if bool((recent & _between(predicted, w)).any())}


def zero_scores(profile: PerformanceProfile) -> tuple[int, ...] | None:
    return (0,) * (len(profile.edges) + 1) if profile.score is not None else None


@dataclass(slots=True)
class _Scored:
    """One version's labelled outcomes with a score, in a chunk: binned together."""

    actual: list[str] = field(default_factory=list)
    score: list[float] = field(default_factory=list)


@dataclass(slots=True)
class _Sums:
    """One version's outcome and score counts, summed over chunks."""

    profile: PerformanceProfile
    labelled: int = 0
    score_bins: dict[str, np.ndarray] = field(default_factory=dict)
    score_sums: np.ndarray | None = None
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    residual: list[float] = field(default_factory=lambda: [0, 0.0, 0.0, 0.0])
    scores: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.profile.score is not None:
            size = len(self.profile.edges) + 1
            self.score_sums = np.zeros(size)
            self.scores = np.zeros(size, dtype=np.int64)

    def add_scores(self, values: Sequence[float]) -> None:
        """Count predictions' ``values`` into the score bins."""
        assert self.scores is not None  # noqa: S101 - only versions with a score collect them
        bins = np.searchsorted(self.profile.edges, values, side="right")
        self.scores += np.bincount(bins, minlength=len(self.scores))

    def add_outcome_scores(self, labelled: _Scored) -> None:
        """Count labelled outcomes into each class's score bins, and their scores' sums."""
        assert self.score_sums is not None  # noqa: S101 - only versions with a score collect them
        size = len(self.score_sums)
        bins = np.searchsorted(self.profile.edges, labelled.score, side="right")
        self.score_sums += np.bincount(bins, weights=labelled.score, minlength=size)
        actual = np.asarray(labelled.actual, dtype=object)
        for name in dict.fromkeys(labelled.actual):
            counts = np.bincount(bins[actual == name], minlength=size)
            self.score_bins[name] = self.score_bins.get(name, 0) + counts

    def outcomes(self) -> OutcomeCounts:
        p = self.profile
        if p.task is Task.REGRESSION:
            n, total, squares, positive = self.residual
            return OutcomeCounts(
                labelled=self.labelled,
                residuals=ResidualSums(int(n), total, squares, positive, total - positive),
            )
        if p.score is not None and self.score_sums is not None:
            return OutcomeCounts(
                labelled=self.labelled,
                score_bins={k: tuple(int(x) for x in v) for k, v in self.score_bins.items()},
                score_sums=tuple(float(x) for x in self.score_sums),
            )
        return OutcomeCounts(labelled=self.labelled, confusion=dict(self.confusion))


def _number(value: object) -> float | None:
    # What a double field indexes: JSON numbers (bools are not numbers here).
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _keyword(value: object) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _times(stamps: Iterable[object]) -> np.ndarray:
    """Nanoseconds since the epoch of ISO-8601 ``stamps``; the smallest integer where invalid."""
    times = pd.to_datetime(
        pd.Series(list(stamps), dtype=object), utc=True, format="ISO8601", errors="coerce"
    )
    ns: np.ndarray = times.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return ns  # NaT is the smallest int64: before every window


def _between(ns: np.ndarray, window: Window) -> np.ndarray:
    start = pd.Timestamp(window.start).value
    end = pd.Timestamp(window.end).value
    result: np.ndarray = (ns > np.iinfo(np.int64).min) & (ns >= start) & (ns < end)
    return result


class OutcomeCounter:
    """Counts outcome and prediction documents into performance windows, chunk by chunk."""

    def __init__(self, model: ModelBaselines, window: Window) -> None:
        self.model = model
        self.window = window
        self.sums: dict[str, _Sums] = {}
        self.predictions: Counter[str] = Counter()
        """Version → predictions of the model in the window (of any version)."""

    def _sums(self, version: str) -> _Sums | None:
        profile = self.model.for_version(version).performance
        if profile is None:
            return None
        sums = self.sums.get(version)
        if sums is None:
            sums = self.sums[version] = _Sums(profile)
        return sums

    def add(self, docs: Sequence[Mapping[str, Any]]) -> None:
        """Count the model's outcomes and scored predictions of ``docs`` in the window."""
        count_outcomes([self], docs)

    def add_outcomes(self, outcomes: Sequence[Mapping[str, Any]], inside: np.ndarray) -> None:
        """Count the outcomes (their ``mlmon``) of the model marked ``inside`` the window."""
        # Scores are binned a chunk at a time: one searchsorted per doc cost more than the rest.
        scored: dict[str, _Scored] = {}
        for i in np.flatnonzero(inside).tolist():
            self._outcome(outcomes[i], scored)
        for version, labelled in scored.items():
            self.sums[version].add_outcome_scores(labelled)

    def add_predictions(self, predictions: Sequence[Mapping[str, Any]], inside: np.ndarray) -> None:
        """Count the predictions (their ``mlmon``) of the model marked ``inside`` the window."""
        scores: dict[str, list[float]] = {}
        for i in np.flatnonzero(inside).tolist():
            self._prediction(predictions[i], scores)
        for version, values in scores.items():
            self.sums[version].add_scores(values)

    def _outcome(self, mlmon: Mapping[str, Any], scored: dict[str, _Scored]) -> None:
        version = _keyword((mlmon.get("model") or {}).get("version"))
        if version is None or (sums := self._sums(version)) is None:
            return
        p = sums.profile
        actual = _keyword((mlmon.get("actual") or {}).get("cat"))
        if p.task is Task.REGRESSION:
            r = _number(mlmon.get("residual"))
            if r is None:
                return
            sums.labelled += 1
            sums.residual[0] += 1
            sums.residual[1] += r
            sums.residual[2] += r * r
            if r >= 0:
                sums.residual[3] += r
            return
        if p.score is not None and sums.score_sums is not None:
            score = _number(mlmon.get("score"))
            if score is None or actual is None or actual not in (p.positive, p.negative):
                return
            sums.labelled += 1
            labelled = scored.setdefault(version, _Scored())
            labelled.actual.append(actual)
            labelled.score.append(score)
            return
        predicted = _keyword((mlmon.get("predicted") or {}).get("cat"))
        if actual is None or predicted is None:
            return
        sums.labelled += 1
        sums.confusion[(actual, predicted)] += 1

    def _prediction(self, mlmon: Mapping[str, Any], scores: dict[str, list[float]]) -> None:
        version = _keyword((mlmon.get("model") or {}).get("version"))
        if version is None:
            return
        self.predictions[version] += 1
        sums = self._sums(version)
        if sums is None or sums.scores is None:
            return
        name = sums.profile.score or ""
        score = _number((((mlmon.get("outputs") or {}).get("num")) or {}).get(name))
        if score is not None:
            scores.setdefault(version, []).append(score)

    def result(self, predictions: Mapping[str, int] | None = None) -> dict[str, PerformanceWindow]:
        """Version → performance window (versions with predictions or outcomes).

        Args:
            predictions: version → predictions in the window, as the prediction
                source counted them (default: the predictions counted here).
        """
        if predictions is None:
            predictions = dict(self.predictions)
        for version in predictions:
            self._sums(version)
        return {
            version: PerformanceWindow(
                predictions=count_of(predictions, version),
                outcomes=sums.outcomes() if sums.labelled else None,
                scores=tuple(int(x) for x in sums.scores) if sums.scores is not None else None,
            )
            for version, sums in self.sums.items()
        }


def count_outcomes(counters: Sequence[OutcomeCounter], docs: Sequence[Mapping[str, Any]]) -> None:
    """Count ``docs`` into each of ``counters`` (one model's, each its own window): the
    documents are sorted out and their times read once, whatever the number of windows."""
    model = counters[0].model.model
    outcomes: list[Mapping[str, Any]] = []
    predictions: list[Mapping[str, Any]] = []
    stamps: list[object] = []
    for d in docs:
        mlmon = d.get("mlmon") or {}
        if (mlmon.get("model") or {}).get("name") != model:
            continue
        dataset = (d.get("event") or {}).get("dataset")
        if dataset == Dataset.OUTCOME:
            outcomes.append(mlmon)
        elif dataset == Dataset.PREDICTION:
            predictions.append(mlmon)
            stamps.append(d.get("@timestamp"))
    if outcomes:
        predicted = _times(m.get("prediction_time") for m in outcomes)
        for counter in counters:
            counter.add_outcomes(outcomes, _between(predicted, counter.window))
    if predictions:
        logged = _times(stamps)
        for counter in counters:
            counter.add_predictions(predictions, _between(logged, counter.window))
