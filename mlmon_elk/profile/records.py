"""Count decoded prediction documents into one model's window profile, chunk by chunk (pure).

The record path: whatever reads documents (JSON-lines files, a test's list)
hands them over a chunk at a time; each chunk is read the way the index sees
values (:mod:`mlmon_elk.profile.counting.documents`), counted with each kind's
spec (:mod:`mlmon_elk.profile.counting`), and the chunk counts merge exactly —
giving the same :class:`~mlmon_elk.profile.window.ModelWindow` the
Elasticsearch aggregations give.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np
import pandas as pd

from mlmon_elk.contract import KEYWORD_IGNORE_ABOVE, TOKEN_IGNORE_ABOVE, Dataset, Kind, Role
from mlmon_elk.profile.baseline import Baseline, FeatureProfile, ModelBaselines
from mlmon_elk.profile.counting import categorical, numeric, operational
from mlmon_elk.profile.counting.aggregation import most_frequent
from mlmon_elk.profile.counting.categorical import CategoricalSum
from mlmon_elk.profile.counting.documents import (
    Columns,
    dig,
    keyword,
    keyword_totals,
    numbers,
)
from mlmon_elk.profile.counting.numeric import NumericSum
from mlmon_elk.profile.counting.operational import DEFAULT_PERCENTS
from mlmon_elk.profile.counting.presence import present_and_null
from mlmon_elk.profile.counting.quantiles import QuantileSketch
from mlmon_elk.profile.counting.text import TextSum
from mlmon_elk.profile.defaults import EXAMPLES
from mlmon_elk.profile.window import FeatureCounts, ModelWindow, WindowProfile
from mlmon_elk.windows import EPOCH, Window

_ALL = 1 << 62
"""'Keep every example' while counting chunks; the window keeps the top few."""


@dataclass(slots=True)
class _FeatureSum:
    profile: FeatureProfile
    kinds: Counter[Kind] = field(default_factory=Counter)
    numeric: NumericSum | None = None
    categorical: CategoricalSum | None = None
    text: TextSum | None = None

    def __post_init__(self) -> None:
        p = self.profile
        if p.numeric is not None:
            self.numeric = NumericSum.of(p.numeric)
        if p.categorical is not None:
            self.categorical = CategoricalSum.of(p.categorical)
        if p.text is not None:
            self.text = TextSum()


class _VersionSum:
    """Running counts of one model version in the window."""

    def __init__(self, baseline: Baseline, percents: Sequence[float]) -> None:
        self.baseline = baseline
        self.percents = tuple(sorted(set(percents)))
        self.count = 0
        self.failures = 0
        # Latencies counted into a sketch (bounded memory), not kept per prediction.
        self.latency = QuantileSketch()
        self.present: Counter[str] = Counter()
        self.null: Counter[str] = Counter()
        self.features = {(f.role, f.name): _FeatureSum(f) for f in baseline.features}

    def add(self, chunk: Chunk) -> None:
        """Count a chunk of this version's documents (already filtered to the window)."""
        self.count += len(chunk)
        self.failures += chunk.failures()
        self.latency.add(chunk.numbers("latency_ms"))
        for counter, field_name in ((self.present, "present"), (self.null, "null")):
            counter.update(chunk.name_totals(field_name))

        for (role, name), acc in self.features.items():
            group = "inputs" if role is Role.INPUT else "outputs"
            num = chunk.numbers(group, "num", name)
            num_values = num[np.isfinite(num)]
            cat_counts, cat_documents = chunk.keyword_totals(group, "cat", name)
            acc.kinds[Kind.NUM] += len(num_values)
            acc.kinds[Kind.CAT] += cat_documents
            token_counts = np.empty(0)
            if role is Role.INPUT:
                token_counts = chunk.numbers("token_count", name)
                acc.kinds[Kind.TEXT] += int(np.count_nonzero(~np.isnan(token_counts)))
            profile = acc.profile
            if acc.numeric is not None and profile.numeric is not None:
                acc.numeric.add(numeric.count(num_values, profile.numeric))
            if acc.categorical is not None and profile.categorical is not None:
                if profile.categorical.coded and len(num_values):
                    cat_counts += categorical.code_counts(num_values)
                acc.categorical.add(
                    categorical.count_values(cat_counts, profile.categorical, examples=_ALL)
                )
            if acc.text is not None and profile.text is not None:
                tokens, documents = chunk.keyword_totals("tokens", name, limit=TOKEN_IGNORE_ABOVE)
                acc.text.add_documents(
                    tokens, documents, int(np.nansum(token_counts)), profile.text
                )

    def result(
        self, model: str, version: str, window: Window, examples: int, names: int
    ) -> WindowProfile:
        features = {}
        for key, acc in self.features.items():
            role, name = key
            kinds = {k: n for k, n in sorted(acc.kinds.items()) if n}
            present, null = present_and_null(acc.profile, kinds, self.present, self.null)
            features[key] = FeatureCounts(
                name=name,
                role=role,
                present=present,
                null=null,
                kinds=kinds,
                numeric=acc.numeric.result() if acc.numeric else None,
                categorical=(
                    acc.categorical.result(acc.profile.categorical.top_names, examples)
                    if acc.categorical and acc.profile.categorical
                    else None
                ),
                text=acc.text.result(examples) if acc.text else None,
            )
        return WindowProfile(
            model=model,
            version=version,
            start=window.start,
            end=window.end,
            count=self.count,
            failures=self.failures,
            latency=operational.latency_sketch_stats(self.latency, self.percents),
            features=features,
            present_names=dict(most_frequent(self.present, names)),
        )


