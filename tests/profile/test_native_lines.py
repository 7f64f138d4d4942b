"""The native line reader (``native/``, Rust) counts exactly like whole documents.

Its module is installed by the README's setup command; these tests fail, not
skip, where it is missing, because then the file source reads with the Python
reader and this one went untested.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta
from typing import Any

import orjson
import pytest

from mlmon_elk.contract import TOKEN_IGNORE_ABOVE, Role
from mlmon_elk.profile.baseline import ModelBaselines
from mlmon_elk.profile.lines import LineSchema
from mlmon_elk.profile.native_lines import (
    DISABLE_VARIABLE,
    NativeSchema,
    line_schema,
    native_module,
)
from mlmon_elk.profile.records import WindowCounter
from mlmon_elk.profile.window import ModelWindow
from tests.analyzer.test_fetch_differential import (
    WINDOW,
    assert_same_profile,
    mixed_documents,
    model_baselines,
)
from tests.factories import prediction
from tests.profile.test_lines import type_mixed_documents


def _native(model: ModelBaselines, parts: int | None = None) -> NativeSchema:
    module = native_module()
    assert module is not None, "mlmon_elk_native is not installed: pip install ./native"
    return NativeSchema(model, module, parts=parts)


def _lines(docs: list[dict[str, Any]]) -> list[bytes]:
    return [orjson.dumps(d) for d in docs]


def _read(
    model: ModelBaselines, schema: NativeSchema | LineSchema, lines: list[bytes]
) -> ModelWindow:
    decoded = schema.decode(lines)
    counter = WindowCounter(model, WINDOW, history=3)
    counter.add_selected(decoded.typed)
    counter.add_selected(decoded.whole)
    return counter.result()


def _exact(model: ModelBaselines, docs: list[dict[str, Any]]) -> ModelWindow:
    counter = WindowCounter(model, WINDOW, history=3)
    counter.add(docs)
    return counter.result()


def assert_same_window(a: ModelWindow, b: ModelWindow) -> None:
    """Equal profiles, latency percentiles included (both count the same latencies)."""
    assert_same_profile(a, b)
    for version, profile in a.versions.items():
        other = b.versions[version].latency.percentiles
        for key, value in profile.latency.percentiles.items():
            assert math.isclose(value, other[key], rel_tol=1e-9), (version, key)


def test_the_differential_documents_count_alike_on_every_reader() -> None:
    """Every counting rule of the differential suite (edges, nulls, arrays, unseen values,
    type switches, three versions, other models) gives the same window natively."""
    model = model_baselines()
    docs = mixed_documents()
    native = _read(model, _native(model), _lines(docs))
    assert native.versions["1.0"].count > 50
    assert_same_window(native, _exact(model, docs))
    assert_same_window(native, _read(model, LineSchema(model), _lines(docs)))


def test_lines_of_other_shapes_are_left_to_the_exact_path() -> None:
    """Values of another JSON type than the handler writes, and lines that are no JSON
    object, are not read natively: the misfits are decoded whole, the rest counted bad."""
    model = model_baselines()
    docs = type_mixed_documents()  # 20 clean documents, 8 with values of another type
    at = WINDOW.start + timedelta(minutes=5)
    odd = [prediction(at, inputs={"age": 41}) for _ in range(2)]
    odd[0]["@timestamp"] = "2024-05-01T00:05:00Z"  # another time format: pandas parses it
    odd[1]["mlmon"]["latency_ms"] = True
    docs += odd
    lines = [*_lines(docs), b"not json", b"[1, 2]", b'{"@timestamp": "2024-05-01T12:0']
    decoded = _native(model).decode(lines)
    assert (len(decoded.typed.docs), len(decoded.whole.docs), decoded.bad) == (20, 10, 3)
    assert_same_window(_read(model, _native(model), lines), _exact(model, docs))


def test_an_unseen_category_is_read_natively() -> None:
    """Unlike the Python reader's closed vocabularies, any string under a keyword is read
    natively; it still counts as unseen."""
    model = model_baselines()
    at = WINDOW.start + timedelta(minutes=2)
    docs = [prediction(at, inputs={"marital": "single", "age": 30}) for _ in range(5)]
    docs.append(prediction(at, inputs={"marital": "cohabiting", "age": 30}))
    decoded = _native(model).decode(_lines(docs))
    assert (len(decoded.typed.docs), len(decoded.whole.docs)) == (6, 0)
    marital = (
        _read(model, _native(model), _lines(docs))
        .versions["1.0"]
        .features[(Role.INPUT, "marital")]
        .categorical
    )
    assert marital is not None
    assert (marital.count, marital.unseen) == (6, 1)


def test_escapes_duplicate_keys_and_extreme_numbers_count_as_whole_documents_do() -> None:
    """Escaped strings are read natively; a key given twice (the last wins in a whole
    document) and numbers a double cannot hold go to the exact path."""
    model = model_baselines()
    at = prediction(WINDOW.start + timedelta(minutes=3), inputs={"age": 30})["@timestamp"]
    event = '{"dataset":"mlmon.prediction","outcome":"success"}'

    def line(mlmon: str, *, name: str = "credit", event: str = event) -> str:
        head = f'{{"@timestamp":"{at}","event":{event},'
        return head + f'"mlmon":{{"model":{{"name":"{name}","version":"1.0"}},{mlmon}}}}}'

    lines = [
        # A token and a category written with escapes: the same strings.
        line(
            '"inputs":{"cat":{"marital":"sin\\u0067le"}},'
            '"tokens":{"note":["caf\\u00e9","late","late"]},"token_count":{"note":3}'
        ),
        # A key given twice: the last value counts.
        line('"latency_ms":5,"latency_ms":7,"inputs":{"num":{"age":20,"age":60}}'),
        line('"inputs":{"num":{"age":20},"cat":{"marital":"single"},"num":{"income":5}}'),
        line('"inputs":{"num":{"income":1e400}}'),
        line(f'"inputs":{{"num":{{"income":{"1234567890" * 3}}}}}'),
        line('"inputs":{"num":{"income":0.30000000000000004}}'),
        # A token longer than the tokens' ignore_above: not indexed, so not counted.
        line(f'"tokens":{{"note":["late","{"y" * (TOKEN_IGNORE_ABOVE + 1)}"]}}'),
        # Another model's line and another dataset's: not counted by either path.
        line('"latency_ms":1', name="other"),
        line('"latency_ms":1', event='{"dataset":"mlmon.check"}'),
    ]
    docs = [orjson.loads(line) for line in lines if b"1e400" not in line.encode()]
    decoded = _native(model).decode([line.encode() for line in lines])
    assert (len(decoded.typed.docs), len(decoded.whole.docs), decoded.bad) == (4, 2, 1)
    window = _read(model, _native(model), [line.encode() for line in lines])
    assert_same_window(window, _exact(model, docs))
    assert window.versions["1.0"].count == 6


def test_another_models_values_are_passed_over_and_a_second_name_still_counts_as_whole() -> None:
    """Once a line names another model its values are passed over undecoded: whatever
    they hold (even what the typed path would refuse), the line is dropped, not sent to
    the exact path; a line naming a model twice still goes there, where the last name
    wins. The counts are the whole documents' counts."""
    model = model_baselines()
    at = prediction(WINDOW.start + timedelta(minutes=3), inputs={"age": 30})["@timestamp"]
    head = f'{{"@timestamp":"{at}","event":{{"dataset":"mlmon.prediction"}},"mlmon":{{'
    values = '"latency_ms":3,"inputs":{"num":{"age":41}},"present":["age"],"null":[]'
    odd = '"latency_ms":"slow","inputs":{"num":{"age":1e400}},"present":[1,{"x":2}]'
    lines = [
        head + '"model":{"name":"other","version":"1.0"},' + values + "}}",
        head + '"model":{"name":"other","version":"1.0"},' + odd + "}}",
        head
        + '"model":{"name":"other"},'
        + values
        + ',"model":{"name":"credit","version":"1.0"}}}',
        head
        + '"model":{"name":"credit","version":"1.0"},'
        + values
        + ',"model":{"name":"other"}}}',
        head + '"model":{"name":"credit","version":"1.0"},' + values + "}}",
    ]
    decoded = _native(model).decode([line.encode() for line in lines])
    # Typed: the last line; exact: the third, whose last name is this model's.
    assert (len(decoded.typed.docs), len(decoded.whole.docs), decoded.bad) == (1, 1, 0)
    window = _read(model, _native(model), [line.encode() for line in lines])
    docs = [orjson.loads(line) for line in lines if "1e400" not in line]  # not a double
    assert_same_window(window, _exact(model, docs))
    assert window.versions["1.0"].count == 2


