"""Value typing rules (docs/handler.md, "Value rules")."""

from __future__ import annotations

import datetime as dt
import enum
import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlmon_elk.producer import values as v


class Color(enum.Enum):
    RED = "red"
    NONE = None


class Level(enum.IntEnum):
    HIGH = 3


class Raising:
    """An object every method of which raises."""

    def __repr__(self) -> str:
        msg = "repr"
        raise RuntimeError(msg)

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        msg = "eq"
        raise RuntimeError(msg)

    def __float__(self) -> float:
        msg = "float"
        raise RuntimeError(msg)

    __hash__ = None  # type: ignore[assignment]


NUM, CAT, CATS, NULL, INVALID = v.NUM, v.CAT, v.CATS, v.NULL, v.INVALID

CASES: list[tuple[str, Any, tuple[int, Any]]] = [
    ("bool", True, (CAT, "true")),
    ("numpy bool", np.bool_(False), (CAT, "false")),
    ("int", 3, (NUM, 3.0)),
    ("float", 2.5, (NUM, 2.5)),
    ("numpy int64", np.int64(7), (NUM, 7.0)),
    ("numpy uint64 max", np.uint64(2**64 - 1), (NUM, float(2**64 - 1))),
    ("numpy float32", np.float32(0.5), (NUM, 0.5)),
    ("numpy float64", np.float64(1.5), (NUM, 1.5)),
    ("Decimal", Decimal("1.25"), (NUM, 1.25)),
    ("Fraction", Fraction(1, 4), (NUM, 0.25)),
    ("None", None, (NULL, None)),
    ("NaN", math.nan, (NULL, None)),
    ("numpy NaN", np.float32("nan"), (NULL, None)),
    ("Decimal NaN", Decimal("NaN"), (NULL, None)),
    ("Decimal sNaN", Decimal("sNaN"), (NULL, None)),
    ("pd.NA", pd.NA, (NULL, None)),
    ("pd.NaT", pd.NaT, (NULL, None)),
    ("numpy NaT", np.datetime64("NaT", "ns"), (NULL, None)),
    ("numpy timedelta NaT", np.timedelta64("NaT", "s"), (NULL, None)),
    ("+inf", math.inf, (INVALID, None)),
    ("-inf", -math.inf, (INVALID, None)),
    ("numpy inf", np.float64("-inf"), (INVALID, None)),
    ("Decimal inf", Decimal("Infinity"), (INVALID, None)),
    ("Decimal beyond float", Decimal("1e400"), (INVALID, None)),
    ("int beyond float", 10**400, (INVALID, None)),
    ("str", "red", (CAT, "red")),
    ("empty str", "", (CAT, "")),
    ("numpy str", np.str_("x"), (CAT, "x")),
    ("huge str", "x" * 5000, (CAT, "x" * v.MAX_CATEGORY_CHARS)),
    ("str enum", Color.RED, (CAT, "red")),
    ("enum with None value", Color.NONE, (NULL, None)),
    ("int enum", Level.HIGH, (CAT, "3")),
    ("datetime", dt.datetime(2024, 1, 2, 3, 4, 5), (CAT, "2024-01-02T03:04:05")),
    (
        "aware datetime",
        dt.datetime(2024, 1, 2, tzinfo=dt.UTC),
        (CAT, "2024-01-02T00:00:00+00:00"),
    ),
    ("date", dt.date(2024, 1, 2), (CAT, "2024-01-02")),
    ("time", dt.time(3, 4), (CAT, "03:04:00")),
    ("pd.Timestamp", pd.Timestamp("2024-01-02 03:04:05"), (CAT, "2024-01-02T03:04:05")),
    ("numpy datetime64 day", np.datetime64("2024-01-02"), (CAT, "2024-01-02")),
    (
        "numpy datetime64 ns",
        np.datetime64("2024-01-02T03:04:05.123456789"),
        (CAT, "2024-01-02T03:04:05.123456"),
    ),
    ("timedelta", dt.timedelta(minutes=1, seconds=30), (NUM, 90.0)),
    ("pd.Timedelta", pd.Timedelta("1min"), (NUM, 60.0)),
    ("numpy timedelta64", np.timedelta64(2, "s"), (NUM, 2.0)),
    ("list of str", ["a", "b"], (CATS, ["a", "b"])),
    ("tuple of bool and str", (True, "x"), (CATS, ["true", "x"])),
    ("set, sorted", {"b", "a"}, (CATS, ["a", "b"])),
    ("nulls skipped", ["a", None, math.nan], (CATS, ["a"])),
    ("distinct values, first order", ["b", "a", "b"], (CATS, ["b", "a"])),
    ("empty list", [], (NULL, None)),
    ("only nulls", [None], (NULL, None)),
    ("list of numbers", [1, 2], (INVALID, None)),
    ("list of lists", ["a", ["b"]], (INVALID, None)),
    ("too long list", ["a"] * (v.MAX_LIST_ITEMS + 1), (INVALID, None)),
    ("numpy array of str", np.array(["a", "b"]), (CATS, ["a", "b"])),
    ("Series of str", pd.Series(["a", "b"]), (CATS, ["a", "b"])),
    ("numpy array of numbers", np.array([1.0, 2.0]), (INVALID, None)),
    ("0-d array", np.array(5.0), (NUM, 5.0)),
    ("2-d array", np.zeros((2, 2)), (INVALID, None)),
    ("dict", {"a": 1}, (v.NESTED, {"a": 1})),
    ("bytes", b"red", (INVALID, None)),
    ("bytearray", bytearray(b"x"), (INVALID, None)),
    ("memoryview", memoryview(b"x"), (INVALID, None)),
    ("complex", 1 + 2j, (INVALID, None)),
    ("numpy complex", np.complex64(1), (INVALID, None)),
    ("object", object(), (INVALID, None)),
    ("object whose methods raise", Raising(), (INVALID, None)),
]


