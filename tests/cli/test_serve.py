"""``mlmon-elk serve`` against the engine: runs on schedule, writes run summaries, stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from mlmon_elk.contract import Dataset, stream_name
from tests import scenario
from tests.conftest import EsTarget


@pytest.fixture(scope="module")
def baseline_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return scenario.build(tmp_path_factory.mktemp("baselines"))[1]


def run_summaries(es: EsTarget) -> int:
    index = stream_name(Dataset.RUN, es.namespace)
    es.client.options(ignore_status=404).indices.refresh(index=index)
    query = {"term": {"event.dataset": "mlmon.run"}}
    found = es.client.options(ignore_status=404).count(index=index, query=query)
    return int(found.get("count", 0))


def test_serve_on_the_engine_runs_each_second_and_stops_on_sigterm(
    es: EsTarget, tmp_path: Path, baseline_file: Path
) -> None:
    """A one-second schedule: run summaries reach the check stream; SIGTERM exits 0."""
    config = tmp_path / "mlmon.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "namespace": es.namespace,
                "elasticsearch": {"hosts": [es.url]},
                "schedule": {"interval": "1s", "window": "1s", "delay": "0s", "catch_up": "0s"},
                "models": [{"name": "credit", "baselines": [str(baseline_file)]}],
            }
        ),
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "mlmon-elk"), "serve", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 60
        while run_summaries(es) < 3 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert run_summaries(es) >= 3, stderr
    assert "serving: 1 models from Elasticsearch" in stderr
    assert stderr.rstrip().endswith("stopped")
    assert "elastic_transport" not in stderr  # the client's request lines are for DEBUG