_ODD_VALUES: list[Any] = [
    None,
    True,
    3,
    -0.0,
    1e15,
    10**30,
    "52.5",
    "x",
    "é",
    'a"b',
    "x" * 1100,
    [],
    ["a", "a"],
    {"k": 1},
    0.1 + 0.2,
]
_PATHS = [
    ("mlmon", "inputs", "num", "age"),
    ("mlmon", "inputs", "num", "income"),
    ("mlmon", "inputs", "cat", "marital"),
    ("mlmon", "inputs", "cat", "region"),
    ("mlmon", "inputs", "cat", "age"),
    ("mlmon", "outputs", "num", "score"),
    ("mlmon", "outputs", "cat", "label"),
    ("mlmon", "tokens", "note"),
    ("mlmon", "token_count", "note"),
    ("mlmon", "latency_ms"),
    ("mlmon", "model", "version"),
    ("mlmon", "present"),
    ("mlmon", "null"),
    ("mlmon", "inputs"),
    ("event", "outcome"),
    ("event",),
]


@pytest.mark.parametrize("parts", [1, 5], ids=["one-thread", "five-threads"])
@pytest.mark.parametrize("seed", range(8))
def test_randomly_odd_documents_count_like_whole_documents(seed: int, parts: int) -> None:
    """Clean documents with one to three values swapped for values of every JSON type, at
    every path the reader reads: the native window equals the whole documents' window,
    whether a chunk is decoded in one run or in parts on threads of their own (each part
    with its own tables of strings, joined after)."""
    rng = random.Random(seed)
    model = model_baselines()
    docs = mixed_documents(seed=seed, n=300)
    for doc in docs:
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            *parents, last = rng.choice(_PATHS)
            holder = doc
            for key in parents:
                inner = holder.get(key)
                if not isinstance(inner, dict):
                    inner = holder[key] = {}
                holder = inner
            holder[last] = rng.choice(_ODD_VALUES)
    docs = [d for d in docs if not _has_big_int(d)]  # orjson writes no integer above 64 bits
    native = _read(model, _native(model, parts), _lines(docs))
    assert_same_window(native, _exact(model, docs))