@pytest.mark.parametrize(("value", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_documented_rule(value: Any, expected: tuple[int, Any]) -> None:
    """Every row of the documented rule table types its value as the table says."""
    assert v.classify(value) == expected


def test_logged_numbers_are_plain_floats() -> None:
    """numpy and Decimal numbers come out as exact Python floats (JSON-serialisable)."""
    for value in (np.int64(1), np.float32(0.5), Decimal("2"), Fraction(1, 2), True and 3):
        kind, logged = v.classify(value)
        assert kind == NUM
        assert type(logged) is float


def test_empty_as_null_turns_empty_strings_into_nulls() -> None:
    """With empty_as_null, "" and lists of "" are null; other strings are untouched."""
    assert v.classify("", empty_as_null=True) == (NULL, None)
    assert v.classify([""], empty_as_null=True) == (NULL, None)
    assert v.classify("a", empty_as_null=True) == (CAT, "a")


def test_str_subclass_comes_out_as_exact_str() -> None:
    """A str subclass is logged as a plain str (so the encoder accepts it)."""

    class Name(str):
        def __str__(self) -> str:
            return "overridden"

    kind, logged = v.classify(Name("ada"))
    assert (kind, logged) == (CAT, "ada")
    assert type(logged) is str


ANY_VALUE = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.decimals(allow_nan=True, allow_infinity=True),
        st.fractions(),
        st.complex_numbers(allow_nan=True, allow_infinity=True),
        st.text(),
        st.binary(),
        st.datetimes(),
        st.dates(),
        st.timedeltas(),
        st.builds(Raising),
        st.sampled_from([pd.NA, pd.NaT, np.float32("nan"), np.int8(3), np.datetime64("NaT", "ns")]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.tuples(children, children),
        st.dictionaries(st.text(max_size=5), children, max_size=3),
    ),
    max_leaves=10,
)


@given(ANY_VALUE, st.booleans())
def test_classify_never_raises_and_returns_loggable_values(value: Any, empty_as_null: bool) -> None:
    """Any value gets a kind, and what is logged has that kind's JSON type."""
    kind, logged = v.classify(value, empty_as_null=empty_as_null)
    if kind == NUM:
        assert type(logged) is float
        assert math.isfinite(logged)
    elif kind == CAT:
        assert type(logged) is str
        assert len(logged) <= v.MAX_CATEGORY_CHARS
    elif kind == CATS:
        assert logged
        assert all(type(item) is str for item in logged)
    elif kind == v.NESTED:
        assert isinstance(logged, dict)
    else:
        assert kind in (NULL, INVALID)
        assert logged is None
