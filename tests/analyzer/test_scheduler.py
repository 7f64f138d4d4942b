"""``serve``: a real scheduler process that survives failing runs and stops on SIGTERM."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from mlmon_elk.analyzer.config import Config, config_from_dict
from mlmon_elk.analyzer.run import Analyzer, RunOutcome
from mlmon_elk.analyzer.scheduler import Service
from mlmon_elk.windows import Window
from tests import scenario
from tests.factories import write_jsonl


@pytest.fixture(scope="module")
def baseline_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return scenario.build(tmp_path_factory.mktemp("baselines"))[1]


def write_config(directory: Path, baseline: Path, *, interval: str = "1s") -> Path:
    config = {
        "files": {"predictions": ["predictions.jsonl*"], "output": "results"},
        "schedule": {"interval": interval, "window": interval, "delay": "0s"},
        "models": [{"name": scenario.MODEL, "baselines": {scenario.VERSION: str(baseline)}}],
    }
    path = directory / "mlmon.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def runs(directory: Path) -> list[dict[str, object]]:
    path = directory / "results" / "runs.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            msg = "condition not met in time"
            raise AssertionError(msg)
        time.sleep(0.1)


def serve(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "mlmon-elk"), "serve", "--config", str(config)],
        cwd=config.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_serve_runs_on_schedule_and_stops_cleanly_on_sigterm(
    tmp_path: Path, baseline_file: Path
) -> None:
    """Runs every second, writes a run summary each time, exits 0 on SIGTERM."""
    write_jsonl(tmp_path / "predictions.jsonl", [])
    process = serve(write_config(tmp_path, baseline_file))
    try:
        wait_for(lambda: len(runs(tmp_path)) >= 3)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "received SIGTERM; stopping after the run in progress" in stderr
    assert stderr.rstrip().endswith("stopped")
    summaries = runs(tmp_path)
    assert all(s["event"]["outcome"] == "success" for s in summaries)  # type: ignore[index]
    starts = [s["event"]["start"] for s in summaries]  # type: ignore[index]
    assert len(set(starts)) == len(starts)  # one summary per window, none twice


def test_a_restarted_serve_leaves_no_window_unanalysed(tmp_path: Path, baseline_file: Path) -> None:
    """Stopped for three seconds, then started again: the run summaries cover every window,
    those that ended while it was stopped included."""
    write_jsonl(tmp_path / "predictions.jsonl", [])
    config = write_config(tmp_path, baseline_file)

    def analysed_after(moment: datetime) -> bool:
        return any(start >= moment for start in window_starts(tmp_path))

    process = serve(config)
    try:
        wait_for(lambda: len(runs(tmp_path)) >= 2)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    stopped = datetime.now(UTC)
    time.sleep(3)
    restarted = datetime.now(UTC)
    process = serve(config)
    try:
        # Catch-up runs oldest first: a window that began after the restart comes after it.
        wait_for(lambda: analysed_after(restarted) and not gaps(tmp_path))
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "resuming after the window ending" in stderr
    starts = window_starts(tmp_path)
    assert not gaps(tmp_path), starts
    missed = [s for s in starts if stopped <= s < restarted - timedelta(seconds=1)]
    assert len(missed) >= 2, starts  # windows that ended while no service ran


def window_starts(directory: Path) -> list[datetime]:
    """The start of every analysed window, in order."""
    return sorted({datetime.fromisoformat(str(s["event"]["start"])) for s in runs(directory)})  # type: ignore[index]


def gaps(directory: Path) -> list[datetime]:
    """Window starts after which a one-second window has no run summary."""
    starts = window_starts(directory)
    return [a for a, b in itertools.pairwise(starts) if b - a != timedelta(seconds=1)]


def test_failing_runs_are_recorded_and_retried_without_killing_the_service(
    tmp_path: Path, baseline_file: Path
) -> None:
    """A missing baseline fails runs (recorded); once it appears the failed windows succeed."""
    write_jsonl(tmp_path / "predictions.jsonl", [])
    later = tmp_path / "baseline.yaml"
    process = serve(write_config(tmp_path, later))
    try:
        wait_for(lambda: len(runs(tmp_path)) >= 2)
        failed = runs(tmp_path)
        assert all(s["event"]["outcome"] == "failure" for s in failed)  # type: ignore[index]
        assert process.poll() is None
        later.write_bytes(baseline_file.read_bytes())
        first_failed = failed[0]["event"]["start"]  # type: ignore[index]
        wait_for(
            lambda: any(
                s["event"]["outcome"] == "success" and s["event"]["start"] == first_failed  # type: ignore[index]
                for s in runs(tmp_path)
            )
        )
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "cannot read baseline" in stderr


def test_a_tick_retries_failed_windows_before_the_latest(
    tmp_path: Path, baseline_file: Path
) -> None:
    """Service.tick: a failed window stays queued until a run of it succeeds."""
    write_jsonl(tmp_path / "predictions.jsonl", scenario.documents(0))
    later = tmp_path / "baseline.yaml"
    config = config_from_dict(
        {
            "files": {"predictions": ["predictions.jsonl"], "output": "results"},
            "schedule": {"interval": "10m", "window": "10m", "delay": "1m"},
            "models": [{"name": scenario.MODEL, "baselines": {scenario.VERSION: str(later)}}],
        },
        base=tmp_path,
    )
    now = [scenario.window_start(1) + timedelta(minutes=2)]
    service = Service(Analyzer.from_config(config), clock=lambda: now[0])
    first = Window(scenario.window_start(0), scenario.window_start(1))

    assert [o.summary.ok for o in service.tick()] == [False]
    assert service.backlog == [first]
    now[0] += timedelta(minutes=10)
    later.write_bytes(baseline_file.read_bytes())
    outcomes = service.tick()

    assert [(o.summary.window, o.summary.ok) for o in outcomes] == [
        (first, True),
        (Window(scenario.window_start(1), scenario.window_start(2)), True),
    ]
    assert service.backlog == []
    assert outcomes[0].summary.checks > 0
    assert service.tick() == []  # nothing new is due within the same interval


# -- catching up -------------------------------------------------------------------------


def files_config(directory: Path, baseline: Path, **schedule: str) -> Config:
    """Predictions of one window in ``directory``, 10-minute windows, one model."""
    write_jsonl(directory / "predictions.jsonl", scenario.documents(0))
    return config_from_dict(
        {
            "files": {"predictions": ["predictions.jsonl"], "output": "results"},
            "schedule": {"interval": "10m", "window": "10m", "delay": "1m", **schedule},
            "models": [{"name": scenario.MODEL, "baselines": {scenario.VERSION: str(baseline)}}],
        },
        base=directory,
    )


def window(i: int) -> Window:
    """The scenario's window ``i`` (10 minutes)."""
    return Window(scenario.window_start(i), scenario.window_start(i + 1))


