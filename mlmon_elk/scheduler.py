"""``mlmon-elk serve``: the analyzer on a schedule (APScheduler, one process).

Only :func:`serve` creates a scheduler — importing this module starts
nothing. One interval job analyses, at each tick, the latest window whose
settle delay has passed, plus any window whose run failed before (kept and
retried at every tick until it succeeds). The job coalesces missed ticks,
never runs twice at once (``max_instances=1``) and may start late by up to
the configured misfire grace time. A failing run is recorded in its run
summary and never stops the service; SIGTERM or SIGINT lets the run in
progress finish, then exits cleanly.

Run one ``serve`` process per configuration: two would analyse every window
twice (harmlessly — the deterministic ids make the second write nothing —
but wastefully).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING

from mlmon_elk.windows import Window, utc_now

if TYPE_CHECKING:
    from mlmon_elk.analyzer import Analyzer, RunOutcome
    from mlmon_elk.config import Config

logger = logging.getLogger(__name__)

JOB_ID = "mlmon-elk:analyze"

MAX_RETRY_WINDOWS = 288
"""Failed windows kept for retry (a day of 5-minute windows); older ones are dropped."""


class Service:
    """What each tick does: the latest window, plus earlier windows that failed."""

    def __init__(self, analyzer: Analyzer, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.analyzer = analyzer
        self.clock = clock
        self.failed: list[Window] = []
        """Windows whose last run failed, oldest first; retried at every tick."""
        self.done: Window | None = None
        """The latest window analysed successfully."""
        self.running = threading.Lock()

    def tick(self) -> list[RunOutcome]:
        """Analyse what is due now; never raises."""
        with self.running:
            latest = self.analyzer.config.schedule.latest(self.clock())
            due = [w for w in self.failed if w != latest]
            if latest != self.done:
                due.append(latest)
            outcomes = []
            for window in due:
                outcome = self._run(window)
                if outcome is not None:
                    outcomes.append(outcome)
            return outcomes

    def _run(self, window: Window) -> RunOutcome | None:
        try:
            outcome = self.analyzer.run(window)
        except Exception:  # the service outlives any bug in one run
            logger.exception("analysing %s failed unexpectedly; retrying at the next tick", window)
            self._failed(window)
            return None
        if outcome.summary.ok:
            if window in self.failed:
                self.failed.remove(window)
            if self.done is None or window.end > self.done.end:
                self.done = window
        else:
            self._failed(window)
        return outcome

    def _failed(self, window: Window) -> None:
        if window not in self.failed:
            self.failed.append(window)
            self.failed.sort(key=lambda w: w.end)
        if len(self.failed) > MAX_RETRY_WINDOWS:
            dropped = self.failed[: -MAX_RETRY_WINDOWS or None]
            self.failed = self.failed[-MAX_RETRY_WINDOWS:]
            logger.warning("giving up on %d failed windows, oldest %s", len(dropped), dropped[0])


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

    from mlmon_elk.analyzer import Analyzer
    from mlmon_elk.config import describe

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
