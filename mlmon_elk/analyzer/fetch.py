"""Fetch one model's window of predictions: read through a source, count with the profile.

The composition at the analyzer's edge: :mod:`mlmon_elk.sources` reads
(files, or searches sent to Elasticsearch) and knows nothing of counting;
:mod:`mlmon_elk.profile` counts (the record counter, or the query plan and its
parser) and knows nothing of reading. Both sources give the same
:class:`~mlmon_elk.profile.window.ModelWindow` for the same documents; the
checks never know which one counted. ``tests/analyzer/test_fetch_differential.py``
holds them to that on a real engine.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from mlmon_elk import background
from mlmon_elk.contract import Dataset, stream_name
from mlmon_elk.engine.retries import describe_error
from mlmon_elk.errors import DataError, SourceError
from mlmon_elk.profile.baseline import ModelBaselines
from mlmon_elk.profile.counting.operational import DEFAULT_PERCENTS
from mlmon_elk.profile.defaults import EXAMPLES
from mlmon_elk.profile.engine_plan import (
    PlanOptions,
    QueryPlan,
    build_plan,
    count_body,
    parse_counts,
    parse_responses,
)
from mlmon_elk.profile.lines import Decoded, LineSchema
from mlmon_elk.profile.native_lines import NativeSchema, line_schema
from mlmon_elk.profile.records import WindowCounter
from mlmon_elk.profile.window import ModelWindow
from mlmon_elk.retry import Retry
from mlmon_elk.sources import files
from mlmon_elk.sources.elasticsearch import (
    Searches,
    TooManyBuckets,
    cluster_answered,
    searches_segments_concurrently,
)
from mlmon_elk.sources.files import DEFAULT_CHUNK_ROWS, MTIME_SLACK_SECONDS, ROTATION_RETRIES
from mlmon_elk.windows import Window

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

logger = logging.getLogger(__name__)

PLAN_BATCH = 256
"""Planned windows counted in one pass over the files (bounds the counts held)."""


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One model's window as counted by a source."""

    window: ModelWindow
    notes: tuple[str, ...] = ()
    """Limits hit while counting, for the run summary."""
    requests: int = 1
    """Requests made (searches and retries, or files read)."""


@dataclass(frozen=True, slots=True)
class ModelFetch:
    """One model's fetch as a run makes it, every window: its baselines, the preceding
    windows counted for ``volume``, the latency percentiles."""

    model: ModelBaselines
    history: int = 0
    percents: tuple[float, ...] = DEFAULT_PERCENTS


class Source(Protocol):
    """Anything that can count one model's window of predictions."""

    def expect(self, fetches: Sequence[ModelFetch]) -> None:
        """Hear which models each window will be fetched for (a run's models).

        A source that can count several models in one pass over its data (the
        file source, for a file the models share) does so; one whose cost is per
        request anyway ignores it.
        """
        ...  # pragma: no cover - protocol

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
        percents: Sequence[float] = DEFAULT_PERCENTS,
    ) -> FetchResult:
        """Count ``model``'s predictions in ``window`` (and ``history`` preceding windows),
        with the latency ``percents``.

        Raises:
            SourceError: the predictions cannot be read.
        """
        ...  # pragma: no cover - protocol


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
        self._searches = Searches(client, retry=self.retry, sleep=sleep)
        self._concurrent: bool | None = None

    def plan(self, windows: Sequence[Window]) -> None:
        """Nothing to prepare: every window is one aggregation request whatever comes next."""

    def expect(self, fetches: Sequence[ModelFetch]) -> None:
        """Nothing to prepare: every model's window is its own aggregation request."""

    def _segments_concurrently(self) -> bool:
        """Whether the engine searches a shard's segments side by side (read once).

        Then one search of a sample uses every core by itself, and a second search
        would only score every prediction of the window again: a sampled version's
        features go in one search instead of ``sample_searches`` (OpenSearch 2.19,
        1,000,000 predictions: 0.43 s against 0.51 s in two).
        """
        from elastic_transport import TransportError
        from elasticsearch import ApiError

        try:
            concurrent = searches_segments_concurrently(self.client, self.index)
        except (ApiError, TransportError) as exc:
            logger.info(
                "cannot read the search settings of %s (%s): sampled features in %d searches",
                self.index,
                describe_error(exc),
                self.options.sample_searches,
            )
            return False
        if concurrent:
            logger.info("%s: segments searched concurrently; one search per sample", self.index)
        return concurrent

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
        what = f"counting {model.model} in {window}"
        requests = 0
        options = replace(self.options, history=history, percents=tuple(percents))
        counts = None
        if options.sample_rows:
            # A cheap first search says whether a version is large enough to sample.
            response, tries = self._searches.search(
                self.index, count_body(model, window, options), what
            )
            requests += tries
            counts = parse_counts(response)
            if any(n > options.sample_rows for n in counts.values()):
                if self._concurrent is None:
                    self._concurrent = self._segments_concurrently()
                    requests += 2
                if self._concurrent:
                    options = replace(options, sample_searches=1)
        plan = build_plan(model, window, self.index, options, counts)
        replanned: tuple[str, ...] = ()
        # A cluster with a lower search.max_buckets than configured says so in
        # its error; re-plan with its limit instead of failing the run.
        for _ in range(3):
            try:
                responses, tries = self._searches.search_all(plan.index, plan.bodies, what)
            except TooManyBuckets as exc:
                requests += 1
                current = plan.options.max_buckets
                smaller = exc.limit if 0 < exc.limit < current else current // 2
                logger.warning(
                    "%s: the cluster allows fewer buckets; splitting under %d", what, smaller
                )
                plan = build_plan(
                    model,
                    window,
                    self.index,
                    replace(plan.options, max_buckets=max(smaller, 1)),
                    counts,
                )
                continue
            except SourceError as exc:
                # HDR records neither a negative latency nor a span beyond ~10^15; a
                # window holding one is counted again with TDigest, which records any.
                if not plan.options.hdr_percentiles or not cluster_answered(exc):
                    raise
                requests += 1
                logger.warning("%s: %s; counting the latency percentiles with TDigest", what, exc)
                replanned = (
                    f"{model.model}: latency percentiles by TDigest (the cluster refused HDR:"
                    " a negative latency, or a span beyond 10^15?)",
                )
                plan = build_plan(
                    model, window, self.index, replace(plan.options, hdr_percentiles=False), counts
                )
                continue
            requests += tries
            parsed = parse_responses(plan, responses)
            notes = (*parsed.notes, *replanned)
            if len(plan.bodies) > 1 and not plan.sampled:
                notes = (*notes, f"{model.model}: split into {len(plan.bodies)} searches")
            return FetchResult(parsed.window, notes, requests)
        msg = f"{what}: the cluster keeps refusing the number of buckets; lower max_buckets"
        raise SourceError(msg)


