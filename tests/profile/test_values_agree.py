"""The baseline types training values exactly as the handler types served values."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlmon_elk.contract import Kind
from mlmon_elk.producer import values as rules
from mlmon_elk.profile.values import type_column


class Tier(enum.IntEnum):
    GOLD = 1


class Colour(enum.Enum):
    RED = "red"


def _handler_view(value: Any) -> tuple[str, Any]:
    kind, logged = rules.classify(value)
    if kind == rules.NUM:
        return "num", logged
    if kind in (rules.CAT, rules.CATS):
        return "cat", tuple(logged) if kind == rules.CATS else logged
    if kind == rules.NULL:
        return "null", None
    return "none", None  # invalid, or nested (flattened by the handler only)


def _baseline_view(series: pd.Series) -> tuple[str, Any]:
    typed = type_column(series)
    if typed.null[0]:
        return "null", None
    if typed.mask(Kind.NUM)[0]:
        return "num", float(typed.number[0])
    if typed.mask(Kind.CAT)[0]:
        return "cat", typed.string[0]
    return "none", None


VALUES = [
    3,
    -2.5,
    True,
    np.float32(0.25),
    np.int64(7),
    np.bool_(False),
    Decimal("1.5"),
    Decimal("NaN"),
    float("nan"),
    float("inf"),
    None,
    pd.NA,
    Tier.GOLD,
    Colour.RED,
    dt.date(2026, 1, 2),
    dt.datetime(2026, 1, 2, 3, 4, 5),
    dt.time(12, 30),
    dt.timedelta(seconds=90),
    "x" * 2000,
    "",
    ["a", None, "b", "a"],
    [],
    ("x", True),
    [1, 2],
    b"bytes",
    {"nested": 1},
    10**400,
    object(),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_every_value_lands_where_the_handler_puts_it(value: Any) -> None:
    """Object columns of any exotic value agree with the handler's rule."""
    assert _baseline_view(pd.Series([value], dtype=object)) == _handler_view(value)


@given(st.lists(st.text(max_size=1500), min_size=1, max_size=5))
def test_string_columns_agree_including_the_length_cut(strings: list[str]) -> None:
    """The vectorised string path cuts categories at the same length as the handler."""
    typed = type_column(pd.Series(strings, dtype=object))
    assert list(typed.string) == [rules.classify(s)[1] for s in strings]