def during(i: int) -> datetime:
    """A moment at which window ``i - 1`` is the latest settled one."""
    return scenario.window_start(i) + timedelta(minutes=2)


def service_at(config: Config, now: list[datetime]) -> Service:
    """A service whose clock reads ``now[0]`` (tests move it)."""
    return Service(Analyzer.from_config(config), clock=lambda: now[0])


def analysed(outcomes: list[RunOutcome]) -> list[tuple[Window, bool]]:
    return [(o.summary.window, o.summary.ok) for o in outcomes]


def test_a_restarted_service_catches_up_from_the_last_successful_run(
    tmp_path: Path, baseline_file: Path
) -> None:
    """The windows that passed while no service ran are analysed, oldest first."""
    config = files_config(tmp_path, baseline_file)
    before = service_at(config, [during(1)])
    assert analysed(before.tick()) == [(window(0), True)]

    after = service_at(config, [during(4)])
    assert analysed(after.tick()) == [(window(1), True), (window(2), True), (window(3), True)]
    assert after.tick() == []
    assert [s["event"]["start"] for s in runs(tmp_path)] == [  # type: ignore[index]
        f"{scenario.window_start(i):%Y-%m-%dT%H:%M:%S.000Z}" for i in range(4)
    ]


def test_a_stop_during_the_catch_up_leaves_the_backlog_for_the_next_start(
    tmp_path: Path, baseline_file: Path
) -> None:
    """SIGTERM lets the run in progress finish; the windows after it wait, nothing is lost."""
    config = files_config(tmp_path, baseline_file)
    assert analysed(service_at(config, [during(1)]).tick()) == [(window(0), True)]

    stopping = service_at(config, [during(4)])
    run = stopping.analyzer.run

    def run_then_stop(w: Window) -> RunOutcome:
        stopping.stopping.set()  # the signal arrives while this window is analysed
        return run(w)

    stopping.analyzer.run = run_then_stop  # type: ignore[method-assign,assignment]
    assert analysed(stopping.tick()) == [(window(1), True)]

    restarted = service_at(config, [during(4)])
    assert analysed(restarted.tick()) == [(window(2), True), (window(3), True)]


