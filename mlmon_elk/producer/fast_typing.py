"""The fast typing path: the usual flat values of a serving app, placed inline.

:func:`values.classify <mlmon_elk.producer.values.classify>` is the one rule
book; this path only short-cuts the commonest types (exact floats, non-empty
strings, ints, bools) and hands everything else to it, so both give the same
result (``tests/producer/test_fast_typing.py`` holds them to it). Kept apart
because it runs once per prediction value: a function call less here is a few
percent of the handler's cost.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from mlmon_elk.producer import values as v

Flat = tuple[dict[str, float], dict[str, Any], list[str] | None, list[str] | None]
"""``num``, ``cat``, ``null`` and ``invalid`` of the values of one key set."""


def type_flat(names: tuple[str, ...], values: Collection[Any], empty_as_null: bool) -> Flat | None:
    """Type ``values`` (named ``names``, in order) without text inputs or privacy rules.

    Returns None when a value is a mapping: the caller flattens it instead.
    """
    # First pass: floats are taken as they are and checked all at once — the sum of
    # finite floats is finite unless it overflows, and a NaN or infinity makes it NaN
    # or infinite — so the usual all-finite call skips one check per value; any
    # other call is typed again value by value, which keeps null/invalid in order.
    num: dict[str, float] = {}
    cat: dict[str, Any] = {}
    max_chars = v.MAX_CATEGORY_CHARS
    for name, value in zip(names, values):  # noqa: B905 - names and values of one mapping
        kind = type(value)
        if kind is float:
            num[name] = value
        elif kind is str:
            if value and len(value) <= max_chars:
                cat[name] = value
            else:
                return type_flat_checked(names, values, empty_as_null)
        elif kind is int:
            try:
                num[name] = float(value)
            except OverflowError:
                return type_flat_checked(names, values, empty_as_null)
        elif kind is bool:
            cat[name] = "true" if value else "false"
        else:
            return type_flat_checked(names, values, empty_as_null)
    total = sum(num.values())
    if total - total == 0.0:
        return num, cat, None, None
    return type_flat_checked(names, values, empty_as_null)


def type_flat_checked(
    names: tuple[str, ...], values: Iterable[Any], empty_as_null: bool
) -> Flat | None:
    """:func:`type_flat` value by value: nulls, invalid values and anything unusual.

    Its first pass is also inlined in ``DocumentBuilder.usual_line``, which comes
    here when that pass gives up; the property tests hold both to this function.
    """
    num: dict[str, float] = {}
    cat: dict[str, Any] = {}
    null: list[str] | None = None
    invalid: list[str] | None = None
    max_chars = v.MAX_CATEGORY_CHARS
    for name, value in zip(names, values, strict=False):
        kind = type(value)
        if kind is float:
            if value - value == 0.0:
                num[name] = value
                continue
            typed = v.number(value)
        elif kind is str:
            if value and len(value) <= max_chars:
                cat[name] = value
                continue
            typed = v.string(value, empty_as_null)
        elif kind is int:
            try:
                num[name] = float(value)
                continue
            except OverflowError:
                typed = v.INVALID, None
        elif kind is bool:
            cat[name] = "true" if value else "false"
            continue
        else:
            typed = v.classify(value, empty_as_null=empty_as_null)
        code, logged = typed
        if code == v.NUM:
            num[name] = logged
        elif code == v.CAT or code == v.CATS:  # noqa: PLR1714 - two ints, no set needed
            cat[name] = logged
        elif code == v.NULL:
            if null is None:
                null = []
            null.append(name)
        elif code == v.INVALID:
            if invalid is None:
                invalid = []
            invalid.append(name)
        else:
            return None  # a mapping: flattened by the slow path
    return num, cat, null, invalid
