"""Decode one model's JSON lines with the native reader into counted columns (pure).

The same job as :class:`~mlmon_elk.profile.lines.LineSchema`, done by the
optional native module ``mlmon_elk_native`` (Rust, in ``native/``): each line
is decoded in one pass into plain arrays — numbers as doubles, keywords and
tokens as codes into a chunk's table of distinct strings — so no Python object
is made per value, and keywords and tokens are counted with ``bincount`` over
their codes. A line outside the shapes the handler writes comes back as a
*misfit* and is decoded whole and counted by the exact, dict-reading path, as
:class:`LineSchema` does with the lines its typed schema does not fit; so a
chunk counts the same whichever reader decoded it.

Without the native module (a platform without a build, a machine without
Rust), :func:`line_schema` gives the Python reader: the same counts at about
half the rate.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from importlib import import_module
from types import ModuleType
from typing import Any

import numpy as np

from mlmon_elk.contract import KEYWORD_IGNORE_ABOVE
from mlmon_elk.json_lines import json_objects
from mlmon_elk.profile.baseline import ModelBaselines
from mlmon_elk.profile.lines import Decoded, LineSchema, counted_names, list_totals
from mlmon_elk.profile.records import Selected, select

NATIVE_MODULE = "mlmon_elk_native"
DISABLE_VARIABLE = "MLMON_NATIVE_READER"
"""Set to ``0`` to read with the Python reader although the native one is installed."""

_NONE = np.uint32(0xFFFFFFFF)
""""No value" in a code column."""


def native_module() -> ModuleType | None:
    """The native reader's module, or ``None`` where it is not installed or is turned off."""
    if os.environ.get(DISABLE_VARIABLE, "1") == "0":
        return None
    try:
        return import_module(NATIVE_MODULE)
    except ImportError:
        return None


def line_schema(model: ModelBaselines) -> NativeSchema | LineSchema:
    """The fastest reader of ``model``'s lines available here."""
    module = native_module()
    return LineSchema(model) if module is None else NativeSchema(model, module)


class NativeSchema:
    """The native decoder of one model's prediction lines (built once per fetch)."""

    def __init__(
        self, model: ModelBaselines, module: ModuleType, *, parts: int | None = None
    ) -> None:
        """``parts``: threads a chunk is decoded on (default: one per core, up to four,
        each with at least a thousand lines)."""
        self.model = model.model
        self.parts = parts
        inputs, outputs, categorical = counted_names(model)
        self.groups = {
            "inputs": _GroupNames(inputs, tuple(n for n in inputs if n in categorical)),
            "outputs": _GroupNames(outputs, tuple(n for n in outputs if n in categorical)),
        }
        self._schema = module.Schema(
            model.model,
            list(inputs),
            list(outputs),
            list(self.groups["inputs"].keywords),
            list(self.groups["outputs"].keywords),
        )

    def decode(self, lines: Sequence[bytes]) -> Decoded:
        """The model's predictions among ``lines``: the native reader's columns, the misfit
        lines decoded whole (dicts), and the count of lines that are no JSON object."""
        block = self._schema.decode(lines if isinstance(lines, list) else list(lines), self.parts)
        whole, bad = json_objects(lines[i] for i in block.misfits)
        columns = _Columns(block, self.groups)
        version_table = np.array(block.version_table(), dtype=object)
        versions = version_table[np.frombuffer(block.versions(), dtype=np.uint32)].tolist()
        stamps = np.frombuffer(block.stamps(), dtype=np.int64)
        typed = Selected(
            range(columns.rows), stamps, np.ones(columns.rows, dtype=bool), versions, columns.chunk
        )
        return Decoded(typed, select(whole, self.model), bad)


class _GroupNames:
    """A group's numeric columns (every feature) and keyword columns (the categorical ones)."""

    def __init__(self, names: tuple[str, ...], keywords: tuple[str, ...]) -> None:
        self.names = {n: i for i, n in enumerate(names)}
        self.keywords = {n: i for i, n in enumerate(keywords)}


