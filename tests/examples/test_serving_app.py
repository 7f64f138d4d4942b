"""The example serving app logs every prediction from every gunicorn worker."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from mlmon_elk.demo.traffic import applications
from tests.peers import JsonLinesPeer, is_prediction

SERVING = Path(__file__).resolve().parents[2] / "examples" / "serving"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail("the example app did not come up")


def test_every_prediction_of_every_worker_reaches_logstash(tmp_path: Path) -> None:
    """Two forked workers (preload_app) each get a working sender; nothing is lost on stop."""
    peer = JsonLinesPeer().start()
    port = _free_port()
    env = {
        **os.environ,
        "MLMON_LOGSTASH_URL": peer.url,
        "MLMON_APP_BIND": f"127.0.0.1:{port}",
        "MLMON_APP_WORKERS": "2",
        "TMPDIR": str(tmp_path),  # the handler's spool lives under it
    }
    command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "app:app"]
    process = subprocess.Popen(
        command, cwd=SERVING, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{base}/health", process)
        rows = applications(300, np.random.default_rng(1))
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda row: _post(f"{base}/predict", row), rows))
        assert all(a["decision"] in ("approve", "reject") for a in answers)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    try:
        assert process.returncode == 0, stderr.decode()[-2000:]
        assert peer.collector.wait(
            30, lambda: sum(map(is_prediction, peer.collector.events)) >= 300
        )
        predictions = [e for e in peer.events if is_prediction(e)]
        assert len(predictions) == 300
        assert len({p["mlmon"]["prediction_id"] for p in predictions}) == 300
        assert {p["mlmon"]["model"]["name"] for p in predictions} == {"credit-risk"}
        first = predictions[0]["mlmon"]
        assert "description" in first["tokens"]
        assert set(first["outputs"]["num"]) == {"default_risk"}
        assert "applicant_id" not in json.dumps(predictions[0])
    finally:
        peer.stop()


ROOT = SERVING.parents[1]


def documented_command() -> list[str]:
    """The gunicorn command line of ``app.py``'s docstring, as a user copies it."""
    doc = (SERVING / "app.py").read_text(encoding="utf-8")
    line = next(line for line in doc.splitlines() if line.strip().startswith("gunicorn "))
    return line.split()


def test_the_documented_command_starts_the_app_from_the_repository_root(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "MLMON_APP_BIND": f"127.0.0.1:{port}",
        "MLMON_APP_WORKERS": "1",
        "TMPDIR": str(tmp_path),
        "MLMON_LOGSTASH_URL": f"file://{tmp_path / 'predictions.jsonl'}",
    }
    command = [sys.executable, "-m", *documented_command()]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/health", process)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr.decode()[-2000:]


def test_the_app_binds_loopback_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    import runpy

    monkeypatch.delenv("MLMON_APP_BIND", raising=False)
    settings = runpy.run_path(str(SERVING / "gunicorn.conf.py"))
    assert settings["bind"] == "127.0.0.1:8000"