def _has_big_int(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_big_int(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_big_int(v) for v in value)
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63


def test_the_python_reader_is_chosen_only_when_the_native_one_is_turned_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = model_baselines()
    assert isinstance(line_schema(model), NativeSchema)
    monkeypatch.setenv(DISABLE_VARIABLE, "0")
    assert isinstance(line_schema(model), LineSchema)


@pytest.mark.parametrize("parts", [1, 5], ids=["one-thread", "five-threads"])
@pytest.mark.parametrize("seed", range(3))
def test_lines_damaged_byte_by_byte_count_like_whole_documents(seed: int, parts: int) -> None:
    """Lines cut short, with bytes flipped, dropped or doubled (a disk or a writer gone
    wrong): the native reader neither fails nor counts differently from whole documents,
    and calls bad exactly the lines that are no JSON object."""
    rng = random.Random(seed)
    model = model_baselines()
    lines = _lines(mixed_documents(seed=seed, n=300))
    damaged = []
    for line in lines:
        cut = rng.randrange(len(line))
        damaged.append(
            rng.choice(
                [
                    line,
                    line[:cut],
                    line[:cut] + bytes([rng.randrange(256)]) + line[cut + 1 :],
                    line[:cut] + line[cut + 1 :],
                    line[:cut] + line[cut : cut + 8] + line[cut:],
                    line[:cut] + b"\xff\xfe" + line[cut:],
                ]
            )
        )
    docs = []
    for line in damaged:
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(doc, dict):
            docs.append(doc)
    decoded = _native(model, parts).decode(damaged)
    assert decoded.bad == len(damaged) - len(docs)
    assert_same_window(_read(model, _native(model, parts), damaged), _exact(model, docs))
