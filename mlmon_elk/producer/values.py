"""How any Python value is typed in a prediction document (DESIGN.md §3).

One function, :func:`classify`, decides for every value where it lands: a
number (``num``), a category (``cat``), a keyword array (``cats``), null, or
invalid (the value is left out and the name recorded in ``mlmon.invalid``).
Nested mappings are reported as such; the document builder flattens them.
The table of rules is in ``docs/handler.md``; the baseline builder types
training values by the same rules, so the two sides agree.

numpy and pandas are never imported here: their values are recognised by the
module of their type and by duck typing (``shape``, ``item``, ``tolist``).
"""

from __future__ import annotations

import datetime as dt
import numbers
import sys
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from typing import Any, Final

NUM: Final = 0
"""A finite number, logged as a float under ``…num.<f>``."""
CAT: Final = 1
"""A category, logged as a string under ``…cat.<f>``."""
CATS: Final = 2
"""A list of categories, logged as a keyword array under ``…cat.<f>``."""
NULL: Final = 3
"""No value: None, NaN, ``pd.NA``, ``NaT``, an empty list (``mlmon.null``)."""
INVALID: Final = 4
"""A value that cannot be logged as such; left out (``mlmon.invalid``)."""
NESTED: Final = 5
"""A mapping; its keys become ``<key>.<subkey>`` features."""

MAX_CATEGORY_CHARS: Final = 1024
"""Longer categorical strings are cut (the index keeps at most this many characters)."""

MAX_LIST_ITEMS: Final = 256
"""Longer lists, arrays and sets are invalid rather than logged."""

_MAX_UNWRAP = 3  # .item() of .item() of ...: bounded, never recursive forever

Typed = tuple[int, Any]


def classify(value: object, *, empty_as_null: bool = False) -> Typed:
    """Type one value: ``(kind, logged value)``, never raising.

    Args:
        value: Any Python object.
        empty_as_null: Treat ``""`` (and empty lists) as null rather than as a value.

    Returns:
        ``(NUM, float)``, ``(CAT, str)``, ``(CATS, list[str])``, ``(NULL, None)``,
        ``(INVALID, None)`` or ``(NESTED, mapping)``.

    >>> classify(3), classify(True), classify(float("nan")), classify(float("inf"))
    ((0, 3.0), (1, 'true'), (3, None), (4, None))
    """
    try:
        return _classify(value, empty_as_null, 0)
    except Exception:  # a value whose methods raise is simply not loggable
        return INVALID, None


def number(value: float) -> Typed:
    """Type a Python float: finite → num, NaN → null, ±inf → invalid."""
    if value - value == 0.0:
        return NUM, value
    return (NULL, None) if value != value else (INVALID, None)  # noqa: PLR0124 - NaN


def string(value: str, empty_as_null: bool) -> Typed:
    """Type an exact ``str``: a category, cut to :data:`MAX_CATEGORY_CHARS`."""
    if not value and empty_as_null:
        return NULL, None
    return CAT, value if len(value) <= MAX_CATEGORY_CHARS else value[:MAX_CATEGORY_CHARS]


def _classify(value: Any, empty_as_null: bool, depth: int) -> Typed:
    kind = type(value)
    if kind is float:
        return number(value)
    if kind is str:
        return string(value, empty_as_null)
    if value is None:
        return NULL, None
    if kind is bool:
        return CAT, "true" if value else "false"
    if kind is int:
        return _integer(value)
    if isinstance(value, Enum):
        return _enum_member(value, empty_as_null)
    if isinstance(value, str):  # str subclasses, numpy.str_
        return string(str.__str__(value), empty_as_null)
    if isinstance(value, int):
        return _integer(int(value))
    if isinstance(value, float):
        return number(float(value))
    if isinstance(value, Decimal):
        if value.is_nan():
            return NULL, None
        return (INVALID, None) if value.is_infinite() else number(float(value))
    if isinstance(value, dt.datetime):
        return (NULL, None) if value != value else (CAT, value.isoformat())  # noqa: PLR0124 - NaT
    if isinstance(value, (dt.date, dt.time)):
        return CAT, value.isoformat()
    if isinstance(value, dt.timedelta):
        return number(value.total_seconds())
    if isinstance(value, Mapping):
        return NESTED, value
    if isinstance(value, (bytes, bytearray, memoryview, complex)):
        return INVALID, None
    if isinstance(value, (list, tuple, set, frozenset)):
        return _sequence(value, empty_as_null, sort=isinstance(value, (set, frozenset)))
    module = kind.__module__
    if module == "numpy" or module.startswith("numpy."):
        return _numpy(value, empty_as_null, depth)
    if module.startswith("pandas") and kind.__name__ in ("NAType", "NaTType"):
        return NULL, None
    if isinstance(value, numbers.Real):  # fractions.Fraction and friends
        return number(float(value))
    return _array_like(value, empty_as_null, depth)


def _integer(value: int) -> Typed:
    try:
        return NUM, float(value)
    except OverflowError:
        return INVALID, None


def _enum_member(member: Enum, empty_as_null: bool) -> Typed:
    value = member.value
    if value is None:
        return NULL, None
    if isinstance(value, bool):
        return CAT, "true" if value else "false"
    if isinstance(value, str):
        return string(str.__str__(value), empty_as_null)
    return string(str(value), empty_as_null)


def _sequence(items: Any, empty_as_null: bool, *, sort: bool = False) -> Typed:
    if len(items) > MAX_LIST_ITEMS:
        return INVALID, None
    out: list[str] = []
    for item in items:
        kind, logged = _classify(item, empty_as_null, _MAX_UNWRAP)
        if kind == CAT:
            out.append(logged)
        elif kind != NULL:  # numbers, nested lists or dicts: not a list of categories
            return INVALID, None
    if not out:
        return NULL, None
    if sort:
        out.sort()
    # Distinct values, as Elasticsearch counts a document once per value it holds.
    return CATS, list(dict.fromkeys(out))


def _numpy(value: Any, empty_as_null: bool, depth: int) -> Typed:
    np = sys.modules.get("numpy")
    if np is None:  # pragma: no cover - a numpy value without numpy imported
        return INVALID, None
    if isinstance(value, np.ndarray):
        return _array_like(value, empty_as_null, depth)
    if isinstance(value, np.bool_):
        return CAT, "true" if value else "false"
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return NULL, None
        item = value.item()
        if isinstance(item, int):  # finer than microseconds: Python's datetime cannot hold it
            item = value.astype("datetime64[us]").item()
        return (CAT, item.isoformat()) if isinstance(item, dt.date) else (INVALID, None)
    if isinstance(value, np.timedelta64):
        if np.isnat(value):
            return NULL, None
        return number(float(value / np.timedelta64(1, "s")))
    if isinstance(value, (np.integer, np.floating)):  # after timedelta64, an integer subclass
        return number(float(value))
    return INVALID, None  # complex, bytes_, void (structured) scalars


def _array_like(value: Any, empty_as_null: bool, depth: int) -> Typed:
    """Tensors, arrays, Series: 0-d ones are scalars, 1-d ones lists."""
    shape = getattr(value, "shape", None)
    if not isinstance(shape, tuple) or depth >= _MAX_UNWRAP:
        return INVALID, None
    if shape == ():
        return _classify(value.item(), empty_as_null, depth + 1)
    if len(shape) == 1 and shape[0] <= MAX_LIST_ITEMS and hasattr(value, "tolist"):
        return _sequence(value.tolist(), empty_as_null)
    return INVALID, None
