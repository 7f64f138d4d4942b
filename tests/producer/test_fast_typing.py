"""The fast typing path agrees with ``values.classify``, the one rule book."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mlmon_elk.producer import values as v
from mlmon_elk.producer.fast_typing import type_flat
from tests.producer.test_values import ANY_VALUE

FAST_PATH_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**1100), max_value=2**1100),  # beyond float too
    st.text(max_size=3),
    st.text(min_size=1020, max_size=1030),  # around the category cut
    st.booleans(),
    st.none(),
    ANY_VALUE,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(FAST_PATH_VALUES, max_size=12), st.booleans())
def test_fast_typing_equals_classify_value_by_value(values: list[Any], empty_as_null: bool) -> None:
    """The fast path's inline typing of float/str/int/bool places every value exactly where
    ``values.classify`` puts it (and a mapping sends the call to the flattening path)."""
    names = tuple(f"f{i}" for i in range(len(values)))
    num: dict[str, Any] = {}
    cat: dict[str, Any] = {}
    null: list[str] = []
    invalid: list[str] = []
    nested = False
    for name, value in zip(names, values, strict=True):
        kind, logged = v.classify(value, empty_as_null=empty_as_null)
        if kind == v.NUM:
            num[name] = logged
        elif kind in (v.CAT, v.CATS):
            cat[name] = logged
        elif kind == v.NULL:
            null.append(name)
        elif kind == v.INVALID:
            invalid.append(name)
        else:
            nested = True
    flat = type_flat(names, values, empty_as_null)
    if nested:
        assert flat is None
        return
    assert flat is not None
    got_num, got_cat, got_null, got_invalid = flat
    assert got_num == num
    assert all(type(x) is float for x in got_num.values())
    assert got_cat == cat
    assert (got_null or []) == null
    assert (got_invalid or []) == invalid
