"""Decode one model's JSON lines straight into the fields its window is counted from (pure).

The fast path of the record counter (:mod:`mlmon_elk.profile.records`). A
typed schema is built from the model's baselines: only the fields a window is
counted from, each with the one JSON type the handler writes there (a number
under ``num``, a string under ``cat``, a list of strings for ``tokens`` and the
name lists). msgspec decodes a line into it in C, skipping every other field
without building it; this is about twice the rate of decoding whole documents
into dicts, where most of a window's time went.

A line the schema does not fit — a string under ``num`` (a numeric field
coerces it), a number or an array under ``cat`` (a keyword field indexes it as
text, an array once per distinct value), a keyword of a feature the baselines
do not call categorical, a category outside a closed vocabulary, anything
unusual — is decoded whole
with orjson and counted by the exact, dict-reading path. Both paths end in the
same column readers (:mod:`mlmon_elk.profile.counting.documents`), so a chunk
counts the same whichever path each line took; only the speed differs.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, groupby
from operator import attrgetter
from typing import Any, Literal

import msgspec
import numpy as np
from msgspec.structs import astuple

from mlmon_elk.contract import KEYWORD_IGNORE_ABOVE, Dataset, Role
from mlmon_elk.json_lines import json_objects
from mlmon_elk.profile.baseline import ModelBaselines
from mlmon_elk.profile.counting.documents import absent, keyword_totals, numbers, transpose
from mlmon_elk.profile.records import Selected, parse_stamps, select

_Names = tuple[str, ...]


def _group(
    title: str,
    names: Iterable[str],
    kind: Any,
    missing: Any = None,
    kinds: Mapping[str, Any] | None = None,
) -> type[msgspec.Struct]:
    """A struct of optional ``kind`` fields named ``names`` in JSON (``f<i>`` in Python, so
    any feature name works), ``missing`` where a document has no such field.

    With ``kinds``, each name has its own kind, and a name outside it accepts only null:
    a value there does not fit, and its line is decoded whole."""
    fields = [
        (
            f"f{i}",
            kind | None if kinds is None else kinds[name] | None if name in kinds else None,
            msgspec.field(default=missing, name=name),
        )
        for i, name in enumerate(names)
    ]
    return msgspec.defstruct(title, fields, gc=False)


def _keyword_kinds(model: ModelBaselines) -> dict[str, Any]:
    """The keyword type of each categorical feature: one of its training categories when
    every baseline calls its vocabulary closed and complete, any string otherwise.

    A closed vocabulary's values decode to the shared category strings (no string
    made, freed and hashed per value: a third of a keyword column's cost); a value
    outside it (unseen, rare by the baseline's measure) sends its line to the exact path.
    """
    vocabularies: dict[str, set[str] | None] = {}
    for baseline in model.by_version.values():
        for f in baseline.features:
            c = f.categorical
            if c is None:
                continue
            known = vocabularies.setdefault(f.name, set())
            if known is None or not c.closed or len(c.vocabulary) < c.vocabulary_size:
                vocabularies[f.name] = None
            else:
                known.update(c.vocabulary)
    one_of: Any = Literal
    return {
        name: str if known is None or not known else one_of[tuple(sorted(known))]
        for name, known in vocabularies.items()
    }


def _struct(title: str, fields: Sequence[tuple[str, Any]]) -> type[msgspec.Struct]:
    return msgspec.defstruct(title, [(name, kind | None, None) for name, kind in fields], gc=False)


class LineSchema:
    """The typed decoder of one model's prediction lines (built once per fetch)."""

    def __init__(self, model: ModelBaselines) -> None:
        self.model = model.model
        inputs, outputs, _ = counted_names(model)
        # Keywords are expected only of categorical features: a keyword under a numeric
        # feature (a type mismatch, rare) sends its line to the exact path, so the typed
        # path reads a dozen keyword columns of fifty, not fifty mostly empty ones.
        categorical = _keyword_kinds(model)
        self.names: dict[tuple[str, ...], _Names] = {
            ("inputs", "num"): inputs,
            ("inputs", "cat"): inputs,
            ("outputs", "num"): outputs,
            ("outputs", "cat"): outputs,
        }
        # The struct field (``f<i>``) of each name that may hold a keyword.
        self.keywords: dict[tuple[str, ...], dict[str, str]] = {
            key: {n: f"f{i}" for i, n in enumerate(self.names[key]) if n in categorical}
            for key in (("inputs", "cat"), ("outputs", "cat"))
        }
        typed = msgspec.defstruct(
            "Mlmon",
            [
                ("model", _struct("Model", [("name", str), ("version", str)]) | None, None),
                ("latency_ms", float | None, None),
                ("inputs", self._values("Inputs", inputs, categorical) | None, None),
                ("outputs", self._values("Outputs", outputs, categorical) | None, None),
                # Mappings, not structs: only text inputs have them, a few of many names.
                ("token_count", dict[str, float | None] | None, None),
                ("tokens", dict[str, list[str] | None] | None, None),
                # Kept undecoded: a model's documents repeat a few name lists, each decoded once.
                ("present", msgspec.Raw, msgspec.field(default_factory=msgspec.Raw)),
                ("null", msgspec.Raw, msgspec.field(default_factory=msgspec.Raw)),
            ],
            gc=False,
        )
        document = msgspec.defstruct(
            "Document",
            [
                ("timestamp", str | None, msgspec.field(default=None, name="@timestamp")),
                ("event", _struct("Event", [("dataset", str), ("outcome", str)]) | None, None),
                ("mlmon", typed | None, None),
            ],
            gc=False,
        )
        self._decode = msgspec.json.Decoder(document).decode

    @staticmethod
    def _values(title: str, names: _Names, categorical: Mapping[str, Any]) -> type[msgspec.Struct]:
        return _struct(
            title,
            [
                # NaN where absent (JSON has no NaN): a group converts to floats in one C call.
                ("num", _group(f"{title}Num", names, float, math.nan)),
                ("cat", _group(f"{title}Cat", names, str, kinds=categorical)),
            ],
        )

    def decode(self, lines: Sequence[bytes]) -> Decoded:
        """The model's predictions among ``lines``: those the schema fits, typed, and the others
        decoded whole (dicts); with the count of lines that are no JSON object."""
        typed: list[Any] = []
        misfits: list[bytes] = []
        decode = self._decode
        for line in lines:
            try:
                typed.append(decode(line))
            except (msgspec.ValidationError, msgspec.DecodeError):
                misfits.append(line)
        whole, bad = json_objects(misfits)
        return Decoded(self._select(typed), select(whole, self.model), bad)

    def _select(self, docs: Sequence[Any]) -> Selected:
        prediction, name = Dataset.PREDICTION.value, self.model  # locals: read per document
        keep = [
            d
            for d in docs
            if (event := d.event) is not None
            and event.dataset == prediction
            and (mlmon := d.mlmon) is not None
            and (model := mlmon.model) is not None
            and model.name == name
        ]
        stamps, valid = parse_stamps(list(map(attrgetter("timestamp"), keep)))
        versions = list(map(attrgetter("mlmon.model.version"), keep))
        return Selected(keep, stamps, valid, versions, self._chunk)

    def _chunk(self, docs: Sequence[Any]) -> TypedChunk:
        return TypedChunk(docs, self.names, self.keywords)


_OUTCOME = attrgetter("event.outcome")


def counted_names(model: ModelBaselines) -> tuple[_Names, _Names, frozenset[str]]:
    """The model's input and output feature names (sorted), and those that may hold a keyword
    (the categorical features)."""
    features = {
        (f.role, f.name) for baseline in model.by_version.values() for f in baseline.features
    }
    inputs = tuple(sorted(name for role, name in features if role is Role.INPUT))
    outputs = tuple(sorted(name for role, name in features if role is Role.OUTPUT))
    categorical = frozenset(
        f.name for baseline in model.by_version.values() for f in baseline.features if f.categorical
    )
    return inputs, outputs, categorical


def list_totals(lists: Iterable[tuple[bytes | str, int]]) -> Counter[str]:
    """Documents per name of keyword arrays kept as raw JSON (``present``, ``null``), with the
    documents holding each: every distinct list decoded once, its counts weighted (a model's
    documents repeat a few lists). Empty text is no list."""
    totals: Counter[str] = Counter()
    for raw, documents in lists:
        if raw:
            for value, n in keyword_totals([msgspec.json.decode(raw)])[0].items():
                totals[value] += n * documents
    return totals


@dataclass(frozen=True, slots=True)
class Decoded:
    """A chunk of lines decoded: typed predictions, whole-decoded predictions, bad lines."""

    typed: Selected
    whole: Selected
    bad: int


_NUMERIC_GROUPS = frozenset({("inputs", "num"), ("outputs", "num")})
"""The groups whose fields the schema types as numbers: read as one 2-D array each."""

_MAPPINGS = frozenset({("token_count",), ("tokens",)})
"""The groups the schema decodes as mappings (only the names a document has)."""


class TypedChunk:
    """A :class:`~mlmon_elk.profile.records.Chunk` of typed documents: the same columns the
    dict path reads, with ``None`` (NaN for numbers) where a document has no value."""

    def __init__(
        self,
        docs: Sequence[Any],
        names: dict[tuple[str, ...], _Names],
        keywords: dict[tuple[str, ...], dict[str, str]],
    ) -> None:
        self.docs = docs
        self.mlmon = [d.mlmon for d in docs]
        self.names = names
        self.keywords = keywords
        self.columns: dict[tuple[str, ...], dict[str, Sequence[Any]]] = {}
        self.arrays: dict[tuple[str, ...], tuple[dict[str, int], np.ndarray]] = {}
        self._found: dict[tuple[str, ...], list[Any]] = {}
        self._complete: dict[tuple[str, ...], bool] = {}

    def __len__(self) -> int:
        return len(self.docs)

    def failures(self) -> int:
        return list(map(_OUTCOME, self.docs)).count("failure")

    def name_totals(self, name: str) -> Counter[str]:
        # Runs of equal lists compared in place (no copy, no hash of each document's list).
        runs: Counter[bytes] = Counter()
        for raw, same in groupby(map(attrgetter(name), self.mlmon)):
            runs[bytes(raw)] += len(list(same))
        return list_totals(runs.items())

    def keyword_totals(
        self, *path: str, limit: int | None = KEYWORD_IGNORE_ABOVE
    ) -> tuple[Counter[str], int]:
        return keyword_totals(self.values(*path), limit)

    def values(self, *path: str) -> Sequence[Any]:
        *group, name = path
        key = tuple(group)
        if not key:  # a field of mlmon itself
            return [getattr(m, name) for m in self.mlmon]
        if key in _NUMERIC_GROUPS:
            return [None if math.isnan(x) else float(x) for x in self.numbers(*path).tolist()]
        if key in _MAPPINGS and key not in self.columns:
            groups = self._groups(key)
            self.columns[key] = transpose([g or {} for g in groups]) if any(groups) else {}
        columns = self.columns.setdefault(key, {})
        if name not in columns and key not in _MAPPINGS:
            column = self._keyword_column(key, name)
            if column is not None:
                columns[name] = column
        found = columns.get(name)
        # An all-None column (a feature of another kind) scans fast: None is None.
        if not found or (found[0] is None and found.count(None) == len(found)):
            return absent(len(self.docs))
        return found

    def numbers(self, *path: str) -> np.ndarray:
        *group, name = path
        key = tuple(group)
        if key not in _NUMERIC_GROUPS:
            return numbers(self.values(*path))
        if key not in self.arrays:
            self.arrays[key] = self._table(key)
        index, table = self.arrays[key]
        if name not in index or not table.size:
            return np.full(len(self.docs), np.nan)
        column: np.ndarray = table[index[name]]
        return column

    def _table(self, key: tuple[str, ...]) -> tuple[dict[str, int], np.ndarray]:
        """The numeric group ``key`` as floats, one row per field (NaN where absent): the
        documents' fields are converted in one C pass, straight from their tuples."""
        names = self.names.get(key, ())
        groups = self._groups(key) if names else []
        if groups.count(None) == len(groups):
            return {}, np.empty((0, 0))
        nothing = (math.nan,) * len(names)
        try:
            flat = np.fromiter(
                chain.from_iterable(
                    map(astuple, groups)
                    if None not in groups
                    else (nothing if g is None else astuple(g) for g in groups)
                ),
                dtype=float,
                count=len(groups) * len(names),
            )
        except TypeError:  # an explicit null (None): NaN, as the general conversion makes it
            rows = [nothing if g is None else astuple(g) for g in groups]
            flat = np.array(rows, dtype=float)
        # Field-major: each feature's column is then contiguous for the counting after.
        table = np.ascontiguousarray(flat.reshape(len(groups), len(names)).T)
        return {n: i for i, n in enumerate(names)}, table

    def _keyword_column(self, key: tuple[str, ...], name: str) -> Sequence[Any] | None:
        """The keyword group ``key``'s column ``name`` (``None``: the schema takes no keyword
        there, or no document has the group)."""
        field = self.keywords.get(key, {}).get(name)
        if field is None:
            return None
        groups = self._groups(key)
        if self._complete[key]:  # every document has the group: one pass in C
            return list(map(attrgetter(field), groups))
        if groups.count(None) == len(groups):
            return None
        getter = attrgetter(field)
        return [None if g is None else getter(g) for g in groups]

    def _groups(self, key: tuple[str, ...]) -> list[Any]:
        """Each document's group ``key`` (``None`` where it has none)."""
        if key in self._found:
            return self._found[key]
        above = self._groups(key[:-1]) if len(key) > 1 else self.mlmon
        getter = attrgetter(key[-1])
        if None in above:
            groups = [None if g is None else getter(g) for g in above]
        else:  # every document has the enclosing group: one pass in C
            groups = list(map(getter, above))
        self._found[key] = groups
        self._complete[key] = None not in groups
        return groups
