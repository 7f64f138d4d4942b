"""PredictionFormatter: a python-json-logger JsonFormatter that writes the contract document."""

from __future__ import annotations

import io
import json
import logging

from pythonjsonlogger.json import JsonFormatter

from mlmon_elk import PredictionFormatter, log_prediction


def logger_with(formatter: logging.Formatter, name: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, stream


def test_is_a_python_json_logger_formatter() -> None:
    """It is a JsonFormatter, usable wherever one is."""
    assert issubclass(PredictionFormatter, JsonFormatter)


def test_nothing_from_the_log_record_leaks() -> None:
    """On a StreamHandler a prediction record is exactly the contract document."""
    logger, stream = logger_with(PredictionFormatter(model="m"), "fmt-exact")
    log_prediction(logger, inputs={"x": 1}, prediction_id="f1", timestamp=0.0)
    (line,) = stream.getvalue().splitlines()
    assert json.loads(line) == {
        "@timestamp": "1970-01-01T00:00:00.000Z",
        "ecs": {"version": "8.11.0"},
        "event": {"kind": "event", "dataset": "mlmon.prediction", "outcome": "success"},
        "data_stream": {"type": "logs", "dataset": "mlmon.prediction", "namespace": "default"},
        "mlmon": {
            "schema": 1,
            "model": {"name": "m", "version": "unknown"},
            "prediction_id": "f1",
            "inputs": {"num": {"x": 1.0}},
            "present": ["x"],
        },
    }


def test_a_batch_record_is_one_line_per_row() -> None:
    """A batch becomes several lines in one write."""
    logger, stream = logger_with(PredictionFormatter(model="m"), "fmt-batch")
    log_prediction(logger, inputs=[{"x": 1}, {"x": 2}, {"x": 3}])
    assert len(stream.getvalue().splitlines()) == 3


def test_other_records_are_formatted_as_python_json_logger_does() -> None:
    """Records that are not predictions keep python-json-logger's own output."""
    logger, stream = logger_with(PredictionFormatter(model="m"), "fmt-other")
    logger.info("hello", extra={"user": "ada"})
    assert json.loads(stream.getvalue()) == {"message": "hello", "user": "ada"}