def test_a_catch_up_reads_the_prediction_files_once(tmp_path: Path, baseline_file: Path) -> None:
    """The windows caught up at one tick are counted in one pass over the files: the first
    run reads them, the later runs take their counts from that pass."""
    config = files_config(tmp_path, baseline_file)
    service_at(config, [during(1)]).tick()
    outcomes = service_at(config, [during(4)]).tick()
    assert [(o.summary.window, o.summary.requests) for o in outcomes] == [
        (window(1), 1),
        (window(2), 0),
        (window(3), 0),
    ]


def test_a_fresh_service_without_earlier_runs_starts_at_the_latest_window(
    tmp_path: Path, baseline_file: Path
) -> None:
    """No run summary yet: nothing is backfilled unasked."""
    config = files_config(tmp_path, baseline_file)
    service = service_at(config, [during(6)])
    assert analysed(service.tick()) == [(window(5), True)]
    assert service.resumed


def test_windows_of_coalesced_ticks_are_analysed_at_the_next_tick(
    tmp_path: Path, baseline_file: Path
) -> None:
    """A run that overran made the scheduler skip ticks: their windows are not lost."""
    now = [during(1)]
    config = files_config(tmp_path, baseline_file)
    service = service_at(config, now)
    assert analysed(service.tick()) == [(window(0), True)]
    now[0] = during(3) + timedelta(minutes=5)
    assert analysed(service.tick()) == [(window(1), True), (window(2), True)]


def test_catch_up_stops_at_its_horizon_and_says_how_to_backfill_the_rest(
    tmp_path: Path, baseline_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With catch_up 20m, a two-hour gap costs the latest two windows only, and a warning."""
    config = files_config(tmp_path, baseline_file, catch_up="20m")
    assert config.catch_up == timedelta(minutes=20)
    service_at(config, [during(1)]).tick()

    service = service_at(config, [during(13)])
    with caplog.at_level("WARNING", logger="mlmon_elk.analyzer.scheduler"):
        outcomes = service.tick()
    # now = window 13's start + 2m: ends at or after now - 20m are those of windows 11 and 12.
    assert analysed(outcomes) == [(window(11), True), (window(12), True)]
    warning = next(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert warning.startswith(
        "10 windows ending from 2024-05-01T12:20:00.000Z to 2024-05-01T13:50:00.000Z"
    )
    backfill = "mlmon-elk analyze --from 2024-05-01T12:10:00.000Z --to 2024-05-01T13:50:00.000Z"
    assert backfill in warning


def test_catch_up_zero_analyses_only_the_latest_window(tmp_path: Path, baseline_file: Path) -> None:
    """``catch_up: 0s`` is the old behaviour: the latest window, nothing else."""
    config = files_config(tmp_path, baseline_file, catch_up="0s")
    service_at(config, [during(1)]).tick()
    service = service_at(config, [during(5)])
    assert analysed(service.tick()) == [(window(4), True)]


def test_a_failure_ends_the_catch_up_but_the_latest_window_is_still_tried(
    tmp_path: Path, baseline_file: Path
) -> None:
    """Baseline gone: one old window and the latest fail; the rest wait; all succeed later."""
    baseline = tmp_path / "baseline.yaml"
    baseline.write_bytes(baseline_file.read_bytes())
    config = files_config(tmp_path, baseline)
    service_at(config, [during(1)]).tick()
    baseline.unlink()

    now = [during(4)]
    service = service_at(config, now)
    assert analysed(service.tick()) == [(window(1), False), (window(3), False)]
    assert service.backlog == [window(1), window(2), window(3)]

    baseline.write_bytes(baseline_file.read_bytes())
    now[0] = during(5)
    assert analysed(service.tick()) == [
        (window(1), True),
        (window(2), True),
        (window(3), True),
        (window(4), True),
    ]
    assert service.backlog == []


def test_an_unreadable_run_history_delays_the_catch_up_without_losing_it(
    tmp_path: Path, baseline_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The sink cannot say what ran last: the latest window runs; the gap follows once it can."""
    config = files_config(tmp_path, baseline_file)
    service_at(config, [during(1)]).tick()
    history = tmp_path / "results" / "runs.jsonl"
    saved = history.read_bytes()
    history.unlink()
    history.mkdir()  # reading it now fails (and so does writing run summaries)

    now = [during(4)]
    service = service_at(config, now)
    with caplog.at_level("WARNING", logger="mlmon_elk.analyzer.scheduler"):
        assert [o.summary.window for o in service.tick()] == [window(3)]
    assert "cannot read which window was analysed last" in caplog.text
    assert not service.resumed

    history.rmdir()
    history.write_bytes(saved)
    now[0] = during(5)
    assert analysed(service.tick()) == [
        (window(1), True),
        (window(2), True),
        (window(3), True),
        (window(4), True),
    ]
    assert service.resumed