class _Columns:
    """One chunk's columns as numpy arrays over the native block's buffers (read-only)."""

    def __init__(self, block: Any, groups: dict[str, _GroupNames]) -> None:
        self.rows: int = block.rows
        self.groups = groups
        n = self.rows
        self.latency = np.frombuffer(block.latency(), dtype=np.float64)
        self.failures = np.frombuffer(block.failures(), dtype=np.uint8)
        self.numbers = {
            group: np.frombuffer(block.numbers(group == "outputs"), dtype=np.float64).reshape(
                len(names.names), n
            )
            for group, names in groups.items()
        }
        self.keywords = {
            group: np.frombuffer(block.keywords(group == "outputs"), dtype=np.uint32).reshape(
                len(names.keywords), n
            )
            for group, names in groups.items()
        }
        self.keyword_table: list[str] = block.keyword_table()
        count_rows, count_inputs, count_values = block.token_counts()
        self.count_rows = np.frombuffer(count_rows, dtype=np.uint32)
        self.count_inputs = np.frombuffer(count_inputs, dtype=np.uint32)
        self.count_values = np.frombuffer(count_values, dtype=np.float64)
        token_rows, token_inputs, token_codes = block.tokens()
        self.token_rows = np.frombuffer(token_rows, dtype=np.uint32)
        self.token_inputs = np.frombuffer(token_inputs, dtype=np.uint32)
        self.token_codes = np.frombuffer(token_codes, dtype=np.uint32)
        self.token_table: list[str] = block.token_table()
        self.token_lengths = np.fromiter(
            map(len, self.token_table), dtype=np.int64, count=len(self.token_table)
        )
        self.lists = {
            "present": np.frombuffer(block.lists(False), dtype=np.uint32),
            "null": np.frombuffer(block.lists(True), dtype=np.uint32),
        }
        self.list_table: list[str] = block.list_table()

    def chunk(self, rows: Sequence[int]) -> NativeChunk:
        return NativeChunk(self, rows)


class NativeChunk:
    """A :class:`~mlmon_elk.profile.records.Chunk` of some rows of a natively decoded chunk."""

    def __init__(self, columns: _Columns, rows: Sequence[int]) -> None:
        self.columns = columns
        self.n = len(rows)
        # Rows are distinct and ordered: as many as the chunk holds means all of them.
        self.rows = None if self.n == columns.rows else np.asarray(rows, dtype=np.intp)

    def __len__(self) -> int:
        return self.n

    def _take(self, column: np.ndarray) -> np.ndarray:
        return column if self.rows is None else column[self.rows]

    def failures(self) -> int:
        return int(np.count_nonzero(self._take(self.columns.failures)))

    def numbers(self, *path: str) -> np.ndarray:
        c = self.columns
        if path == ("latency_ms",):
            return self._take(c.latency)
        if len(path) == 3 and path[1] == "num" and path[0] in c.groups:
            index = c.groups[path[0]].names.get(path[2])
            if index is None:
                return np.full(self.n, np.nan)
            return self._take(c.numbers[path[0]][index])
        if len(path) == 2 and path[0] == "token_count":
            column = np.full(c.rows, np.nan)
            index = c.groups["inputs"].names.get(path[1])
            if index is not None:
                mine = c.count_inputs == index
                column[c.count_rows[mine]] = c.count_values[mine]
            return self._take(column)
        return np.full(self.n, np.nan)  # a field the native reader does not keep

    def keyword_totals(
        self, *path: str, limit: int | None = KEYWORD_IGNORE_ABOVE
    ) -> tuple[Counter[str], int]:
        c = self.columns
        if len(path) == 3 and path[1] == "cat" and path[0] in c.groups:
            codes = self._keyword_codes(path[0], path[2])
            if codes is None:
                return Counter(), 0
            found = np.bincount(codes[codes != _NONE], minlength=len(c.keyword_table))
            counts = Counter(
                {
                    value: int(found[code])
                    for code in np.flatnonzero(found).tolist()
                    if limit is None or len(value := c.keyword_table[code]) <= limit
                }
            )
            return counts, counts.total()  # one value per document
        if len(path) == 2 and path[0] == "tokens":
            rows, codes = self._tokens(path[1])
            if limit is not None:  # tokens longer than the limit are not indexed
                indexed = c.token_lengths[codes] <= limit
                rows, codes = rows[indexed], codes[indexed]
            found = np.bincount(codes, minlength=len(c.token_table))
            counts = Counter(
                {c.token_table[i]: int(found[i]) for i in np.flatnonzero(found).tolist()}
            )
            # Entries come in row order: the documents are the row changes.
            documents = int(np.count_nonzero(np.diff(rows))) + 1 if len(rows) else 0
            return counts, documents
        return Counter(), 0  # a field the native reader does not keep

    def name_totals(self, name: str) -> Counter[str]:
        c = self.columns
        codes = self._take(c.lists[name])
        found = np.bincount(codes[codes != _NONE], minlength=len(c.list_table))
        return list_totals((c.list_table[i], int(found[i])) for i in np.flatnonzero(found).tolist())

    def _keyword_codes(self, group: str, name: str) -> np.ndarray | None:
        c = self.columns
        index = c.groups[group].keywords.get(name)
        return None if index is None else self._take(c.keywords[group][index])

    def _tokens(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The rows and codes of the input ``name``'s tokens among this chunk's rows."""
        c = self.columns
        index = c.groups["inputs"].names.get(name)
        if index is None:
            return np.empty(0, dtype=np.uint32), np.empty(0, dtype=np.uint32)
        mine = c.token_inputs == index
        if self.rows is not None:
            kept = np.zeros(c.rows, dtype=bool)
            kept[self.rows] = True
            mine &= kept[c.token_rows]
        return c.token_rows[mine], c.token_codes[mine]
