"""One analyzer run: source → checks → alerts → sink, failures recorded, never raised.

:class:`Analyzer` analyses one window at a time for every configured model:
it counts each model's window (Elasticsearch aggregations or JSON-lines
files), runs every check of the run at once (so the multiple-testing
correction covers the whole run), turns check results into alert transitions
against the alerts open before the window, writes everything with
deterministic ids, and ends with a run summary. A failure — Elasticsearch
down, a baseline file missing — is recorded in the summary and the rest of
the run carries on; :meth:`Analyzer.run` itself does not raise for it, so the
scheduler's next tick simply tries again.

A run summary that cannot be written (the sink is down too) is kept and
written with the next run's: in memory, and — when ``unsent_runs`` names a
file — in that file too, so a one-shot ``analyze`` that found the cluster down
leaves its failed run for the next process to write.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mlmon_elk.analyzer.config import Config, ModelConfig
from mlmon_elk.analyzer.fetch import FetchResult, ModelFetch, Source
from mlmon_elk.checks.job import ModelJob
from mlmon_elk.checks.result import WindowResult
from mlmon_elk.contract import Check
from mlmon_elk.errors import BaselineError, MlmonError
from mlmon_elk.profile.baseline import Baseline, ModelBaselines, load_baseline
from mlmon_elk.profile.engine_plan import PlanOptions
from mlmon_elk.profile.performance import PerformanceWindow
from mlmon_elk.profile.window import ModelWindow
from mlmon_elk.results.alerts import AlertEvent, AlertKey, OpenAlert, transitions
from mlmon_elk.results.documents import Document, alert_document, check_document, run_document
from mlmon_elk.results.run_summary import RunSummary
from mlmon_elk.sinks import Sink, WriteReport
from mlmon_elk.windows import Window, utc_now

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from mlmon_elk.analyzer.fetch_outcomes import OutcomeSource

logger = logging.getLogger(__name__)

MAX_PENDING_SUMMARIES = 1000
"""Run summaries kept while the sink is unreachable; older ones are dropped (logged)."""


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """Everything one run produced."""

    summary: RunSummary
    results: tuple[WindowResult, ...] = ()
    alerts: tuple[AlertEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class _AlertState:
    """Open alerts as of the end of the last window this analyzer wrote."""

    as_of: datetime
    open: Mapping[AlertKey, OpenAlert]


class Analyzer:
    """Analyses windows for every model of ``config``.

    Args:
        config: the analyzer configuration.
        source: where predictions are counted (``ElasticsearchSource`` or ``FileSource``).
        sink: where results go (``ElasticsearchSink`` or ``FileSink``).
        clock: the current time (tests pass a fixed one).
        outcomes: where outcomes and scores are counted for the performance
            checks (``None``: no performance checks).
    """

    def __init__(
        self,
        config: Config,
        source: Source,
        sink: Sink,
        *,
        clock: Callable[[], datetime] = utc_now,
        unsent_runs: Path | None = None,
        outcomes: OutcomeSource | None = None,
    ) -> None:
        self.config = config
        self.outcomes = outcomes
        self.source = source
        self.sink = sink
        self.clock = clock
        self.unsent_runs = unsent_runs
        """File that keeps unwritten run summaries across processes (``None``: memory only)."""
        self.unsent_error: str | None = None
        """Why the last attempt to keep them in ``unsent_runs`` failed, if it did."""
        self.pending: list[Document] = self._load_unsent()
        """Run summaries waiting for the sink to come back."""
        self._state: _AlertState | None = None
        self._baselines: dict[Path, tuple[float, Baseline]] = {}

    @classmethod
    def from_config(cls, config: Config, *, client: Elasticsearch | None = None) -> Analyzer:
        """The analyzer ``config`` describes, with its source and sink.

        Args:
            config: the configuration.
            client: an Elasticsearch client to use instead of connecting with
                ``config.elasticsearch`` (tests, or an application's own client).
        """
        if config.elasticsearch is not None:
            from mlmon_elk.engine.client import connect
            from mlmon_elk.sinks.elasticsearch import ElasticsearchSink

            es = config.elasticsearch
            client = client or connect(es.connection)
            options = PlanOptions(
                max_buckets=es.max_buckets,
                max_versions=es.max_versions,
                sample_rows=es.sample_rows,
                examples=config.analysis.examples,
                new_features=config.analysis.new_features,
            )
            from mlmon_elk.analyzer.fetch import ElasticsearchSource

            source: Source = ElasticsearchSource(
                client, config.namespace, options=options, retry=es.retry
            )
            from mlmon_elk.analyzer.fetch_outcomes import ElasticsearchOutcomes

            outcomes = ElasticsearchOutcomes(
                client, config.namespace, max_versions=es.max_versions, retry=es.retry
            )
            sink = ElasticsearchSink(client, config.namespace, retry=es.retry)
            return cls(config, source, sink, unsent_runs=es.unsent_runs, outcomes=outcomes)
        from mlmon_elk.analyzer.fetch import FileSource
        from mlmon_elk.sinks.files import FileSink

        files = config.files
        if files is None:  # pragma: no cover - config_from_dict guarantees one
            msg = "config has neither elasticsearch nor files"
            raise MlmonError(msg)
        source = FileSource(
            files.predictions,
            chunk_rows=files.chunk_rows,
            examples=config.analysis.examples,
            new_features=config.analysis.new_features,
        )
        from mlmon_elk.analyzer.fetch_outcomes import FileOutcomes

        outcomes_source = FileOutcomes(files.predictions, chunk_rows=files.chunk_rows)
        return cls(config, source, FileSink(files.output), outcomes=outcomes_source)

    # ------------------------------------------------------------------ a run

    def plan(self, windows: Sequence[Window]) -> None:
        """Say which windows :meth:`run` will be given next (a backfill), oldest first.

        A source that counts many windows in one pass over its data (the file
        source) then reads its files once for all of them, not once per window.
        """
        self.source.plan(windows)
        if self.outcomes is not None:
            self.outcomes.plan(windows)

    def run(self, window: Window) -> RunOutcome:
        """Analyse ``window`` for every model; failures end up in the summary."""
        started = self.clock()
        errors: list[str] = []
        notes: list[str] = []
        requests = 0
        jobs: list[ModelJob] = []
        expected = self._expected_fetches()
        self.source.expect(list(expected.values()))
        for model in self.config.models:
            try:
                job, fetched = self._job(model, window, expected.get(model.name))
            except MlmonError as exc:
                errors.append(f"{model.name}: {exc}")
                logger.error("window %s, model %s: %s", window, model.name, exc)
                continue
            except Exception as exc:  # a bug must not cost the other models their run
                errors.append(f"{model.name}: {type(exc).__name__}: {exc}")
                logger.exception("window %s, model %s failed unexpectedly", window, model.name)
                continue
            jobs.append(job)
            notes.extend(fetched.notes)
            requests += fetched.requests

        results: list[WindowResult] = []
        if jobs:
            try:
                from mlmon_elk.checks import check_run

                results = check_run(jobs)
            except Exception as exc:  # a bug in a check must not stop the service
                logger.exception("window %s: the checks failed", window)
                errors.append(f"checks: {type(exc).__name__}: {exc}")

        events: list[AlertEvent] = []
        report = WriteReport()
        if results:
            try:
                open_alerts = self._open_alerts(window)
                events, report = self._write(results, open_alerts)
                self._advance(window, open_alerts, events, complete=not errors)
            except MlmonError as exc:
                self._state = None
                errors.append(f"writing results: {exc}")
                logger.error("window %s: writing results failed: %s", window, exc)
            except Exception as exc:  # recorded in the summary like any failure
                self._state = None
                errors.append(f"writing results: {type(exc).__name__}: {exc}")
                logger.exception("window %s: writing results failed unexpectedly", window)
        elif not errors:
            self._state = None

        summary = RunSummary(
            window=window,
            started=started,
            finished=self.clock(),
            models=self.config.model_names,
            statuses=Counter(r.status for w in results for r in w.results),
            alerts=Counter(e.transition for e in events),
            errors=tuple(errors),
            notes=tuple(notes),
            requests=requests,
            written=report.written,
            existing=report.existing,
        )
        self._write_summary(summary)
        return RunOutcome(summary, tuple(results), tuple(events))

    # ------------------------------------------------------- late outcomes

    def changed(self, windows: Sequence[Window], *, since: datetime) -> tuple[list[Window], int]:
        """Which past ``windows`` have outcomes their ``performance`` results were not
        evaluated with (any model), oldest first, and the requests made.

        Raises:
            MlmonError: the outcomes, baselines or recorded counts cannot be read.
        """
        if self.outcomes is None or not windows:
            return [], 0
        found: set[Window] = set()
        requests = 0
        first, last = min(w.end for w in windows), max(w.end for w in windows)
        for model in self.config.models:
            if Check.PERFORMANCE in model.settings.disabled:
                continue  # re-evaluating would write nothing, and find the window again
            baselines = self.model_baselines(model)
            if not any(b.performance for b in baselines.by_version.values()):
                continue
            name = model.name

            def recorded(name: str = name) -> dict[tuple[str, datetime], int]:
                return self.sink.labelled_counts(
                    name, since=first, before=last + self.config.schedule.interval
                )

            windows_of, tries = self.outcomes.changed(
                baselines, windows, since=since, recorded=recorded
            )
            found |= windows_of
            requests += tries
        return sorted(found, key=lambda w: w.end), requests

    def reevaluate(self, window: Window) -> RunOutcome:
        """Evaluate ``performance`` alone again for a past ``window`` (outcomes arrived
        late) and write its results and alert transitions; never raises.

        A result with the labelled count of one already written is not written
        again, so a re-evaluation without new outcomes writes nothing. Its run
        summary is logged, not written (the window's run summary stays the first run's).
        """
        from mlmon_elk.checks.run import performance_run

        started = self.clock()
        errors: list[str] = []
        requests = 0
        jobs: list[ModelJob] = []
        for model in self.config.models:
            try:
                baselines = self.model_baselines(model)
                if self.outcomes is None or not any(
                    b.performance for b in baselines.by_version.values()
                ):
                    continue
                performance, tries = self.outcomes.fetch(baselines, window, None)
            except MlmonError as exc:
                errors.append(f"{model.name}: {exc}")
                logger.error("re-evaluating %s, model %s: %s", window, model.name, exc)
                continue
            requests += tries
            compared = {v: baselines.for_version(v) for v in performance}
            empty = ModelWindow(model.name, window.start, window.end, {})
            jobs.append(ModelJob(empty, compared, model.settings, performance))
        events: list[AlertEvent] = []
        results: list[WindowResult] = []
        report = WriteReport()
        try:
            results = performance_run(jobs)
            if results:
                open_alerts = self.sink.open_alerts(
                    self.config.model_names,
                    before=window.end,
                    since=window.end - self.config.analysis.alert_lookback,
                )
                events, report = self._write(results, open_alerts)
                self._state = None  # later windows' alert state may have changed
        except Exception as exc:  # recorded in the summary like any failure
            errors.append(f"re-evaluating performance: {type(exc).__name__}: {exc}")
            logger.exception("re-evaluating %s failed", window)
        summary = RunSummary(
            window=window,
            started=started,
            finished=self.clock(),
            models=self.config.model_names,
            statuses=Counter(r.status for w in results for r in w.results),
            alerts=Counter(e.transition for e in events),
            errors=tuple(errors),
            notes=("performance re-evaluated: outcomes arrived after the window was analysed",),
            requests=requests,
            written=report.written,
            existing=report.existing,
        )
        (logger.info if summary.ok else logger.warning)("re-evaluated %s", summary.line())
        return RunOutcome(summary, tuple(results), tuple(events))

    def _model_fetch(self, model: ModelConfig) -> ModelFetch:
        percents = sorted({*self.config.analysis.percentiles, *model.settings.latency_sla_ms})
        return ModelFetch(
            self.model_baselines(model), self.config.analysis.history, tuple(percents)
        )

    def _expected_fetches(self) -> dict[str, ModelFetch]:
        """Model → the fetch it will make (a source may count them all in one pass); a
        model whose baselines cannot be read is left out: its own turn reports why."""
        fetches: dict[str, ModelFetch] = {}
        for model in self.config.models:
            with contextlib.suppress(Exception):
                fetches[model.name] = self._model_fetch(model)
        return fetches

    def _job(
        self, model: ModelConfig, window: Window, spec: ModelFetch | None
    ) -> tuple[ModelJob, FetchResult]:
        spec = spec or self._model_fetch(model)  # raises what kept it out of the expected
        baselines, settings = spec.model, model.settings
        fetched = self.source.fetch(baselines, window, history=spec.history, percents=spec.percents)
        configured = dict(baselines.by_version)
        # Versions without their own baseline are compared with the model's
        # default one; "expected" stays the versions that have a baseline.
        compared = {**configured, **{v: baselines.for_version(v) for v in fetched.window.versions}}
        if not settings.expected_versions:
            settings = replace(settings, expected_versions=frozenset(configured))
        performance: dict[str, PerformanceWindow] = {}
        if self.outcomes is not None and any(b.performance for b in configured.values()):
            performance, requests = self.outcomes.fetch(baselines, window, fetched.window)
            fetched = replace(fetched, requests=fetched.requests + requests)
        return ModelJob(fetched.window, compared, settings, performance), fetched

    def model_baselines(self, model: ModelConfig) -> ModelBaselines:
        """``model``'s baselines, read from their files (re-read when a file changes).

        Raises:
            BaselineError: a file is missing or invalid, or describes another model.
        """
        by_version: dict[str, Baseline] = {}
        last: str | None = None
        for version, path in model.baselines:
            baseline = self._load(path)
            if baseline.model != model.name:
                msg = f"{path} is the baseline of model {baseline.model!r}, not {model.name!r}"
                raise BaselineError(msg)
            key = version if version is not None else baseline.version
            by_version[key] = baseline
            last = key
        default = model.default_version or last
        if default is None or default not in by_version:
            msg = f"default_version {default!r} has no baseline (have {sorted(by_version)})"
            raise BaselineError(msg)
        return ModelBaselines(model.name, by_version, default)

    def _load(self, path: Path) -> Baseline:
        try:
            mtime = path.stat().st_mtime
        except OSError as exc:
            msg = f"cannot read baseline {path}: {exc.strerror or exc}"
            raise BaselineError(msg) from exc
        cached = self._baselines.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        baseline = load_baseline(path)
        self._baselines[path] = (mtime, baseline)
        return baseline

    # ------------------------------------------------------------ alert state

    def _write(
        self, results: Sequence[WindowResult], open_alerts: Mapping[AlertKey, OpenAlert]
    ) -> tuple[list[AlertEvent], WriteReport]:
        """The alert transitions of ``results`` against ``open_alerts``, and every result
        and transition written (each result stamped with when it was evaluated)."""
        events = transitions(results, open_alerts, {m.name: m.settings for m in self.config.models})
        evaluated = self.clock()
        documents = [
            check_document(w, r, self.config.namespace, evaluated=evaluated)
            for w in results
            for r in w.results
        ]
        documents += [alert_document(e, self.config.namespace) for e in events]
        return events, self.sink.write(documents)

    def _open_alerts(self, window: Window) -> Mapping[AlertKey, OpenAlert]:
        # Consecutive windows of one process carry the state forward (a sink
        # may not show a write of a second ago); otherwise it is read back.
        previous_end = window.end - self.config.schedule.interval
        if self._state is not None and self._state.as_of == previous_end:
            return self._state.open
        return self.sink.open_alerts(
            self.config.model_names,
            before=window.end,
            since=window.end - self.config.analysis.alert_lookback,
        )

    def _advance(
        self,
        window: Window,
        before: Mapping[AlertKey, OpenAlert],
        events: Sequence[AlertEvent],
        *,
        complete: bool,
    ) -> None:
        if not complete:
            self._state = None
            return
        state = dict(before)
        for event in events:
            if (now := event.open) is None:
                state.pop(event.key, None)
            else:
                state[event.key] = now
        self._state = _AlertState(window.end, state)

    # --------------------------------------------------------- run summaries

    def _load_unsent(self) -> list[Document]:
        from mlmon_elk.sinks.unsent import load_unsent

        if self.unsent_runs is None:
            return []
        try:
            kept = load_unsent(self.unsent_runs)
        except (OSError, ValueError) as exc:
            logger.error("cannot read the unsent run summaries (left as they are): %s", exc)
            self.unsent_runs = None  # never overwrite a file that could not be read
            return []
        if kept:
            logger.info("%d unsent run summaries from %s", len(kept), self.unsent_runs)
        return kept

    def _keep_unsent(self) -> None:
        from mlmon_elk.sinks.unsent import keep_unsent

        if self.unsent_runs is None:
            return
        try:
            keep_unsent(self.unsent_runs, self.pending)
            self.unsent_error = None
        except OSError as exc:
            self.unsent_error = f"{self.unsent_runs}: {exc.strerror or exc}"
            logger.error("cannot keep the unsent run summaries in %s", self.unsent_error)

    def _write_summary(self, summary: RunSummary) -> None:
        document = run_document(summary, self.config.namespace)
        batch = [*self.pending, document]
        try:
            self.sink.write(batch)
        except Exception as exc:  # kept and retried with the next run, whatever went wrong
            self.pending = batch[-MAX_PENDING_SUMMARIES:]
            if len(batch) > MAX_PENDING_SUMMARIES:
                logger.warning("dropped %d unwritten run summaries", len(batch) - len(self.pending))
            logger.error(
                "run summary of %s not written (kept for the next run): %s", summary.window, exc
            )
            self._keep_unsent()
            return
        self.pending = []
        self._keep_unsent()
        log = logger.info if summary.ok else logger.warning
        log("%s", summary.line())
