"""``log_outcome``: one small outcome document per call, through the same handler, never raising."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from mlmon_elk import PredictionHandler, log_outcome
from mlmon_elk.contract import Dataset, stream_name
from mlmon_elk.producer.outcomes import label_text, outcome_value


def handler_to(path: Path) -> PredictionHandler:
    return PredictionHandler(
        f"file://{path}",
        model="churn",
        model_version="3",
        service="api",
        labels={"region": "eu"},
        counters_interval=0,
    )


def written(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_an_outcome_document_carries_what_the_join_needs(tmp_path: Path) -> None:
    """Model, prediction id and time, actual, score and predicted label: no lookup needed."""
    path = tmp_path / "p.jsonl"
    handler = handler_to(path)
    made = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    log_outcome(
        handler,
        prediction_id="req-42",
        outcome=True,
        score=0.83,
        predicted="true",
        prediction_time=made,
        timestamp=datetime(2024, 5, 3, tzinfo=UTC),
    )
    handler.close()
    (doc,) = written(path)
    assert doc["@timestamp"] == "2024-05-03T00:00:00.000Z"
    assert doc["event"] == {"kind": "event", "dataset": "mlmon.outcome"}
    assert doc["data_stream"] == {
        "type": "logs",
        "dataset": "mlmon.outcome",
        "namespace": "default",
    }
    assert stream_name(Dataset.OUTCOME) == "logs-mlmon.outcome-default"
    assert doc["service"] == {"name": "api"}
    assert doc["labels"] == {"region": "eu"}
    assert doc["mlmon"] == {
        "schema": 1,
        "model": {"name": "churn", "version": "3"},
        "prediction_id": "req-42",
        "prediction_time": "2024-05-01T12:30:00.000Z",
        "actual": {"cat": "true"},
        "predicted": {"cat": "true"},
        "score": 0.83,
    }


def test_a_regression_outcome_carries_its_residual(tmp_path: Path) -> None:
    """Predicted − actual is computed once, at logging time, for MAE/RMSE/bias aggregations."""
    path = tmp_path / "p.jsonl"
    handler = handler_to(path)
    log_outcome(handler, prediction_id="r1", outcome=12.5, predicted=np.float32(10.0))
    handler.close()
    (doc,) = written(path)
    mlmon = doc["mlmon"]
    assert isinstance(mlmon, dict)
    assert mlmon["actual"] == {"num": 12.5}
    assert mlmon["residual"] == -2.5
    assert mlmon["prediction_time"] == doc["@timestamp"]  # known at prediction time


def test_labels_are_keywords_by_one_rule() -> None:
    """1, 1.0, np.int64(1) and "1" are one class; True is "true"; 0.3 is not a label."""
    assert {label_text(x) for x in (1, 1.0, np.int64(1), "1")} == {"1"}
    assert label_text(True) == "true"
    assert label_text(0.3) is None
    assert label_text(None) is None
    assert outcome_value(2) == {"num": 2.0, "cat": "2"}
    assert outcome_value(float("nan")) is None


def test_through_a_logger_and_bad_calls_are_counted_not_raised(tmp_path: Path) -> None:
    """A logger with the handler works; a call without id or value is an encode error."""
    path = tmp_path / "p.jsonl"
    handler = handler_to(path)
    logger = logging.getLogger("test_outcomes")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        log_outcome(logger, prediction_id="a", outcome="churned")
        log_outcome(logger, prediction_id=None, outcome="churned")
        log_outcome(logger, prediction_id="b", outcome=None)
        log_outcome(logging.LoggerAdapter(logger), prediction_id="c", outcome=0)
    finally:
        logger.removeHandler(handler)
        handler.close()
    docs = written(path)
    assert [d["mlmon"]["prediction_id"] for d in docs] == ["a", "c"]  # type: ignore[index]
    assert handler.counters().errors == 2


def test_other_handlers_see_a_short_message(caplog: pytest.LogCaptureFixture) -> None:
    """Without a PredictionHandler the record is an ordinary log line."""
    with caplog.at_level(logging.INFO, logger="plain"):
        log_outcome(logging.getLogger("plain"), prediction_id="x1", outcome=1)
    assert caplog.messages == ["mlmon outcome: prediction x1"]
