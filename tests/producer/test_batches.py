"""Batches: one document per row (docs/handler.md)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlmon_elk.producer.batches import (
    batch_documents,
    id_rows,
    input_rows,
    is_batch,
    output_rows,
    single_row,
)
from mlmon_elk.producer.builder import DocumentBuilder
from mlmon_elk.producer.call import PredictionCall
from mlmon_elk.producer.settings import DocumentOptions, DocumentSettings


def builder() -> DocumentBuilder:
    return DocumentBuilder(DocumentSettings.create(DocumentOptions(model="m")))


def test_what_counts_as_a_batch() -> None:
    """DataFrames, lists of mappings, 2-D and structured arrays are batches; a dict is not."""
    assert is_batch(pd.DataFrame({"a": [1]}))
    assert is_batch([{"a": 1}])
    assert is_batch(np.zeros((2, 3)))
    assert is_batch(np.array([(1, "x")], dtype=[("a", "i4"), ("b", "U1")]))
    for single in ({"a": 1}, [], [1, 2], "ab", None, np.zeros(3), pd.Series({"a": 1})):
        assert not is_batch(single)


def test_dataframe_rows_keep_pandas_nulls() -> None:
    """DataFrame rows become mappings; NaN, None, pd.NA and NaT are nulls in the documents."""
    df = pd.DataFrame(
        {
            "n": [1.5, math.nan],
            "c": pd.array(["x", None], dtype="string"),
            "i": pd.array([1, None], dtype="Int64"),
            "t": pd.to_datetime(pd.Series(["2024-01-02", None])),
        }
    )
    docs, problems = batch_documents(builder(), PredictionCall(df, [0.1, 0.2], prediction_id="req"))
    assert problems == []
    first, second = (d["mlmon"] for d in docs)
    assert first["inputs"] == {
        "num": {"n": 1.5, "i": 1.0},
        "cat": {"c": "x", "t": "2024-01-02T00:00:00"},
    }
    assert second["null"] == ["n", "c", "i", "t"]
    assert [first["prediction_id"], second["prediction_id"]] == ["req-0", "req-1"]
    assert second["outputs"] == {"num": {"prediction": 0.2}}


def test_arrays_with_feature_names_and_structured_arrays() -> None:
    """A 2-D array takes feature_names; a structured array names its own fields."""
    rows = input_rows(np.array([[1.0, 2.0]]), ["a", "b"])
    assert rows == [{"a": 1.0, "b": 2.0}]
    assert input_rows(np.array([[1.0, 2.0]])) == [{"0": 1.0, "1": 2.0}]
    structured = np.array([(1, "x")], dtype=[("a", "i4"), ("b", "U1")])
    assert input_rows(structured) == [{"a": 1, "b": "x"}]


def test_outputs_per_row() -> None:
    """Outputs are a sequence, a Series, a DataFrame or a mapping of columns."""
    assert output_rows(np.array([1, 2]), 2) == [1, 2]
    assert output_rows(pd.Series([0.5, 0.7]), 2) == [0.5, 0.7]
    assert output_rows(pd.DataFrame({"p": [1, 2], "q": ["a", "b"]}), 2) == [
        {"p": 1, "q": "a"},
        {"p": 2, "q": "b"},
    ]
    assert output_rows({"p": [1, 2], "q": np.array([3, 4])}, 2) == [
        {"p": 1, "q": 3},
        {"p": 2, "q": 4},
    ]
    assert output_rows({"p": "same"}, 2) == [{"p": "same"}, {"p": "same"}]
    assert output_rows(None, 2) == [None, None]


@pytest.mark.parametrize("outputs", [[1], {"p": [1, 2, 3]}, 0.5])
def test_mismatched_outputs_are_a_problem(outputs: object) -> None:
    """Outputs not matching the rows raise ValueError (reported, rows still logged)."""
    with pytest.raises(ValueError, match="outputs"):
        output_rows(outputs, 2)


def test_rows_are_logged_even_when_outputs_do_not_match() -> None:
    """A mismatch is returned as a problem and the rows are logged without outputs."""
    docs, problems = batch_documents(builder(), PredictionCall([{"a": 1}, {"a": 2}], [0.1]))
    assert len(docs) == 2
    assert all("outputs" not in d["mlmon"] for d in docs)
    assert problems == ["outputs: 1 values for 2 rows"]


def test_ids_per_row() -> None:
    """One id per row, a prefix for all, or generated."""
    assert id_rows(["a", "b"], 2) == ["a", "b"]
    assert id_rows("r", 2) == ["r-0", "r-1"]
    assert id_rows(None, 2) == [None, None]
    with pytest.raises(ValueError, match="prediction_id"):
        id_rows(["a"], 2)


def test_batch_rows_share_latency_and_timestamp() -> None:
    """Every row gets the batch's latency and one timestamp."""
    docs, _ = batch_documents(
        builder(), PredictionCall([{"a": 1}, {"a": 2}], None, latency_ms=12.0)
    )
    assert {d["mlmon"]["latency_ms"] for d in docs} == {12.0}
    assert len({d["@timestamp"] for d in docs}) == 1


def test_a_series_is_one_row() -> None:
    """A pandas Series (index = input names) is one prediction's inputs."""
    assert single_row(pd.Series({"a": 1, "b": "x"})) == {"a": 1, "b": "x"}
    assert single_row({"a": 1}) == {"a": 1}


STAMPS = ["2026-03-01T10:00:00Z", "2026-03-01T10:00:01Z", "2026-03-01T10:00:02Z"]
STAMPED = ["2026-03-01T10:00:00.000Z", "2026-03-01T10:00:01.000Z", "2026-03-01T10:00:02.000Z"]


@pytest.mark.parametrize(
    "timestamps",
    [
        pytest.param(lambda df: list(df.ts), id="list(df.ts)"),
        pytest.param(lambda df: df.ts, id="Series"),
        pytest.param(lambda df: df.ts.to_numpy(), id="datetime64 array"),
        pytest.param(lambda df: STAMPS, id="ISO strings"),
        pytest.param(lambda df: [pd.Timestamp(s).timestamp() for s in STAMPS], id="epoch"),
    ],
)
def test_each_row_can_carry_its_own_timestamp(timestamps: Any) -> None:
    """Per-row timestamps of a DataFrame batch: each row's document has its own."""
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "ts": pd.to_datetime(STAMPS)})
    docs, problems = batch_documents(
        builder(), PredictionCall(frame[["a"]], None, timestamp=timestamps(frame), latency_ms=1.0)
    )
    assert problems == []
    assert [d["@timestamp"] for d in docs] == STAMPED


def test_naive_per_row_timestamps_are_utc() -> None:
    """Naive datetimes (and strings without an offset) mean UTC."""
    naive = [dt.datetime(2026, 3, 1, 10, 0, i) for i in range(3)]
    docs, _ = batch_documents(builder(), PredictionCall([{"a": 1}] * 3, None, timestamp=naive))
    assert [d["@timestamp"] for d in docs] == STAMPED


def test_timestamps_that_do_not_match_the_rows_are_a_named_problem() -> None:
    """Two timestamps for three rows: the rows are logged as of now, the problem names it."""
    docs, problems = batch_documents(
        builder(), PredictionCall([{"a": 1}] * 3, None, timestamp=STAMPS[:2])
    )
    assert len(docs) == 3
    assert problems == ["timestamp: 2 values for 3 rows (the batch is logged as of now)"]