class Chunk(Protocol):
    """One version's documents of a chunk, read as columns (the counting side's view)."""

    def __len__(self) -> int: ...

    def failures(self) -> int:
        """Documents whose ``event.outcome`` is ``failure``."""
        ...

    def numbers(self, *path: str) -> np.ndarray:
        """The values at ``mlmon.<path...>`` as a numeric field reads them, NaN where none
        (:func:`~.documents.numbers`)."""
        ...

    def name_totals(self, name: str) -> Counter[str]:
        """Documents per name of the ``mlmon.<name>`` keyword array (``present``, ``null``)."""
        ...

    def keyword_totals(
        self, *path: str, limit: int | None = KEYWORD_IGNORE_ABOVE
    ) -> tuple[Counter[str], int]:
        """Documents per indexed value of the keyword field ``mlmon.<path...>``, and the
        documents with any (:func:`~.documents.keyword_totals`)."""
        ...


class DocumentChunk:
    """A :class:`Chunk` of decoded JSON documents (dicts), read the way the index reads them."""

    def __init__(self, docs: Sequence[Mapping[str, Any]]) -> None:
        self.docs = docs
        self.values = Columns([d.get("mlmon") or {} for d in docs]).values

    def __len__(self) -> int:
        return len(self.docs)

    def failures(self) -> int:
        return sum(1 for d in self.docs if (d.get("event") or {}).get("outcome") == "failure")

    def numbers(self, *path: str) -> np.ndarray:
        return numbers(self.values(*path))

    def name_totals(self, name: str) -> Counter[str]:
        return keyword_totals(self.values(name))[0]

    def keyword_totals(
        self, *path: str, limit: int | None = KEYWORD_IGNORE_ABOVE
    ) -> tuple[Counter[str], int]:
        return keyword_totals(self.values(*path), limit)


@dataclass(frozen=True, slots=True)
class Selected:
    """One model's predictions of a chunk, with their times (ns since the epoch; valid or not)
    and versions, and how to read any of them as a :class:`Chunk`."""

    docs: Sequence[Any]
    stamps: np.ndarray
    valid: np.ndarray
    versions: Sequence[str | None]
    chunk: Callable[[Sequence[Any]], Chunk]


def select(docs: Sequence[Mapping[str, Any]], model: str) -> Selected:
    """``model``'s predictions among ``docs``, their ``@timestamp`` parsed once for every
    window counted from the chunk."""
    keep = [
        d
        for d in docs
        if dig(d, ("event",)).get("dataset") == Dataset.PREDICTION
        and dig(d, ("mlmon", "model")).get("name") == model
    ]
    versions = [dig(d, ("mlmon", "model")).get("version") for d in keep]
    stamps, valid = parse_stamps([d.get("@timestamp") for d in keep])
    return Selected(
        keep, stamps, valid, [None if v is None else keyword(v) for v in versions], DocumentChunk
    )


