"""log_prediction and monitored: through a Logger or straight to the handler."""

from __future__ import annotations

import asyncio
import json
import logging
import logging.handlers
import queue
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlmon_elk import PredictionHandler, log_prediction, monitored


class Plain(logging.Handler):
    """Another handler on the same logger: what it sees of a prediction record."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Setup:
    logger: logging.Logger
    handler: PredictionHandler
    path: Path
    other: Plain

    @property
    def plain(self) -> list[logging.LogRecord]:
        return self.other.records

    def docs(self) -> list[dict[str, Any]]:
        """Close the handler and read what it wrote."""
        self.handler.close()
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_bytes().splitlines()]


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    """A logger with a PredictionHandler (to a file) and a plain handler beside it."""
    path = tmp_path / "p.jsonl"
    handler = PredictionHandler(f"file://{path}", model="m", counters_interval=0)
    logger = logging.getLogger(f"api-{tmp_path.name}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    other = Plain()
    logger.addHandler(handler)
    logger.addHandler(other)
    yield Setup(logger, handler, path, other)
    handler.close()
    logger.handlers.clear()


def test_through_a_logger(setup: Setup) -> None:
    """The document is written, and other handlers see a short message, not a dict."""
    log_prediction(setup.logger, inputs={"x": 1}, outputs=0.5, latency_ms=4.2, prediction_id="a")
    (doc,) = setup.docs()
    assert doc["mlmon"]["prediction_id"] == "a"
    (record,) = setup.plain
    assert record.getMessage() == "mlmon prediction: 1 row(s), success, 4.2 ms"
    assert record.funcName == "test_through_a_logger"
    assert record.pathname == __file__


def test_logger_level_is_respected(setup: Setup) -> None:
    """Below the logger's level nothing is built or logged."""
    setup.logger.setLevel(logging.WARNING)
    log_prediction(setup.logger, inputs={"x": 1})
    assert setup.docs() == []
    assert setup.plain == []


def test_a_logger_adapter_works(setup: Setup) -> None:
    """LoggerAdapters are accepted as targets."""
    log_prediction(logging.LoggerAdapter(setup.logger, {}), inputs={"x": 1}, prediction_id="ad")
    assert [d["mlmon"]["prediction_id"] for d in setup.docs()] == ["ad"]


def test_behind_a_queue_handler_values_are_those_of_the_call(tmp_path: Path) -> None:
    """With a QueueHandler in front, mutating the inputs after the call changes nothing."""
    path = tmp_path / "p.jsonl"
    handler = PredictionHandler(f"file://{path}", model="m", counters_interval=0)
    records: queue.Queue[logging.LogRecord] = queue.Queue()
    listener = logging.handlers.QueueListener(records, handler)
    logger = logging.getLogger("api-queued")
    logger.addHandler(logging.handlers.QueueHandler(records))
    logger.setLevel(logging.INFO)
    inputs = {"x": 1}
    log_prediction(logger, inputs=inputs)
    inputs["x"] = 2
    listener.start()
    listener.stop()
    handler.close()
    logger.handlers.clear()
    assert json.loads(path.read_bytes())["mlmon"]["inputs"]["num"] == {"x": 1.0}


def test_never_raises_even_if_a_filter_does(setup: Setup) -> None:
    """A broken filter on the logger does not reach the caller."""

    def broken(record: logging.LogRecord) -> bool:
        msg = "filter"
        raise RuntimeError(msg)

    setup.logger.addFilter(broken)
    log_prediction(setup.logger, inputs={"x": 1})


def test_decorator_records_success(setup: Setup) -> None:
    """@monitored times the call: inputs from the first argument, outputs from the result."""

    @monitored(setup.logger, prediction_id="d1")
    def predict(features: dict[str, Any]) -> dict[str, float]:
        return {"score": 0.7}

    assert predict({"x": 1}) == {"score": 0.7}
    (doc,) = setup.docs()
    assert doc["mlmon"]["inputs"] == {"num": {"x": 1.0}}
    assert doc["mlmon"]["outputs"] == {"num": {"score": 0.7}}
    assert doc["event"]["outcome"] == "success"
    assert doc["mlmon"]["latency_ms"] > 0
    assert setup.plain[0].funcName == "test_decorator_records_success"


def test_decorator_records_failure_and_reraises(setup: Setup) -> None:
    """A raising model is logged as failure with error.* and the same exception propagates."""
    error = ValueError("bad row")

    @monitored(setup.handler)
    def predict(features: dict[str, Any]) -> float:
        raise error

    with pytest.raises(ValueError, match="bad row") as raised:
        predict({"x": 1})
    assert raised.value is error
    (doc,) = setup.docs()
    assert doc["event"]["outcome"] == "failure"
    assert doc["error"] == {"type": "ValueError", "message": "bad row"}
    assert "outputs" not in doc["mlmon"]


def test_decorator_on_a_method_with_named_inputs_and_output_extractor(setup: Setup) -> None:
    """Methods skip self; inputs_arg names the argument; outputs= maps the result."""

    class Model:
        @monitored(setup.logger, inputs_arg="row", outputs=lambda r: {"label": r[0]})
        def predict(self, threshold: float, row: dict[str, Any]) -> tuple[str, float]:
            return ("yes", threshold)

    Model().predict(0.5, row={"x": 2})
    (doc,) = setup.docs()
    assert doc["mlmon"]["inputs"] == {"num": {"x": 2.0}}
    assert doc["mlmon"]["outputs"] == {"cat": {"label": "yes"}}


def test_decorator_on_a_coroutine(setup: Setup) -> None:
    """async def functions are timed across the await."""

    @monitored(setup.logger)
    async def predict(features: dict[str, Any]) -> float:
        await asyncio.sleep(0.01)
        return 0.1

    assert asyncio.run(predict({"x": 1})) == 0.1
    (doc,) = setup.docs()
    assert doc["mlmon"]["latency_ms"] >= 10.0


def fail_inside(logger: logging.Logger) -> None:
    """A prediction whose model raises, inside the context manager."""
    with monitored(logger, inputs={"x": 2}):
        missing = "k"
        raise KeyError(missing)


def test_context_manager(setup: Setup) -> None:
    """with monitored(...) as m: set outputs on m; exceptions are recorded and re-raised."""
    with monitored(setup.logger, inputs={"x": 1}) as m:
        m.outputs = 0.9
    with pytest.raises(KeyError):
        fail_inside(setup.logger)
    ok, failed = setup.docs()
    assert ok["mlmon"]["outputs"] == {"num": {"prediction": 0.9}}
    assert failed["event"]["outcome"] == "failure"
    assert failed["error"]["type"] == "KeyError"
    assert setup.plain[0].funcName == "test_context_manager"


def test_batch_through_a_logger(setup: Setup) -> None:
    """A list of rows is one record (one message) and one document per row."""
    log_prediction(setup.logger, inputs=[{"x": 1}, {"x": 2}], outputs=[0.1, 0.2], prediction_id="b")
    docs = setup.docs()
    assert [d["mlmon"]["prediction_id"] for d in docs] == ["b-0", "b-1"]
    assert setup.plain[0].getMessage() == "mlmon prediction: 2 row(s), success"
