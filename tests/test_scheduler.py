"""``serve``: a real scheduler process that survives failing runs and stops on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from mlmon_elk.analyzer import Analyzer
from mlmon_elk.config import config_from_dict
from mlmon_elk.scheduler import Service
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
    assert service.failed == [first]
    now[0] += timedelta(minutes=10)
    later.write_bytes(baseline_file.read_bytes())
    outcomes = service.tick()

    assert [(o.summary.window, o.summary.ok) for o in outcomes] == [
        (first, True),
        (Window(scenario.window_start(1), scenario.window_start(2)), True),
    ]
    assert service.failed == []
    assert outcomes[0].summary.checks > 0
    assert service.tick() == []  # nothing new is due within the same interval
