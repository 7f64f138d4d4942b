"""A decoded document's values as Elasticsearch's index sees them (pure).

The record counter (:mod:`mlmon_elk.profile.records`) reads chunks of decoded
JSON documents through these, so that it counts what the aggregations count:
a keyword array counts once per distinct value, values longer than the
keyword ``ignore_above`` are not indexed, JSON ``null`` is no value, and a
numeric field coerces numeric strings.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from mlmon_elk.contract import KEYWORD_IGNORE_ABOVE


class Columns:
    """Values at ``mlmon.<path...>`` of a chunk's documents, one list per path.

    The reading side of counting: it turns parsed documents into columns with
    C-level lookups (``itemgetter`` over documents sharing their keys, as the
    handler's documents of one model do), leaving the per-kind counting to
    work on whole columns.
    """

    def __init__(self, mlmon: Sequence[Mapping[str, Any]]) -> None:
        self.mlmon = mlmon
        self.groups: dict[tuple[str, ...], dict[str, Sequence[Any]]] = {}

    def values(self, *path: str) -> Sequence[Any]:
        """The value at ``mlmon.<path...>`` of every document (``None`` where absent)."""
        *group, name = path
        key = tuple(group)
        if key not in self.groups:
            self.groups[key] = transpose([dig(m, key) for m in self.mlmon])
        found = self.groups[key].get(name)
        return found if found is not None else absent(len(self.mlmon))


class _Absent(tuple[None, ...]):
    """A column no document of the chunk has (a feature of another kind): all ``None``."""


@functools.lru_cache(maxsize=8)
def absent(n: int) -> Sequence[None]:
    """A column of ``n`` documents none of which has the value (read without a scan)."""
    return _Absent((None,) * n)


def transpose(records: Sequence[Mapping[str, Any]]) -> dict[str, Sequence[Any]]:
    """Columns of ``records`` by key, ``None`` where a record lacks the key."""
    names = list(set().union(*records))
    if not names:
        return {}
    width = len(names)
    if width == 1:
        return {names[0]: [r.get(names[0]) for r in records]}
    # A record with as many keys as the union has them all: one C-level lookup.
    whole = itemgetter(*names)
    rows = [whole(r) if len(r) == width else tuple(map(r.get, names)) for r in records]
    return dict(zip(names, zip(*rows, strict=True), strict=True))


def numbers(values: Sequence[Any]) -> np.ndarray:
    """``values`` as floats the way a numeric field coerces them; NaN for what is no number."""
    if isinstance(values, _Absent):
        return np.full(len(values), np.nan)
    try:  # plain JSON numbers and nulls (the usual case) convert in C
        x = np.array(values, dtype=float)
        if x.ndim == 1 and len(x) == len(values):
            return x
    except (ValueError, TypeError):
        pass
    series = pd.Series(list(values), dtype=object)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def dig(mapping: Mapping[str, Any], path: Sequence[str]) -> Mapping[str, Any]:
    """The object at ``path`` in ``mapping`` (empty where a step is missing or no object)."""
    for key in path:
        inner = mapping.get(key)
        if not isinstance(inner, Mapping):
            return {}
        mapping = inner
    return mapping


def keyword_pairs(items: Sequence[Any], *, limit: int | None = KEYWORD_IGNORE_ABOVE) -> pd.Series:
    """A keyword field's indexed values: one entry per (row, distinct value), indexed by row.

    As Elasticsearch indexes them: arrays give one value per distinct element,
    ``null`` and empty arrays give none, values longer than ``limit`` characters
    are not indexed, and JSON booleans and numbers become their text.
    """
    if isinstance(items, _Absent):
        return pd.Series([], dtype=object)
    kinds = set(map(type, items))
    if kinds <= {str, type(None)}:  # plain strings: no per-value conversion needed
        given = np.array(items, dtype=object)
        rows = np.flatnonzero(given != None) if type(None) in kinds else np.arange(len(given))  # noqa: E711
        return _within_limit(pd.Series(given[rows], index=rows, dtype=object), limit)
    column = pd.Series(list(items), dtype=object)
    values = column[column.notna()]
    if values.empty:
        return pd.Series([], dtype=object)
    if values.dtype == bool:
        return values.map({True: "true", False: "false"}).astype(object)
    arrays = False
    # infer_dtype scans in C: the per-value Python paths run only for arrays
    # and for values that are not strings (rare in real documents).
    if values.dtype == object and infer_dtype(values, skipna=True) != "string":
        arrays = bool(values.map(_is_list).any())
        if arrays:
            values = values.explode()
            values = values[values.notna()]
        if infer_dtype(values, skipna=True) != "string":
            odd = ~values.map(_is_str).to_numpy(dtype=bool)
            values = values.where(~odd, values[odd].map(keyword))
    strings = values if isinstance(values.dtype, pd.StringDtype) else values.astype(str)
    if limit is not None:
        strings = strings[strings.str.len().le(limit).to_numpy(dtype=bool)]
    if arrays:
        pairs = pd.DataFrame({"row": strings.index, "value": strings.to_numpy()})
        strings = strings[~pairs.duplicated().to_numpy()]
    return strings


def keyword_totals(
    items: Sequence[Any], limit: int | None = KEYWORD_IGNORE_ABOVE
) -> tuple[Counter[str], int]:
    """A keyword field's indexed values counted over documents, and the documents with any.

    The same values as :func:`keyword_pairs`, counted without materialising
    the (document, value) pairs when the documents hold plain strings (a
    categorical column) or arrays of plain strings (the ``present`` lists and
    token lists, tens of values per document).
    """
    if isinstance(items, _Absent):
        return Counter(), 0
    counts: Counter[Any] | None = None
    documents = 0
    try:
        counts = Counter(items)  # a scalar column; arrays are unhashable
    except TypeError:
        if set(map(type, items)) <= {list, type(None)}:
            counts, documents = _array_totals(items)
        scalars = False
    else:
        counts.pop(None, None)
        scalars = True  # one value per document: each value's count is its documents'
    if counts is not None and set(map(type, counts)) <= {str}:
        long = [] if limit is None else [v for v in counts if len(v) > limit]
        if scalars:
            for value in long:  # not indexed: as if the document had no value
                del counts[value]
            return counts, counts.total()
        if not long:
            return counts, documents
    pairs = keyword_pairs(items, limit=limit)
    return Counter(pairs.tolist()), pairs.index.nunique()


_SAMPLE = 64
"""Arrays looked at to tell repeated lists (names) from mostly distinct ones (tokens)."""


def _array_totals(items: Sequence[Any]) -> tuple[Counter[str] | None, int]:
    """Documents per distinct element of arrays (``None`` if an element is unhashable), and
    the documents with a non-empty array."""
    arrays = [array for array in items if array]
    try:
        counts: Counter[str] = Counter()
        sample = arrays[:_SAMPLE]
        if len(set(map(tuple, sample))) * 2 <= len(sample):
            # Documents of one model mostly repeat a few arrays (the present
            # names): count each distinct array once, weighted by its documents.
            for array, documents in Counter(map(tuple, arrays)).items():
                for value in dict.fromkeys(array):
                    counts[value] += documents
        else:  # mostly distinct arrays (tokens): every document's values, in C
            counts.update(chain.from_iterable(map(dict.fromkeys, arrays)))
    except TypeError:  # an unhashable element: a nested array or object
        return None, 0
    return counts, len(arrays)


def _within_limit(strings: pd.Series, limit: int | None) -> pd.Series:
    """The strings Elasticsearch indexes: at most ``limit`` characters (``ignore_above``)."""
    if limit is None or strings.empty:
        return strings
    lengths = np.fromiter(map(len, strings.to_numpy()), dtype=np.int64, count=len(strings))
    return strings if lengths.max() <= limit else strings[lengths <= limit]


def _is_list(value: object) -> bool:
    return type(value) is list


def _is_str(value: object) -> bool:
    return type(value) is str


def keyword(item: object) -> str:
    # How Elasticsearch indexes a JSON scalar into a keyword field.
    if isinstance(item, bool):
        return "true" if item else "false"
    return str(item)