class FileSource:
    """Counts windows of predictions from JSON-lines files (plain or gzipped).

    Args:
        paths: files or glob patterns, e.g. ``["logs/predictions.jsonl*"]``.
        chunk_rows: lines parsed and counted at a time (bounds memory).
        examples: unseen values / OOV tokens kept as examples per feature.
        new_features: input names beyond the baseline's that are counted.
    """

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        examples: int = EXAMPLES,
        new_features: int = 100,
    ) -> None:
        if not paths:
            msg = "files.predictions: at least one path or glob is needed"
            raise DataError(msg)
        self.paths = list(paths)
        self.chunk_rows = chunk_rows
        self.examples = examples
        self.new_features = new_features
        self._planned: list[Window] = []
        self._expected: tuple[ModelFetch, ...] = ()
        self._ready: dict[_FetchKey, tuple[ModelBaselines, FetchResult]] = {}

    def plan(self, windows: Sequence[Window]) -> None:
        """Say which windows will be fetched next (a backfill), so the files are read once.

        The first :meth:`fetch` of a planned window counts it together with the
        planned windows after it (up to :data:`PLAN_BATCH` at a time) in one pass
        over the files, and keeps their profiles for their own fetches.
        """
        self._planned = sorted(set(windows), key=lambda w: (w.start, w.end))
        self._ready.clear()

    def expect(self, fetches: Sequence[ModelFetch]) -> None:
        """Say which models each window will be fetched for, so models sharing files are
        counted in one pass.

        A :meth:`fetch` then counts the other expected models' windows too, in the
        same pass over the files, and keeps them for their own fetches: each file
        is read (and gunzipped, and its lines split) once per window, not once per
        model.
        """
        self._expected = tuple(fetches)

    def fetch(
        self,
        model: ModelBaselines,
        window: Window,
        *,
        history: int = 0,
        percents: Sequence[float] = DEFAULT_PERCENTS,
    ) -> FetchResult:
        """Count ``model``'s predictions in ``window`` (and ``history`` earlier windows).

        Files last written before the earliest window needed are skipped: they
        cannot hold documents of it.

        Raises:
            SourceError: a file cannot be read.
        """
        key = _FetchKey(model.model, window, history, tuple(percents))
        ready = self._ready.pop(key, None)
        if ready is not None and same_baselines(ready[0], model):
            return ready[1]
        fetches = [
            ModelFetch(model, history, tuple(percents)),
            *(f for f in self._expected if f.model.model != model.model),
        ]
        windows = planned_from(self._planned, window, max(PLAN_BATCH // len(fetches), 1))
        # What is kept for earlier windows is never asked for: runs go forward in time.
        self._ready = {k: v for k, v in self._ready.items() if k.window.start >= window.start}
        pairs = [(w, f) for w in windows for f in fetches]
        counters = [
            WindowCounter(
                f.model,
                w,
                history=f.history,
                percents=f.percents,
                examples=self.examples,
                new_features=self.new_features,
            )
            for w, f in pairs
        ]
        results, requests = self._count(counters)
        for (w, f), result in zip(pairs[1:], results[1:], strict=True):
            later_key = _FetchKey(f.model.model, w, f.history, f.percents)
            self._ready[later_key] = (f.model, FetchResult(result, requests=0))
        notes = () if requests else (f"no prediction files match {self.paths} for {window}",)
        return FetchResult(results[0], notes, requests=requests)

    def _count(self, counters: list[WindowCounter]) -> tuple[list[ModelWindow], int]:
        """Every counter's window from one pass over the files; the files read."""
        earliest = min(c.earliest for c in counters).timestamp() - MTIME_SLACK_SECONDS
        models = {c.model.model: c.model for c in counters}
        schemas = {name: line_schema(model) for name, model in models.items()}
        _say_reader(native=isinstance(schemas[counters[0].model.model], NativeSchema))
        for _ in range(ROTATION_RETRIES):
            inodes = files.listed_since(self.paths, earliest)
            paths = list(inodes)
            # Lines of no counter's period, or of none of their models, are passed over unparsed.
            skip = files.either(
                files.stamped_outside(
                    min(c.earliest for c in counters), max(c.window.end for c in counters)
                ),
                files.of_other_models(models),
            )
            by_model = {name: [c for c in counters if c.model.model == name] for name in models}
            bad: dict[Path, int] = {}
            try:
                with files.gc_paused():
                    lines = files.read_lines(
                        paths, chunk_rows=self.chunk_rows, inodes=inodes, skip=skip
                    )
                    with contextlib.closing(_decoded(schemas, lines)) as chunks:
                        for path, name, decoded in chunks:
                            bad[path] = bad.get(path, 0) + decoded.bad
                            for counter in by_model[name]:
                                counter.add_selected(decoded.typed)
                                counter.add_selected(decoded.whole)
                            del decoded  # before the next chunk's is made
            except files.Vanished:
                # Rotated or compressed while being read: count again from a fresh list.
                counters = [c.fresh() for c in counters]
                continue
            for path, n in bad.items():
                if n:
                    logger.warning("%s: skipped %d lines that are not JSON objects", path, n)
            return [c.result() for c in counters], len(paths)
        msg = f"prediction files kept changing while being read ({self.paths})"
        raise SourceError(msg)


Schema = NativeSchema | LineSchema


def _decoded(
    schemas: Mapping[str, Schema], lines: Iterator[tuple[Path, list[bytes]]]
) -> Generator[tuple[Path, str, Decoded]]:
    """Each chunk of ``lines`` decoded for each model of ``schemas``, in order, with the
    model's name.

    With the native reader the chunks are read (and gunzipped) on one thread and
    decoded on others, mostly without the GIL, while the caller counts the last
    chunk: a window's reading, decoding and counting overlap on every core, and a
    few chunks are alive at a time, however long the files. Closing this generator
    stops the threads. The Python reader holds the GIL while it decodes: reading
    ahead of it measured no faster and cost a tenth more CPU, so it reads in turn.
    """
    split = files.split_by_model(list(schemas))
    if not any(isinstance(schema, NativeSchema) for schema in schemas.values()):
        for path, chunk in lines:
            for name, own in split(chunk):
                yield path, name, schemas[name].decode(own)
        return
    chunks = background.ahead(lines, name="mlmon-elk-read")

    def decode_each() -> Iterator[tuple[Path, str, Decoded]]:
        for path, chunk in chunks:
            parts = split(chunk)
            del chunk  # the lines are freed while their columns wait to be counted
            for name, own in parts:
                yield path, name, schemas[name].decode(own)

    try:
        yield from background.ahead(decode_each(), name="mlmon-elk-decode")
    finally:
        chunks.close()


def planned_from(planned: Sequence[Window], window: Window, most: int) -> list[Window]:
    """``window`` and the ``planned`` windows after it, ``most`` in all: what one pass over
    the files counts (``window`` alone when it is not planned)."""
    if window not in planned:
        return [window]
    start = planned.index(window)
    return list(planned[start : start + most])


def same_baselines(a: ModelBaselines, b: ModelBaselines) -> bool:
    """Whether counts made with ``a``'s baselines hold for ``b`` (the same baseline objects)."""
    return (
        a.default_version == b.default_version
        and a.by_version.keys() == b.by_version.keys()
        and all(a.by_version[v] is b.by_version[v] for v in a.by_version)
    )


@dataclass(frozen=True, slots=True)
class _FetchKey:
    model: str
    window: Window
    history: int
    percents: tuple[float, ...]


@functools.cache
def _say_reader(*, native: bool) -> None:
    """Say once per process when the Python JSON-lines reader counts the files (the native
    one reads about twice as fast; docs/analyzer.md says how to install it)."""
    if not native:
        logger.info(
            "reading prediction files with the Python reader: the native reader "
            "(mlmon-elk-native) is not installed or is turned off"
        )
