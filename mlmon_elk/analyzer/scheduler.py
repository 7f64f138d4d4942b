"""``mlmon-elk serve``: the analyzer on a schedule (APScheduler, one process).

Only :func:`serve` creates a scheduler — importing this module starts
nothing. One interval job keeps a backlog of windows to analyse: at each
tick every window that became due since the last one joins it — after a
restart, every window since the last one a run analysed successfully (read
back from the run summaries), at most ``catch_up`` back — and the backlog is
worked off oldest first. A window leaves the backlog when a run of it
succeeds. The first failure ends the catch-up of a tick (a cluster that is
down fails every window the same way), but the latest window is always tried,
so the newest data is never held back by an old gap.

The job coalesces missed ticks, never runs twice at once
(``max_instances=1``) and may start late by up to the configured misfire
grace time; windows of the ticks it skipped are caught up at the next one.
A failing run is recorded in its run summary and never stops the service;
SIGTERM or SIGINT lets the run in progress finish, then exits cleanly.

After the due windows, each tick looks for past windows — back to
``reevaluate_within`` — whose outcomes arrived after they were analysed
(:meth:`Analyzer.changed`: one aggregation per model on the engine, the files
modified since the last look in file mode) and evaluates ``performance`` alone
again for at most ``reevaluate_per_tick`` of them, oldest first; the others wait
for the next ticks. A re-evaluation without new outcomes writes nothing.

Run one ``serve`` process per configuration: two would analyse every window
twice (harmlessly — the deterministic ids make the second write nothing —
but wastefully).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING

from mlmon_elk.windows import Window, ceil_time, floor_time, format_time, utc_now

if TYPE_CHECKING:
    from mlmon_elk.analyzer.config import Config
    from mlmon_elk.analyzer.run import Analyzer, RunOutcome

logger = logging.getLogger(__name__)

JOB_ID = "mlmon-elk:analyze"


class Service:
    """What each tick does: queue the windows that became due, then analyse the backlog.

    Args:
        analyzer: runs one window.
        clock: the current time (tests pass their own).
        catch_up: how far back missed windows are still analysed (default:
            the configuration's ``schedule.catch_up``).
    """

    def __init__(
        self,
        analyzer: Analyzer,
        *,
        clock: Callable[[], datetime] = utc_now,
        catch_up: timedelta | None = None,
    ) -> None:
        self.analyzer = analyzer
        self.clock = clock
        self.catch_up = analyzer.config.catch_up if catch_up is None else catch_up
        self.backlog: list[Window] = []
        """Windows due and not yet analysed successfully, oldest first."""
        self.queued_until: datetime | None = None
        """End of the newest window ever queued."""
        self.resumed = False
        """Whether the last successfully analysed window was read back from the sink."""
        self.late: set[Window] = set()
        """Past windows with outcomes they were not evaluated with, not yet re-evaluated."""
        self.outcomes_seen: datetime | None = None
        """When the last look for late outcomes started (at start: the resume point)."""
        self.running = threading.Lock()
        self.stopping = threading.Event()
        """Set on SIGTERM/SIGINT: the run in progress finishes, the backlog waits."""

    def tick(self) -> list[RunOutcome]:
        """Analyse what is due now; never raises."""
        with self.running:
            now = self.clock()
            latest = self.analyzer.config.schedule.latest(now)
            after = self._queue_after()
            if self.outcomes_seen is None:
                # Outcomes logged since the last window the previous process analysed.
                self.outcomes_seen = after or now
            self._queue(after, latest, horizon=now - self.catch_up)
            outcomes = self._work_off(latest)
            if not self.stopping.is_set():
                outcomes += self._reevaluate(now, latest)
            return outcomes

    def _reevaluate(self, now: datetime, latest: Window) -> list[RunOutcome]:
        """Re-evaluate ``performance`` of past windows whose outcomes arrived late."""
        config = self.analyzer.config
        within = config.reevaluate_within
        if within <= timedelta(0) or self.analyzer.outcomes is None:
            return []
        schedule = config.schedule
        waiting = {w.end for w in self.backlog}  # analysed in full when their turn comes
        end = ceil_time(latest.end - within, schedule.interval)
        windows: list[Window] = []
        while end <= latest.end:
            if end not in waiting:
                windows.append(schedule.window_ending(end))
            end += schedule.interval
        try:
            found, _ = self.analyzer.changed(windows, since=self.outcomes_seen or now)
        except Exception as exc:  # e.g. the cluster went down: look again next tick
            logger.warning("cannot look for late outcomes (%s); looking again next tick", exc)
            return []
        self.outcomes_seen = now
        horizon = windows[0].end if windows else latest.end
        self.late = {w for w in self.late | set(found) if w.end >= horizon and w.end not in waiting}
        if not self.late:
            return []
        todo = sorted(self.late, key=lambda w: w.end)
        cap = config.reevaluate_per_tick
        logger.info(
            "%d past windows have outcomes that arrived after they were analysed;"
            " re-evaluating performance of %d%s",
            len(todo),
            min(cap, len(todo)),
            f" (reevaluate_per_tick), the other {len(todo) - cap} at the next ticks"
            if len(todo) > cap
            else "",
        )
        outcomes: list[RunOutcome] = []
        for window in todo[:cap]:
            if self.stopping.is_set():
                break
            try:
                outcome = self.analyzer.reevaluate(window)
            except Exception:  # the service outlives any bug in one run
                logger.exception("re-evaluating %s failed unexpectedly", window)
                break
            outcomes.append(outcome)
            if not outcome.summary.ok:
                break  # the rest waits for the next tick
            self.late.discard(window)
        return outcomes

    def _queue_after(self) -> datetime | None:
        """Windows ending after this are queued: at start, after the last successful run's."""
        if self.resumed:
            return self.queued_until
        try:
            # Unbounded: a gap older than catch_up is still worth a warning.
            last = self.analyzer.sink.last_success(self.analyzer.config.model_names)
        except Exception as exc:  # e.g. the cluster is not up yet: look again next tick
            logger.warning(
                "cannot read which window was analysed last (%s); analysing the latest window"
                " and looking again at the next tick",
                exc,
            )
            return self.queued_until
        self.resumed = True
        if last is None:
            return self.queued_until
        logger.info("resuming after the window ending %s", format_time(last))
        return last

    def _queue(self, after: datetime | None, latest: Window, *, horizon: datetime) -> None:
        schedule = self.analyzer.config.schedule
        step = schedule.interval
        # Ends of the windows to queue: after `after`, none before the horizon
        # (but the latest is always due, even with catch_up 0).
        first = latest.end if after is None else floor_time(after, step) + step
        oldest = min(ceil_time(horizon, step), latest.end)
        if first < oldest:
            logger.warning(
                "%d windows ending from %s to %s are older than catch_up and are not analysed;"
                " backfill them with: mlmon-elk analyze --from %s --to %s",
                (oldest - first) // step,
                format_time(first),
                format_time(oldest - step),
                format_time(first - schedule.window),
                format_time(oldest - step),
            )
            first = oldest
        queued = {w.end for w in self.backlog}
        end = first
        while end <= latest.end:
            if end not in queued:
                self.backlog.append(schedule.window_ending(end))
            end += step
        self.backlog.sort(key=lambda w: w.end)
        expired = [w for w in self.backlog if w.end < oldest]
        if expired:
            logger.warning(
                "giving up on %d failed windows older than catch_up, the oldest %s",
                len(expired),
                expired[0],
            )
            self.backlog = self.backlog[len(expired) :]
        if self.queued_until is None or latest.end > self.queued_until:
            self.queued_until = latest.end

    def _work_off(self, latest: Window) -> list[RunOutcome]:
        outcomes: list[RunOutcome] = []
        older = [w for w in self.backlog if w != latest]
        if older:  # a catch-up: let the source count the windows in one pass
            self.analyzer.plan([*older, *([latest] if latest in self.backlog else [])])
        for window in older:
            if self.stopping.is_set():
                return outcomes
            outcome = self._run(window)
            if outcome is not None:
                outcomes.append(outcome)
            if outcome is None or not outcome.summary.ok:
                break  # the rest waits for the next tick
        if latest in self.backlog and not self.stopping.is_set():
            outcome = self._run(latest)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _run(self, window: Window) -> RunOutcome | None:
        try:
            outcome = self.analyzer.run(window)
        except Exception:  # the service outlives any bug in one run
            logger.exception("analysing %s failed unexpectedly; retrying at the next tick", window)
            return None
        if outcome.summary.ok:
            self.backlog.remove(window)
        return outcome


def _tick(service: Service) -> None:
    # A module-level job target, as APScheduler recommends.
    service.tick()


def serve(config: Config, *, analyzer: Analyzer | None = None) -> int:
    """Run the analyzer on ``config``'s schedule until SIGTERM or SIGINT.

    Returns:
        0 after a clean stop.
    """
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    from mlmon_elk.analyzer.config import describe
    from mlmon_elk.analyzer.run import Analyzer

    service = Service(analyzer or Analyzer.from_config(config))
    schedule = config.schedule
    scheduler = BlockingScheduler(timezone=UTC)
    now = utc_now()
    scheduler.add_job(
        _tick,
        IntervalTrigger(
            seconds=schedule.interval.total_seconds(),
            start_date=schedule.next_run(now),
            timezone=UTC,
        ),
        args=(service,),
        id=JOB_ID,
        name="analyze the latest window",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=max(1, round(config.misfire_grace.total_seconds())),
        next_run_time=now,  # analyse the latest window right away, then on schedule
    )

    def on_event(event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            logger.warning("a scheduled run was missed (the previous one ran too long?)")

    scheduler.add_listener(on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED)

    def stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("received %s; stopping after the run in progress", signal.Signals(signum).name)
        service.stopping.set()  # a catch-up backlog is left for the next start
        if scheduler.running:
            scheduler.shutdown(wait=False)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    logger.info("serving: %s", describe(config))
    try:
        scheduler.start()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    with service.running:  # let a run in progress finish
        pass
    logger.info("stopped")
    return 0
