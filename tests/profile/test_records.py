"""The record counter: decoded documents counted into one model's window profile."""

from __future__ import annotations

from datetime import timedelta

from mlmon_elk.contract import Role
from mlmon_elk.profile.baseline import ModelBaselines
from mlmon_elk.profile.records import WindowCounter
from tests.analyzer.test_fetch_differential import WINDOW
from tests.factories import credit_baseline, prediction

CREDIT = ModelBaselines("credit", {"1.0": credit_baseline()}, default_version="1.0")


def test_counter_takes_documents_from_memory_too() -> None:
    """WindowCounter counts documents handed to it directly, like chunks of a file."""
    counter = WindowCounter(CREDIT, WINDOW)
    counter.add(
        [
            prediction(WINDOW.start + timedelta(seconds=i), inputs={"age": 30, "marital": None})
            for i in range(5)
        ]
    )
    profile = counter.result().versions["1.0"]
    marital = profile.feature(Role.INPUT, "marital")
    assert marital is not None
    assert (profile.count, marital.present, marital.null) == (5, 5, 5)


def test_documents_whose_event_or_mlmon_is_no_object_are_not_counted() -> None:
    """A line whose ``event``, ``mlmon`` or ``mlmon.model`` holds a string, a list or a
    number (another producer's, or garbage) is no prediction of the model: passed over."""
    at = WINDOW.start + timedelta(seconds=1)
    odd = []
    for path, value in [("event", "x"), ("mlmon", ["a"]), ("model", 3), ("event", None)]:
        doc = prediction(at, inputs={"age": 30})
        holder = doc["mlmon"] if path == "model" else doc
        holder[path] = value
        odd.append(doc)
    counter = WindowCounter(CREDIT, WINDOW)
    counter.add([prediction(at, inputs={"age": 30}), *odd])
    assert counter.result().versions["1.0"].count == 1
