"""Values are typed by the handler's rule, column by column."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

import numpy as np
import pandas as pd

from mlmon_elk.contract import Kind
from mlmon_elk.profile.values import coerce, number_to_category, type_column


class Color(enum.Enum):
    RED = "red"


def test_mixed_object_column_follows_the_table() -> None:
    """bool → cat, numbers → num, None/NaN → null, ±inf → invalid, enum/date → cat, list → array."""
    values = pd.Series(
        [
            True,
            3,
            Decimal("2.5"),
            None,
            float("nan"),
            float("inf"),
            Color.RED,
            dt.date(2024, 1, 2),
            ["a", "b", "a"],
            b"raw",
            "x",
        ],
        dtype=object,
    )
    t = type_column(values)
    assert t.kind_counts() == {Kind.NUM: 2, Kind.CAT: 5}
    assert list(t.string[[0, 6, 7, 8, 10]]) == ["true", "red", "2024-01-02", ("a", "b"), "x"]
    assert list(t.null) == [False, False, False, True, True] + [False] * 6
    assert t.kind[5] == -1  # inf: carried, but no value
    assert t.kind[9] == -1  # bytes: invalid
    assert t.present.all()


def test_typed_columns_fast_paths() -> None:
    """Numeric, bool, datetime and string dtypes are typed without a Python loop."""
    assert type_column(pd.Series([1.0, np.nan, np.inf])).kind_counts() == {Kind.NUM: 1}
    flags = type_column(pd.Series([True, False]))
    assert list(flags.string) == ["true", "false"]
    stamps = type_column(pd.Series(pd.to_datetime(pd.Series(["2024-01-02 03:04:05", None]))))
    assert stamps.string[0] == "2024-01-02T03:04:05"
    assert stamps.null[1]
    text = type_column(pd.Series(["a b", "", None], dtype="string"), text=True, empty_as_null=True)
    assert text.kind_counts() == {Kind.TEXT: 1}
    assert list(text.null) == [False, True, True]


def test_absent_rows_are_neither_present_nor_null() -> None:
    """A key the request did not carry is not present, and not null either."""
    t = type_column(pd.Series([1.0, np.nan, 3.0]), absent=np.array([False, True, False]))
    assert list(t.present) == [True, False, True]
    assert not t.null.any()


def test_coerce_numbers_to_categories_and_back() -> None:
    """Overrides: 12.0 → "12", 2.5 → "2.5"; numeric strings → numbers; others keep their kind."""
    cat = coerce(type_column(pd.Series([12.0, 2.5])), Kind.CAT)
    assert list(cat.string) == ["12", "2.5"]
    num = coerce(type_column(pd.Series(["7", "x"])), Kind.NUM)
    assert num.number[0] == 7.0
    assert num.kind_counts() == {Kind.NUM: 1, Kind.CAT: 1}
    assert number_to_category(-3.0) == "-3"
