"""Type a column of raw values exactly as the handler types one value (the brief's table).

The baseline builder and the DataFrame window path both go through
:func:`type_column`, so training data and served requests land in the same
typed paths:

* ``bool`` / ``numpy.bool_`` → cat ``"true"`` / ``"false"``;
* finite ``int``, ``float``, numpy numbers, ``Decimal`` → num;
* ``None``, NaN, ``pd.NA``, ``NaT`` → null (and ``""`` too with ``empty_as_null``);
* ±inf → *invalid*: the key was carried, the value is left out;
* ``str`` → text when the feature is declared text, cat otherwise (categories
  cut to 1,024 characters); enums by their value; ``datetime`` / ``date`` →
  cat ISO-8601;
* lists / tuples of strings or bools → a categorical array (one value per
  distinct element);
* anything else: :func:`mlmon_elk.producer.values.classify`, the handler's own rule,
  decides (bytes and objects → invalid; nested mappings → invalid here, since
  only the handler flattens them).

Overrides (:func:`coerce`) turn numbers into categories (``12`` → ``"12"``,
``2.5`` → ``"2.5"``) or numeric strings into numbers; the serving app must then
send the same representation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from mlmon_elk.contract import Kind
from mlmon_elk.producer import values as rules

NO_VALUE = -1
"""Row code of :attr:`TypedColumn.kind` for absent, null and invalid values."""

_KIND_CODE = {Kind.NUM: 0, Kind.CAT: 1, Kind.TEXT: 2}
KIND_OF_CODE = {v: k for k, v in _KIND_CODE.items()}


@dataclass(frozen=True, slots=True)
class TypedColumn:
    """One column typed row by row (all arrays have one entry per row)."""

    present: NDArray[np.bool_]
    """The row carried the key (null values included)."""
    null: NDArray[np.bool_]
    """The row carried the key with a null value."""
    kind: NDArray[np.int8]
    """Code of the typed path the value lands in (``NO_VALUE`` for none)."""
    number: NDArray[np.float64]
    """The numeric value where ``kind`` is num, NaN elsewhere."""
    string: NDArray[np.object_]
    """The string (or tuple of strings, for arrays) where ``kind`` is cat or
    text, ``None`` elsewhere."""
    has_arrays: bool = False
    """Some value is an array (a tuple in ``string``)."""

    def __len__(self) -> int:
        return int(self.present.size)

    def mask(self, kind: Kind) -> NDArray[np.bool_]:
        return np.asarray(self.kind == _KIND_CODE[kind])

    def kind_counts(self) -> dict[Kind, int]:
        counts = np.bincount(self.kind[self.kind >= 0], minlength=3)
        return {KIND_OF_CODE[i]: int(c) for i, c in enumerate(counts) if c}


def type_column(
    values: pd.Series,
    *,
    text: bool = False,
    empty_as_null: bool = False,
    absent: NDArray[np.bool_] | None = None,
) -> TypedColumn:
    """Type every value of ``values`` by the handler's rule.

    Args:
        values: one feature's raw values, one row each.
        text: strings are free text (``mlmon.inputs.text``) rather than categories.
        empty_as_null: empty strings count as null (the handler option of the same name).
        absent: rows whose request did not carry the key at all (a DataFrame
            cannot say so by itself); their values are ignored.
    """
    n = len(values)
    present = np.ones(n, dtype=bool) if absent is None else ~np.asarray(absent, dtype=bool)
    s = values.reset_index(drop=True)
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    str_code = _KIND_CODE[Kind.TEXT] if text else _KIND_CODE[Kind.CAT]
    kind = np.full(n, NO_VALUE, dtype=np.int8)
    number = np.full(n, np.nan)
    string = np.full(n, None, dtype=object)
    arrays = False

    if pd.api.types.is_bool_dtype(s.dtype):
        null = s.isna().to_numpy().copy()
        ok = ~null
        flags = s.to_numpy(dtype=object)[ok].astype(bool)
        string[ok] = np.where(flags, "true", "false")
        kind[ok] = _KIND_CODE[Kind.CAT]
    elif pd.api.types.is_numeric_dtype(s.dtype):
        x = s.to_numpy(dtype=float, na_value=np.nan)
        null = np.isnan(x)
        finite = np.isfinite(x)
        number[finite] = x[finite]
        kind[finite] = _KIND_CODE[Kind.NUM]
    elif pd.api.types.is_datetime64_any_dtype(s.dtype):
        null = s.isna().to_numpy().copy()
        ok = ~null
        string[ok] = np.array([t.isoformat() for t in s[ok]], dtype=object)
        kind[ok] = _KIND_CODE[Kind.CAT]
    elif pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
        null = s.isna().to_numpy().copy()
        raw = s.to_numpy(dtype=object)
        if empty_as_null:
            null = null | s.eq("").fillna(value=False).to_numpy(dtype=bool)
        ok = ~null
        if not text and (s.str.len() > rules.MAX_CATEGORY_CHARS).any():
            # Categories are cut as the handler cuts them (the index keeps no more).
            raw = np.array(
                [rules.string(x, empty_as_null)[1] if type(x) is str else x for x in raw],
                dtype=object,
            )
        string[ok] = raw[ok]
        kind[ok] = str_code
    else:
        null = np.zeros(n, dtype=bool)
        for i, v in enumerate(s.to_numpy(dtype=object)):
            code, value = _type_one(v, str_code, empty_as_null)
            if code == _NULL:
                null[i] = True
            elif code == _KIND_CODE[Kind.NUM]:
                kind[i], number[i] = code, value
            elif code != NO_VALUE:
                kind[i], string[i] = code, value
                arrays = arrays or isinstance(value, tuple)
    kind[~present] = NO_VALUE
    number[~present] = np.nan
    string[~present] = None
    return TypedColumn(present, null & present, kind, number, string, arrays)


_NULL = -2

_CLASSIFIED = {
    rules.NUM: _KIND_CODE[Kind.NUM],
    rules.CAT: _KIND_CODE[Kind.CAT],
    rules.CATS: _KIND_CODE[Kind.CAT],
}


def _type_one(value: Any, str_code: int, empty_as_null: bool) -> tuple[int, Any]:
    """(kind code, value) of one Python value by the handler's own rule
    (:func:`mlmon_elk.producer.values.classify`); ``_NULL`` or ``NO_VALUE`` for none.

    Nested mappings are invalid here: only the handler flattens them (into
    ``<key>_<subkey>`` features), a training column holds one feature.
    """
    kind, logged = rules.classify(value, empty_as_null=empty_as_null)
    if kind == rules.NULL:
        return _NULL, None
    if kind == rules.CATS:
        return _CLASSIFIED[kind], tuple(logged)
    if kind == rules.CAT and type(value) is str:  # a plain string may be declared text
        return str_code, value if str_code == _KIND_CODE[Kind.TEXT] else logged
    code = _CLASSIFIED.get(kind, NO_VALUE)
    return code, logged if code != NO_VALUE else None


def coerce(column: TypedColumn, kind: Kind) -> TypedColumn:
    """Retype a column to a declared ``kind`` (a baseline override).

    Numbers become category strings (integral values without ``.0``); numeric
    strings become numbers; strings become text or categories. Values that
    cannot be converted keep their kind (and show as ``type_mismatch``).
    """
    k = column.kind.copy()
    number = column.number.copy()
    string = column.string.copy()
    num = k == _KIND_CODE[Kind.NUM]
    strings = (k == _KIND_CODE[Kind.CAT]) | (k == _KIND_CODE[Kind.TEXT])
    scalar = strings & np.array([isinstance(v, str) for v in string], dtype=bool)
    if kind is Kind.NUM:
        parsed = pd.to_numeric(pd.Series(string[scalar]), errors="coerce").to_numpy(dtype=float)
        rows = np.flatnonzero(scalar)[np.isfinite(parsed)]
        number[rows] = parsed[np.isfinite(parsed)]
        string[rows] = None
        k[rows] = _KIND_CODE[Kind.NUM]
    else:
        code = _KIND_CODE[kind]
        k[scalar] = code
        if kind is Kind.CAT:
            k[strings] = code
            string[num] = np.array([number_to_category(x) for x in number[num]], dtype=object)
            number[num] = np.nan
            k[num] = code
    return TypedColumn(column.present, column.null, k, number, string, column.has_arrays)


def number_to_category(x: float) -> str:
    """The category string of a number: ``12.0`` → ``"12"``, ``2.5`` → ``"2.5"``."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 2**53 else repr(float(x))
