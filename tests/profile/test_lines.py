"""Typed decoding of JSON lines: the fast path counts exactly like whole documents."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson

from mlmon_elk.contract import Kind, Role
from mlmon_elk.profile.lines import LineSchema
from mlmon_elk.profile.records import WindowCounter
from tests.analyzer.test_fetch_differential import (
    WINDOW,
    assert_same_profile,
    mixed_documents,
    model_baselines,
)
from tests.factories import prediction


def type_mixed_documents() -> list[dict[str, Any]]:
    """Clean documents, and documents whose values are not the type their path usually holds."""
    at = WINDOW.start + timedelta(minutes=5)
    clean = [
        prediction(at, inputs={"age": 30 + i, "marital": "single", "note": "late car"})
        for i in range(20)
    ]
    odd = [prediction(at, inputs={"age": 41}) for _ in range(8)]
    odd[0]["mlmon"]["inputs"]["num"]["age"] = "52.5"  # a numeric string: the engine coerces it
    odd[1]["mlmon"]["inputs"]["num"]["age"] = "old"  # not a number: no value
    odd[2]["mlmon"]["inputs"]["cat"] = {"marital": 3}  # a number under a keyword: its text
    odd[3]["mlmon"]["inputs"]["cat"] = {"region": ["north", "north", "east"]}  # keyword array
    odd[4]["mlmon"]["inputs"]["cat"] = {"region": True}  # a boolean keyword: "true"
    odd[5]["mlmon"]["tokens"] = {"note": ["late", 7]}  # a number among the tokens
    odd[6]["mlmon"]["model"]["version"] = 2.0  # a numeric version: its text, "2.0"
    odd[7]["mlmon"]["inputs"]["cat"] = {"age": "unknown"}  # a keyword of a numeric feature
    return clean + odd


def _lines(docs: list[dict[str, Any]]) -> list[bytes]:
    return [orjson.dumps(d) for d in docs]


def test_type_mixed_lines_count_exactly_like_whole_documents() -> None:
    """Lines the schema does not fit are decoded whole; the profile equals the dict path's."""
    model = model_baselines()
    docs = type_mixed_documents()
    lines = [*_lines(docs), b"not json", b"[1, 2]", b'{"@timestamp": "2024-05-01T12:0']
    decoded = LineSchema(model).decode(lines)
    assert (len(decoded.typed.docs), len(decoded.whole.docs), decoded.bad) == (20, 8, 3)

    fast = WindowCounter(model, WINDOW, history=3)
    fast.add_selected(decoded.typed)
    fast.add_selected(decoded.whole)
    exact = WindowCounter(model, WINDOW, history=3)
    exact.add(docs)
    assert_same_profile(fast.result(), exact.result())
    assert fast.result().versions["2.0"].count == 1
    age = fast.result().versions["1.0"].features[(Role.INPUT, "age")]
    assert age.kinds[Kind.CAT] == 1, "the keyword under a numeric feature is counted"


def test_the_differential_documents_count_alike_on_both_paths() -> None:
    """Every counting rule of the differential suite holds on the typed path too."""
    model = model_baselines()
    docs = mixed_documents()
    decoded = LineSchema(model).decode(_lines(docs))
    assert decoded.typed.docs, "the clean documents take the typed path"
    assert decoded.whole.docs, "the odd ones are decoded whole"

    fast = WindowCounter(model, WINDOW, history=3)
    fast.add_selected(decoded.typed)
    fast.add_selected(decoded.whole)
    exact = WindowCounter(model, WINDOW, history=3)
    exact.add(docs)
    assert_same_profile(fast.result(), exact.result())


def test_a_chunk_of_one_document_counts_its_values() -> None:
    """The smallest chunk still reads every group of its one document."""
    model = model_baselines()
    doc = prediction(
        WINDOW.start + timedelta(minutes=1),
        inputs={"age": 41, "income": 1000.0, "marital": "single", "note": "late car"},
        outputs={"score": 0.5, "label": "approve"},
    )
    decoded = LineSchema(model).decode(_lines([doc]))
    assert len(decoded.typed.docs) == 1

    fast = WindowCounter(model, WINDOW)
    fast.add_selected(decoded.typed)
    exact = WindowCounter(model, WINDOW)
    exact.add([doc])
    assert_same_profile(fast.result(), exact.result())
    counts = fast.result().versions["1.0"].features
    assert sum(f.kinds.get(Kind.NUM, 0) for f in counts.values()) == 3
    assert sum(f.kinds.get(Kind.CAT, 0) for f in counts.values()) == 2


def test_an_unseen_category_of_a_closed_vocabulary_is_counted_exactly() -> None:
    """A closed vocabulary's categories are decoded as those categories; a value outside it
    sends its line to the exact path, where it counts as unseen."""
    model = model_baselines()
    at = WINDOW.start + timedelta(minutes=2)
    docs = [prediction(at, inputs={"marital": "single", "age": 30}) for _ in range(5)]
    docs.append(prediction(at, inputs={"marital": "cohabiting", "age": 30}))
    decoded = LineSchema(model).decode(_lines(docs))
    assert (len(decoded.typed.docs), len(decoded.whole.docs)) == (5, 1)

    fast = WindowCounter(model, WINDOW)
    fast.add_selected(decoded.typed)
    fast.add_selected(decoded.whole)
    exact = WindowCounter(model, WINDOW)
    exact.add(docs)
    assert_same_profile(fast.result(), exact.result())
    marital = fast.result().versions["1.0"].features[(Role.INPUT, "marital")].categorical
    assert marital is not None
    assert (marital.count, marital.unseen) == (6, 1)
