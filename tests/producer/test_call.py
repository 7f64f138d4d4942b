"""One prediction call, one value: every way in carries the same fields to the same places."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from mlmon_elk import PredictionHandler, log_prediction
from mlmon_elk.producer.call import PredictionCall

EVERY_FIELD: dict[str, Any] = {
    "outputs": {"score": 0.25},
    "latency_ms": 3.5,
    "labels": {"tenant": "t1"},
    "timestamp": "2026-03-04T05:06:07.500Z",
    "error": ValueError("boom"),
    "outcome": "unknown",
    "model": "other",
    "model_version": "9",
}


def documents(tmp_path: Path, log: Any, *, via_logger: bool) -> list[dict[str, Any]]:
    name = "logger" if via_logger else "direct"
    path = tmp_path / f"{name}.jsonl"
    handler = PredictionHandler(f"file://{path}", model="m", counters_interval=0)
    logger = logging.getLogger(f"test_call.{name}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        log(logger if via_logger else handler)
    finally:
        logger.removeHandler(handler)
        handler.close()
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_direct_call_and_the_logger_make_the_same_documents(tmp_path: Path) -> None:
    """The handler's direct call builds the call positionally; a logger record carries
    the one ``log_prediction`` made: with every field set, the documents are identical."""
    rows = np.array([[1.0, 2.0], [3.0, 4.0]])

    def log(target: Any) -> None:
        log_prediction(target, inputs={"a": 1.0, "b": "x"}, prediction_id="one", **EVERY_FIELD)
        log_prediction(target, inputs={"a": 2.0}, outputs=0.5, prediction_id="two", timestamp=1.0)
        log_prediction(
            target, inputs=rows, feature_names=["p", "q"], prediction_id="rows", timestamp=2.0
        )

    direct = documents(tmp_path, log, via_logger=False)
    through_logger = documents(tmp_path, log, via_logger=True)
    assert direct == through_logger
    first, second, *batch = direct
    assert first["mlmon"]["model"] == {"name": "other", "version": "9"}
    assert first["labels"] == {"tenant": "t1"}
    assert first["event"]["outcome"] == "unknown"
    assert first["error"]["message"] == "boom"
    assert first["@timestamp"] == "2026-03-04T05:06:07.500Z"
    assert second["mlmon"]["outputs"] == {"num": {"prediction": 0.5}}
    assert [doc["mlmon"]["inputs"]["num"] for doc in batch] == [
        {"p": 1.0, "q": 2.0},
        {"p": 3.0, "q": 4.0},
    ]


def test_the_call_prints_short() -> None:
    """Other handlers may print a record's attributes: the call does not dump its inputs."""
    call = PredictionCall({"secret": "value"}, prediction_id="r1", model="m")
    assert repr(call) == "PredictionCall(model='m', prediction_id='r1')"
