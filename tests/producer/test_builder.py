"""The prediction document builder (shared/DESIGN.md §3, docs/handler.md)."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import json
import math
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlmon_elk.contract import ECS_VERSION, Field, sanitize_name, with_hash_suffix
from mlmon_elk.errors import ConfigError
from mlmon_elk.producer.builder import DocumentBuilder
from mlmon_elk.producer.call import PredictionCall
from mlmon_elk.producer.encoding import encode_line
from mlmon_elk.producer.features import INPUTS_NOT_A_MAPPING
from mlmon_elk.producer.settings import DocumentOptions, DocumentSettings
from mlmon_elk.producer.tokens import tokenize
from tests.producer.test_values import ANY_VALUE, Raising

FIXED = dt.datetime(2026, 5, 4, 3, 2, 1, 987_654, tzinfo=dt.UTC).timestamp()


def builder(**options: Any) -> DocumentBuilder:
    given = DocumentOptions(model="churn", model_version="3", **options)
    return DocumentBuilder(DocumentSettings.create(given, os.environ))


def paths(doc: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Dotted leaf paths of a nested document."""
    for key, value in doc.items():
        if isinstance(value, dict) and value:
            yield from paths(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def flat(doc: dict[str, Any]) -> dict[str, Any]:
    return dict(paths(doc))


CONTRACT_FIELDS = {
    value for name, value in vars(Field).items() if name.isupper() and isinstance(value, str)
}
DYNAMIC_PREFIXES = (
    "labels.",
    "mlmon.inputs.num.",
    "mlmon.inputs.cat.",
    "mlmon.inputs.text.",
    "mlmon.outputs.num.",
    "mlmon.outputs.cat.",
    "mlmon.tokens.",
    "mlmon.token_count.",
    "mlmon.shipper.",
)


def assert_contract_only(doc: dict[str, Any]) -> None:
    for path, _ in paths(doc):
        assert path in CONTRACT_FIELDS or path.startswith(DYNAMIC_PREFIXES), path


class TestPredictionDocument:
    def test_every_field_of_the_contract(self) -> None:
        """A full call fills exactly the contract's fields with the documented values."""
        b = builder(
            service="churn-api", service_version="1.0", environment="prod", labels={"region": "eu"}
        )
        doc = b.prediction(
            PredictionCall(
                {"age": 41, "plan": "pro"},
                {"score": 0.83},
                latency_ms=4.25,
                prediction_id="req-1",
                labels={"tenant": "acme"},
                timestamp=FIXED,
            )
        )
        assert flat(doc) == {
            "@timestamp": "2026-05-04T03:02:01.987Z",
            "ecs.version": ECS_VERSION,
            "event.kind": "event",
            "event.dataset": "mlmon.prediction",
            "event.duration": 4_250_000,
            "event.outcome": "success",
            "data_stream.type": "logs",
            "data_stream.dataset": "mlmon.prediction",
            "data_stream.namespace": "default",
            "service.name": "churn-api",
            "service.version": "1.0",
            "service.environment": "prod",
            "labels.region": "eu",
            "labels.tenant": "acme",
            "mlmon.schema": 1,
            "mlmon.model.name": "churn",
            "mlmon.model.version": "3",
            "mlmon.prediction_id": "req-1",
            "mlmon.latency_ms": 4.25,
            "mlmon.inputs.num.age": 41.0,
            "mlmon.inputs.cat.plan": "pro",
            "mlmon.outputs.num.score": 0.83,
            "mlmon.present": ["age", "plan"],
        }
        assert_contract_only(doc)

    def test_documents_are_nested_objects_never_dotted_keys(self) -> None:
        """Keys never contain a dot, at any depth (ECS guideline, one mapping per path)."""
        doc = builder().prediction(
            PredictionCall({"a.b": 1, "c": {"d.e": "x"}}, {"o.p": 1.0}, latency_ms=1.0)
        )
        for path, _ in paths(doc):
            parts = path.split(".")
            assert all(parts), path
        assert "a_b" in doc["mlmon"]["inputs"]["num"]
        assert "c_d_e" in doc["mlmon"]["inputs"]["cat"]

    def test_nulls_and_invalid_values_are_listed_and_left_out(self) -> None:
        """None/NaN go to mlmon.null, ±inf to mlmon.invalid; all are in mlmon.present."""
        doc = builder().prediction(
            PredictionCall({"a": None, "b": math.nan, "c": math.inf, "d": 1.0})
        )["mlmon"]
        assert doc["present"] == ["a", "b", "c", "d"]
        assert doc["null"] == ["a", "b"]
        assert doc["invalid"] == ["c"]
        assert doc["inputs"] == {"num": {"d": 1.0}}

    def test_empty_lists_are_not_written(self) -> None:
        """Without nulls, invalid values or text, those fields are absent (not [] or null)."""
        doc = builder().prediction(PredictionCall({"a": 1}))["mlmon"]
        assert "null" not in doc
        assert "invalid" not in doc
        assert "tokens" not in doc

    def test_bool_is_categorical_never_numeric(self) -> None:
        """True/False land under cat as "true"/"false"."""
        doc = builder().prediction(PredictionCall({"flag": True, "n": 1}))["mlmon"]["inputs"]
        assert doc == {"num": {"n": 1.0}, "cat": {"flag": "true"}}

    def test_a_feature_that_changes_type_moves_to_another_field(self) -> None:
        """The same name as number and as string lands in num and cat (no mapping conflict)."""
        b = builder()
        first = b.prediction(PredictionCall({"zip": 75001}))["mlmon"]["inputs"]
        second = b.prediction(PredictionCall({"zip": "75001"}))["mlmon"]["inputs"]
        assert first == {"num": {"zip": 75001.0}}
        assert second == {"cat": {"zip": "75001"}}

    def test_declared_text_inputs_are_tokenized(self) -> None:
        """A declared text input is stored cut, with its tokens and their count."""
        review = "Great phone, GREAT battery! " * 100
        doc = builder(text_inputs=["review"], max_text_chars=20).prediction(
            PredictionCall({"review": review})
        )
        mlmon = doc["mlmon"]
        assert mlmon["inputs"]["text"] == {"review": review[:20]}
        assert mlmon["tokens"] == {"review": list(tokenize(review))}
        assert mlmon["token_count"] == {"review": 3}

    def test_text_declared_but_not_a_string_follows_the_value_rules(self) -> None:
        """A declared text input holding a number is numeric; None is null."""
        b = builder(text_inputs=["review"])
        assert b.prediction(PredictionCall({"review": 3}))["mlmon"]["inputs"] == {
            "num": {"review": 3.0}
        }
        assert b.prediction(PredictionCall({"review": None}))["mlmon"]["null"] == ["review"]

    def test_empty_as_null(self) -> None:
        """With empty_as_null, "" is null for categories and text alike."""
        b = builder(text_inputs=["t"], empty_as_null=True)
        mlmon = b.prediction(PredictionCall({"c": "", "t": ""}))["mlmon"]
        assert mlmon["null"] == ["c", "t"]
        assert "inputs" not in mlmon

    def test_colliding_names_keep_apart(self) -> None:
        """Two keys that sanitise alike in one record: the second gets a hash suffix."""
        doc = builder().prediction(PredictionCall({"a.b": 1, "a_b": 2}))["mlmon"]
        second = with_hash_suffix("a_b", "a_b")
        assert doc["present"] == ["a_b", second]
        assert doc["inputs"]["num"] == {"a_b": 1.0, second: 2.0}

    def test_same_name_alone_in_a_record_keeps_its_plain_name(self) -> None:
        """Without a collision in the record, no suffix (the rule is per record)."""
        b = builder()
        b.prediction(PredictionCall({"a.b": 1, "a_b": 2}))
        assert b.prediction(PredictionCall({"a_b": 3}))["mlmon"]["present"] == ["a_b"]

    def test_nested_mappings_are_flattened_like_json_normalize(self) -> None:
        """{"address": {"city": …}} is the input address.city, sanitised address_city."""
        doc = builder().prediction(
            PredictionCall({"address": {"city": "Paris", "geo": {"lat": 48.8}}, "x": 1})
        )
        mlmon = doc["mlmon"]
        assert mlmon["present"] == ["address_city", "address_geo_lat", "x"]
        assert mlmon["inputs"] == {
            "num": {"address_geo_lat": 48.8, "x": 1.0},
            "cat": {"address_city": "Paris"},
        }

    def test_too_deep_or_empty_mappings(self) -> None:
        """Deeper than four levels is invalid; an empty mapping is null."""
        deep = {"a": {"b": {"c": {"d": {"e": 1}}}}, "empty": {}}
        mlmon = builder().prediction(PredictionCall(deep))["mlmon"]
        assert mlmon["invalid"] == ["a_b_c_d"]
        assert mlmon["null"] == ["empty"]

    def test_non_string_and_unprintable_keys(self) -> None:
        """Keys are str()'d; a key whose str() raises is named after its type."""

        class Key:
            def __str__(self) -> str:
                msg = "no"
                raise RuntimeError(msg)

        mlmon = builder().prediction(PredictionCall({1: "a", (2, 3): "b", Key(): "c"}))["mlmon"]
        assert mlmon["present"] == ["1", sanitize_name("(2, 3)"), "_Key_"]

    def test_inputs_that_are_not_a_mapping(self) -> None:
        """A bare value as inputs still logs the prediction, marked invalid."""
        mlmon = builder().prediction(PredictionCall(42, 0.5))["mlmon"]
        assert mlmon["invalid"] == [INPUTS_NOT_A_MAPPING]
        assert mlmon["outputs"] == {"num": {"prediction": 0.5}}

    def test_outputs(self) -> None:
        """A bare output is named prediction; null and invalid outputs are left out."""
        b = builder()
        assert b.prediction(PredictionCall({}, "yes"))["mlmon"]["outputs"] == {
            "cat": {"prediction": "yes"}
        }
        out = b.prediction(PredictionCall({}, {"p": math.nan, "q": math.inf, "r": 0.5, "s": "x"}))[
            "mlmon"
        ]
        assert out["outputs"] == {"num": {"r": 0.5}, "cat": {"s": "x"}}
        assert "outputs" not in b.prediction(PredictionCall({}, {"p": None}))["mlmon"]

    def test_error_and_outcome(self) -> None:
        """An exception gives outcome failure and error.type/message; outcome= overrides."""

        class ModelError(Exception):
            pass

        doc = builder().prediction(PredictionCall({}, error=ModelError("bad input")))
        assert doc["event"]["outcome"] == "failure"
        assert doc["error"] == {
            "type": f"{__name__}.TestPredictionDocument.test_error_and_outcome.<locals>.ModelError",
            "message": "bad input",
        }
        assert (
            builder().prediction(PredictionCall({}, error=ValueError("x")))["error"]["type"]
            == "ValueError"
        )
        assert (
            builder().prediction(PredictionCall({}, outcome="unknown"))["event"]["outcome"]
            == "unknown"
        )

    def test_unprintable_error(self) -> None:
        """An exception whose str() raises still gives a message."""

        class Bad(Exception):
            def __str__(self) -> str:
                msg = "no"
                raise RuntimeError(msg)

        assert (
            builder().prediction(PredictionCall({}, error=Bad()))["error"]["message"]
            == "<unprintable Bad>"
        )

    @pytest.mark.parametrize("latency", [-1.0, math.nan, math.inf, "4", None, 1e13])
    def test_unusable_latency_is_left_out(self, latency: object) -> None:
        """Latency must be a finite number ≥ 0 (and fit a long in ns); otherwise absent."""
        doc = builder().prediction(PredictionCall({}, latency_ms=latency))
        assert "duration" not in doc["event"]
        assert "latency_ms" not in doc["mlmon"]

    def test_latency_from_numpy_or_int(self) -> None:
        """Latency given as int or numpy number is converted."""
        import numpy as np

        assert (
            builder().prediction(PredictionCall({}, latency_ms=np.float32(2.0)))["event"][
                "duration"
            ]
            == 2_000_000
        )
        assert builder().prediction(PredictionCall({}, latency_ms=3))["mlmon"]["latency_ms"] == 3.0

    def test_model_per_call(self) -> None:
        """model= and model_version= override the handler's for one call."""
        doc = builder().prediction(PredictionCall({}, model="other", model_version="9"))
        assert doc["mlmon"]["model"] == {"name": "other", "version": "9"}
        assert (
            builder().prediction(PredictionCall({}, model_version="9"))["mlmon"]["model"]["name"]
            == "churn"
        )

    def test_prediction_ids(self) -> None:
        """Given ids are kept (cut to 256 chars); generated ones are unique."""
        b = builder()
        assert (
            b.prediction(PredictionCall({}, prediction_id=123))["mlmon"]["prediction_id"] == "123"
        )
        assert (
            len(b.prediction(PredictionCall({}, prediction_id="x" * 999))["mlmon"]["prediction_id"])
            == 256
        )
        ids = {b.prediction(PredictionCall({}))["mlmon"]["prediction_id"] for _ in range(1000)}
        assert len(ids) == 1000

    def test_timestamp_given_as_datetime(self) -> None:
        """Naive datetimes are UTC; aware ones are converted."""
        b = builder()
        naive = dt.datetime(2026, 1, 1, 12, 0, 0, 500_000)
        aware = dt.datetime(
            2026, 1, 1, 13, 0, 0, 500_000, tzinfo=dt.timezone(dt.timedelta(hours=1))
        )
        assert (
            b.prediction(PredictionCall({}, timestamp=naive))["@timestamp"]
            == "2026-01-01T12:00:00.500Z"
        )
        assert (
            b.prediction(PredictionCall({}, timestamp=aware))["@timestamp"]
            == "2026-01-01T12:00:00.500Z"
        )

    def test_labels(self) -> None:
        """Labels are flat keywords: keys sanitised, values stringified, None dropped."""
        doc = builder(labels={"a.b": 1}).prediction(
            PredictionCall({}, labels={"on": True, "x": None, "f": 0.5})
        )
        assert doc["labels"] == {"a_b": "1", "on": "true", "f": "0.5"}


class TestPrivacy:
    def test_an_unknown_rule_is_a_config_error(self) -> None:
        """Anything but drop, hash and truncate:<n> is refused, naming the input."""
        with pytest.raises(ConfigError, match=r"privacy\['email'\]"):
            builder(privacy={"email": "encrypt"})

    def test_drop_removes_the_input_entirely(self) -> None:
        """A dropped input is neither logged nor listed as present."""
        mlmon = builder(privacy={"ssn": "drop"}).prediction(PredictionCall({"ssn": "123", "a": 1}))[
            "mlmon"
        ]
        assert mlmon["present"] == ["a"]
        assert "ssn" not in json.dumps(mlmon)

    def test_truncate_cuts_strings_and_text_tokens(self) -> None:
        """Strings are cut; a text input is tokenized from its cut text only."""
        b = builder(
            privacy={"name": "truncate:2", "note": "truncate:5", "tags": "truncate:1"},
            text_inputs=["note"],
        )
        mlmon = b.prediction(
            PredictionCall({"name": "Alice", "note": "hello secret world", "tags": ["ab", "cd"]})
        )["mlmon"]
        assert mlmon["inputs"]["cat"] == {"name": "Al", "tags": ["a", "c"]}
        assert mlmon["inputs"]["text"] == {"note": "hello"}
        assert mlmon["tokens"] == {"note": ["hello"]}

    def test_hash_with_the_key_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """hash logs HMAC-SHA256 (32 hex digits) keyed from MLMON_HASH_KEY, as a category."""
        monkeypatch.setenv("MLMON_HASH_KEY", "s3cret")
        b = builder(privacy={"email": "hash", "age": "hash", "note": "hash"}, text_inputs=["note"])
        mlmon = b.prediction(PredictionCall({"email": "a@b.c", "age": 41, "note": "some text"}))[
            "mlmon"
        ]

        def mac(text: str) -> str:
            return hmac.new(b"s3cret", text.encode(), hashlib.sha256).hexdigest()[:32]

        assert mlmon["inputs"] == {
            "cat": {"email": mac("a@b.c"), "age": mac("41.0"), "note": mac("some text")}
        }
        assert "tokens" not in mlmon
        assert "s3cret" not in repr(b.settings)

    def test_hash_without_a_key_refuses_to_start(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """No key in the environment: ConfigError naming the variable."""
        monkeypatch.delenv("MY_KEY", raising=False)
        with pytest.raises(ConfigError, match="MY_KEY"):
            builder(privacy={"email": "hash"}, hash_key_env="MY_KEY")


class TestShipperDocument:
    def test_shape(self) -> None:
        """A metric document on the prediction stream with counters under mlmon.shipper."""
        doc = builder(service="api").shipper({"logged": 3, "sent": 2}, timestamp=FIXED)
        assert flat(doc) == {
            "@timestamp": "2026-05-04T03:02:01.987Z",
            "ecs.version": ECS_VERSION,
            "event.kind": "metric",
            "event.dataset": "mlmon.shipper",
            "data_stream.type": "logs",
            "data_stream.dataset": "mlmon.prediction",
            "data_stream.namespace": "default",
            "service.name": "api",
            "mlmon.schema": 1,
            "mlmon.model.name": "churn",
            "mlmon.model.version": "3",
            "mlmon.shipper.logged": 3,
            "mlmon.shipper.sent": 2,
        }
        assert_contract_only(doc)


# -- properties over arbitrary input ------------------------------------------------------

KEYS = st.one_of(st.text(max_size=8), st.integers(), st.sampled_from(["a", "a.b", "a_b", "b"]))
INPUTS = st.dictionaries(KEYS, ANY_VALUE, max_size=8)
STRICT = json.JSONDecoder(parse_constant=lambda token: pytest.fail(f"bare {token} token"))


def mapping_class(value: Any) -> str:
    """The Elasticsearch mapping a JSON value needs: one per field path."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(x, str) for x in value)
    ):
        return "keyword"
    return type(value).__name__


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(INPUTS, ANY_VALUE), min_size=1, max_size=5), st.booleans())
def test_any_input_gives_valid_json_with_one_type_per_path(
    calls: list[tuple[dict[Any, Any], Any]], empty_as_null: bool
) -> None:
    """Whatever the values: the call never raises, every line is strict JSON, and across
    documents each field path keeps one mapping type."""
    b = builder(text_inputs=["a", "b"], empty_as_null=empty_as_null)
    seen: dict[str, str] = {}
    for inputs, outputs in calls:
        line = encode_line(b.prediction(PredictionCall(inputs, outputs, latency_ms=1.0)))
        assert line.endswith(b"\n")
        assert line.count(b"\n") == 1
        doc = STRICT.decode(line.decode("utf-8"))
        assert_contract_only(doc)
        for path, value in paths(doc):
            if path.startswith(
                ("mlmon.inputs.", "mlmon.outputs.", "mlmon.tokens.", "mlmon.token_count.")
            ):
                kind = mapping_class(value)
                assert seen.setdefault(path, kind) == kind, path


@given(st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1))
def test_lone_surrogates_are_repaired_not_fatal(text: str) -> None:
    """Surrogates are joined where they pair up and become U+FFFD where alone."""
    line = encode_line(builder().prediction(PredictionCall({text: text}, prediction_id=text)))
    doc = json.loads(line)
    repaired = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    assert doc["mlmon"]["prediction_id"] == repaired


def test_objects_whose_methods_raise() -> None:
    """Values, outputs and labels whose methods raise do not break the document."""
    doc = builder().prediction(PredictionCall({"x": Raising()}, Raising(), labels={"l": Raising()}))
    assert doc["mlmon"]["invalid"] == ["x"]
    assert "outputs" not in doc["mlmon"]
    assert "labels" not in doc


# -- the prediction line: the builder's document, byte for byte ---------------------------

LINE_KEYS = st.one_of(
    st.sampled_from(["age", "plan", "a b", "a_b", "A.B", "text", "secret", "cut", "x" * 300]),
    st.text(max_size=6),
)
TEMPLATED_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=1e307, max_value=1.7e308),  # sums that overflow
    st.integers(min_value=-(2**1100), max_value=2**1100),
    st.text(max_size=4),
    st.text(min_size=1022, max_size=1026),
    st.booleans(),
    st.none(),
)
LINE_INPUTS = st.one_of(
    st.dictionaries(LINE_KEYS, TEMPLATED_VALUES, max_size=8),
    st.dictionaries(LINE_KEYS, st.one_of(TEMPLATED_VALUES, ANY_VALUE), max_size=8),
)


def mostly_none(value: object) -> st.SearchStrategy[Any]:
    return st.sampled_from([None, None, None, value])


LINE_OUTPUTS = st.one_of(
    st.none(),
    st.floats(allow_nan=True),
    st.text(max_size=3),
    st.dictionaries(st.text(max_size=3), st.one_of(st.floats(), st.text(max_size=3)), max_size=5),
)
LINE_ARGUMENTS = (
    "inputs",
    "outputs",
    "latency_ms",
    "prediction_id",
    "labels",
    "timestamp",
    "error",
    "outcome",
    "model",
    "model_version",
)
# Only times that are not "now" (non-finite numbers, years past 9999 are): two builders
# called one after the other would see two different nows.
LINE_TIMESTAMPS = st.one_of(
    st.floats(min_value=-6e10, max_value=2.5e11),
    st.integers(min_value=0, max_value=250_000_000_000),
    st.datetimes(timezones=st.none() | st.just(dt.UTC)),
    st.just("2026-11-22T22:15:33.5Z"),
    st.just("not a time"),
    st.lists(st.integers(), max_size=1),
)


@settings(max_examples=400, deadline=None)
@given(
    calls=st.lists(
        st.fixed_dictionaries(
            {
                "inputs": LINE_INPUTS,
                "outputs": LINE_OUTPUTS,
                "latency_ms": st.one_of(st.none(), st.floats(), st.integers(), st.text(max_size=2)),
                "prediction_id": st.one_of(st.none(), st.text(max_size=5), st.integers()),
                "labels": st.sampled_from([None, {}, None, {"zone": "eu"}]),
                "timestamp": LINE_TIMESTAMPS,
                "error": mostly_none(ValueError("boom")),
                "outcome": st.sampled_from([None, "success", "unknown", "failure", "odd"]),
                "model": mostly_none("other"),
                "model_version": mostly_none("9"),
            }
        ),
        min_size=1,
        max_size=4,
    ),
    options=st.fixed_dictionaries(
        {
            "empty_as_null": st.booleans(),
            "service": st.one_of(st.none(), st.just("shop%s")),
            "labels": st.one_of(st.none(), st.just({"team": "a%d"})),
            "text_inputs": st.sampled_from([(), (), (), ("text",)]),
            "privacy": mostly_none({"secret": "drop", "cut": "truncate:2"}),
        }
    ),
)
def test_prediction_line_is_the_documents_line(
    calls: list[dict[str, Any]], options: dict[str, Any]
) -> None:
    """Whenever ``prediction_line`` writes a line it is exactly ``encode_line`` of
    ``prediction``'s document — every byte, including the ids drawn — and when it
    declines (returns None) it changed nothing: the two builders stay in step."""
    lines, documents = builder(**options), builder(**options)
    documents.new_id = lines.new_id.__class__()
    documents.new_id.prefix = lines.new_id.prefix
    documents._next_id = documents.new_id.__call__
    for call in calls * 2:  # the second time on cached templates
        args = tuple(call[name] for name in LINE_ARGUMENTS)
        try:
            expected: bytes | Exception = encode_line(documents.prediction(PredictionCall(*args)))
        except Exception as exc:  # a bad timestamp: the same error from both
            expected = exc

        def line_of(args: tuple[Any, ...]) -> bytes:
            line = lines.prediction_line(PredictionCall(*args))
            return encode_line(lines.prediction(PredictionCall(*args))) if line is None else line

        if isinstance(expected, Exception):
            with pytest.raises(type(expected), match=re.escape(str(expected))):
                line_of(args)
            continue
        assert line_of(args) == expected


def test_prediction_line_writes_the_usual_call() -> None:
    """Numbers, strings, bools, None, NaN, lists: written as a line, one JSON document."""
    b = builder(service="shop", labels={"team": "a"})
    inputs = {"age": 41, "income": 5.5e4, "plan": "gold", "trial": False, "coupon": None}
    inputs |= {"ratio": float("nan"), "tags": ["a"], "big": float("inf")}
    for _ in range(2):
        line = b.prediction_line(
            PredictionCall(inputs, {"score": 0.5}, 3.5, None, None, FIXED, None, None)
        )
        assert line is not None
        assert line.endswith(b"}\n")
        assert line.count(b"\n") == 1
        doc = json.loads(line)
        assert doc["mlmon"]["inputs"] == {
            "num": {"age": 41.0, "income": 5.5e4},
            "cat": {"plan": "gold", "trial": "false", "tags": ["a"]},
        }
        assert doc["mlmon"]["null"] == ["coupon", "ratio"]
        assert doc["mlmon"]["invalid"] == ["big"]
        assert doc["event"]["duration"] == 3_500_000


@pytest.mark.parametrize(
    ("inputs", "call"),
    [
        ({"x": {"y": 1}}, {}),
        ({"text": "a b"}, {}),
        ({"x": 1.0}, {"labels": {"k": "v"}}),
        ({"x": 1.0}, {"error": ValueError("e")}),
        ({"x": 1.0}, {"model": "m2"}),
    ],
)
def test_prediction_line_leaves_the_unusual_to_the_builder(
    inputs: dict[str, Any], call: dict[str, Any]
) -> None:
    """Nested mappings, text inputs and per-call labels, errors or models: None, and
    no id drawn (the builder's document takes the next one)."""
    b = builder(text_inputs=("text",))
    assert b.prediction_line(PredictionCall(inputs, **call)) is None
    assert b.prediction(PredictionCall(inputs, **call))["mlmon"]["prediction_id"].endswith("-1")


ODD_KEYS = (None, 1, 1.5, "", "a b", "a_b", "A.B", "x" * 300, "plain")


@pytest.mark.parametrize("key", ODD_KEYS)
def test_prediction_line_names_odd_keys_as_the_document_does(key: object) -> None:
    """Keys that are not their own names (None, numbers, empty, unsafe, long, colliding),
    as inputs and as outputs, first and again (cached): the line is the document's."""
    lines, documents = builder(), builder()
    documents.new_id = lines.new_id.__class__()
    documents.new_id.prefix = lines.new_id.prefix
    documents._next_id = documents.new_id.__call__
    inputs = {key: 1.5, "a_b": "x", "n": 2}
    outputs = {key: 0.25, "a_b": "yes"}
    for _ in range(3):
        call = PredictionCall(inputs, outputs, 2.0, None, None, FIXED)
        line = lines.prediction_line(call)
        assert line == encode_line(documents.prediction(call))


def test_prediction_line_of_str_enum_keys_equal_to_earlier_plain_keys() -> None:
    """A ``StrEnum`` key equal to a plain key seen before shares its plan: still the
    document's line (the encoder is given plain names)."""

    class Key(enum.StrEnum):
        AGE = "age"

    lines, documents = builder(), builder()
    documents.new_id = lines.new_id.__class__()
    documents.new_id.prefix = lines.new_id.prefix
    documents._next_id = documents.new_id.__call__
    for inputs in ({"age": 1.5}, {Key.AGE: 2.5}, {"age": 3.5}):
        call = PredictionCall(inputs, {Key.AGE: 0.5}, None, None, None, FIXED)
        assert lines.prediction_line(call) == encode_line(documents.prediction(call))
