"""Standard output, for container log collectors."""

from __future__ import annotations

import json

import pytest

from mlmon_elk import PredictionHandler


def test_lines_go_to_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    """Each prediction is one JSON line on standard output."""
    handler = PredictionHandler("stdout", model="m", counters_interval=0)
    handler.log_prediction(inputs={"x": 1}, prediction_id="s1")
    handler.log_prediction(inputs={"x": 2}, prediction_id="s2")
    handler.close()
    out = capfd.readouterr().out.splitlines()
    assert [json.loads(line)["mlmon"]["prediction_id"] for line in out] == ["s1", "s2"]