def parse_stamps(stamps: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """``@timestamp`` values as ns since the epoch, and which of them are valid times."""
    if not stamps:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=bool)
    times = pd.to_datetime(
        pd.Series(stamps, dtype=object), utc=True, format="ISO8601", errors="coerce"
    )
    ns = times.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return ns, times.notna().to_numpy()


class WindowCounter:
    """Counts documents into one model's window profile, chunk by chunk.

    Feed it any documents (it keeps only the model's predictions inside the
    window and counts the preceding ``history`` windows) and read
    :meth:`result`. The analyzer feeds it from files; tests feed it lists.
    """

    def __init__(
        self,
        model: ModelBaselines,
        window: Window,
        *,
        history: int = 0,
        percents: Sequence[float] = DEFAULT_PERCENTS,
        examples: int = EXAMPLES,
        new_features: int = 100,
    ) -> None:
        self.model = model
        self.window = window
        self.percents = tuple(percents)
        self.examples = examples
        self.new_features = new_features
        self.preceding = window.preceding(history)
        self.earliest = self.preceding[0].start if self.preceding else window.start
        self.history = np.zeros(history, dtype=np.int64)
        # Nanoseconds since the epoch of each preceding window's start, and the window's.
        self._edges = np.array(
            [_ns(w.start) for w in self.preceding] + [_ns(window.start)], dtype=np.int64
        )
        self.versions: dict[str, _VersionSum] = {}

    def fresh(self) -> WindowCounter:
        """A counter with the same settings and nothing counted."""
        return WindowCounter(
            self.model,
            self.window,
            history=len(self.history),
            percents=self.percents,
            examples=self.examples,
            new_features=self.new_features,
        )

    def add(self, docs: Sequence[Mapping[str, Any]]) -> None:
        """Count the documents of ``docs`` that belong to this model and window."""
        self.add_selected(select(docs, self.model.model))

    def add_selected(self, selected: Selected) -> None:
        """Count the window's share of a chunk already narrowed to this model by :func:`select`."""
        if not selected.docs:
            return
        stamps, valid = selected.stamps, selected.valid
        in_window = valid & (stamps >= _ns(self.window.start)) & (stamps < _ns(self.window.end))
        if len(self.history):
            earlier = valid & (stamps >= self._edges[0]) & (stamps < self._edges[-1])
            slots = np.searchsorted(self._edges, stamps[earlier], side="right") - 1
            self.history += np.bincount(slots, minlength=len(self.history))[: len(self.history)]
        by_version: dict[str, list[Any]] = {}
        kept = np.flatnonzero(in_window).tolist()
        versions = set(selected.versions)
        only = versions.pop() if len(versions) == 1 else None
        if only is not None:  # the usual chunk: one version
            docs = selected.docs
            by_version[only] = list(docs) if len(kept) == len(docs) else [docs[i] for i in kept]
        else:
            for i in kept:
                version = selected.versions[i]
                if version is not None:
                    by_version.setdefault(version, []).append(selected.docs[i])
        for version, version_docs in by_version.items():
            if version not in self.versions:
                baseline = self.model.for_version(version)
                self.versions[version] = _VersionSum(baseline, self.percents)
            self.versions[version].add(selected.chunk(version_docs))

    def result(self) -> ModelWindow:
        """The window profile of everything added so far."""
        return ModelWindow(
            model=self.model.model,
            start=self.window.start,
            end=self.window.end,
            versions={
                version: acc.result(
                    self.model.model,
                    version,
                    self.window,
                    self.examples,
                    len(acc.baseline.inputs) + self.new_features,
                )
                for version, acc in sorted(self.versions.items())
            },
            history=tuple(int(n) for n in self.history),
        )


def _ns(t: datetime) -> int:
    return (t - EPOCH) // timedelta(microseconds=1) * 1000
