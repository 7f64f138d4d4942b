"""Decoding lines into only the fields the performance counts read."""

from __future__ import annotations

import json

from mlmon_elk.json_lines import json_objects
from mlmon_elk.profile.outcome_lines import performance_objects

PREDICTION = {
    "@timestamp": "2025-03-01T00:00:01.000Z",
    "event": {"dataset": "mlmon.prediction"},
    "mlmon": {
        "model": {"name": "late", "version": "1"},
        "inputs": {"num": {"x": 1.5}, "cat": {"city": "Oslo"}},
        "outputs": {"num": {"score": 0.7}},
        "present": ["x", "city"],
    },
}
OUTCOME = {
    "@timestamp": "2025-03-01T01:00:00.000Z",
    "event": {"dataset": "mlmon.outcome"},
    "mlmon": {
        "model": {"name": "late", "version": "1"},
        "prediction_id": "p-1",
        "prediction_time": "2025-03-01T00:00:01.000Z",
        "actual": {"cat": "true"},
        "predicted": {"cat": "false"},
        "score": 0.7,
        "residual": None,
    },
}


def test_only_the_fields_the_performance_counts_read_are_decoded() -> None:
    """Inputs, presence lists and ids stay undecoded; everything read is as decoded whole."""
    lines = [json.dumps(doc).encode() for doc in (PREDICTION, OUTCOME)]
    docs, bad = performance_objects(lines)
    assert bad == 0
    prediction, outcome = docs
    assert prediction == {
        "@timestamp": PREDICTION["@timestamp"],
        "event": PREDICTION["event"],
        "mlmon": {"model": {"name": "late", "version": "1"}, "outputs": {"num": {"score": 0.7}}},
    }
    (whole,), _ = json_objects(lines[1:])
    del whole["mlmon"]["prediction_id"]
    assert outcome == whole


def test_lines_that_are_not_objects_are_counted_and_odd_shapes_decoded_whole() -> None:
    """Broken lines and other JSON values are counted as not objects, as the whole decoder
    counts them; an object whose ``mlmon`` is not an object is decoded whole, and a line that
    breaks after such a field is still counted as broken."""
    lines = [b"not json", b"[1, 2]", b'{"mlmon": "flat", "x": 1}', b'{"mlmon": 3, broken', b""]
    docs, bad = performance_objects(lines)
    assert docs == [{"mlmon": "flat", "x": 1}]
    assert bad == 4
    assert (docs, bad) == json_objects(lines)
