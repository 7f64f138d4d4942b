"""Count windows of predictions from JSON-lines files (the embedded default).

Reads the files the handler's file sink writes — the very documents Logstash
would index — including rotated and gzipped ones, a chunk of lines at a time so
memory stays bounded whatever the file size. Each chunk is counted with
:mod:`mlmon_elk.profile.counting` and the chunk counts are merged, giving the
same :class:`~mlmon_elk.profile.window.ModelWindow` the Elasticsearch source
reads from aggregations. To agree with Elasticsearch exactly, values are seen
the way its index sees them: a keyword array counts once per distinct value,
categorical values longer than the keyword ``ignore_above`` are not indexed
(so not counted), and JSON ``null`` is no value.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import glob
import gzip
import logging
import math
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
import orjson
import pandas as pd
from pandas.api.types import infer_dtype

from mlmon_elk.contract import KEYWORD_IGNORE_ABOVE, TOKEN_IGNORE_ABOVE, Dataset, Kind, Role
from mlmon_elk.errors import DataError, SourceError
from mlmon_elk.producer.transports.file import rotated_files
from mlmon_elk.profile.baseline import Baseline, FeatureProfile, ModelBaselines
from mlmon_elk.profile.counting import count_categorical, count_numeric
from mlmon_elk.profile.defaults import EXAMPLES
from mlmon_elk.profile.engine_plan import DEFAULT_PERCENTS
from mlmon_elk.profile.values import number_to_category
from mlmon_elk.profile.window import (
    CategoricalCounts,
    FeatureCounts,
    LatencyStats,
    ModelWindow,
    NumericCounts,
    TextCounts,
    WindowProfile,
)
from mlmon_elk.sources import FetchResult
from mlmon_elk.sources.defaults import DEFAULT_CHUNK_ROWS
from mlmon_elk.windows import EPOCH, Window, format_time

logger = logging.getLogger(__name__)

MTIME_SLACK_SECONDS = 600
"""A file last modified this long before a window may still be read (clock skew
between the host writing the logs and the one reading them)."""

PLAN_BATCH = 256
"""Planned windows counted in one pass over the files (bounds the counts held)."""

ROTATION_RETRIES = 3
"""Fresh starts of one fetch when files rotate away while being read."""

_ALL = 1 << 62
"""'Keep every example' while counting chunks; the window keeps the top few."""

_GZIP_MAGIC = b"\x1f\x8b"


# ------------------------------------------------------------------- reading


def expand_paths(patterns: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The prediction files ``patterns`` name, oldest first, each once.

    A plain path names the handler's active file and brings its rotated files
    along, by the handler's naming rule (``docs/handler.md``): for
    ``predictions.jsonl`` also ``predictions-<UTC time>Z.jsonl`` and the same
    with ``.gz``. A glob is taken as it matches. Either way, files being
    compressed (``*.tmp``) and hidden files (locks) are never read, and while a
    rotated file and its ``.gz`` both exist only the uncompressed one is.
    """
    found: dict[Path, float] = {}
    for pattern in patterns:
        text = os.fspath(pattern)
        if glob.has_magic(text):
            matches = glob.glob(text)
        else:
            matches = [text, *map(str, rotated_files(Path(text)))]
        for match in matches:
            path = Path(match)
            if path.name.startswith(".") or path.suffix == ".tmp":
                continue
            with contextlib.suppress(OSError):  # rotated away meanwhile: gone
                if path.is_file():
                    found[path] = path.stat().st_mtime
    for path in list(found):
        if path.suffix == ".gz" and path.with_suffix("") in found:
            del found[path]
    return sorted(found, key=lambda p: (found[p], str(p)))


def open_lines(path: Path, *, inode: int | None = None) -> IO[bytes]:
    """A binary stream of ``path``'s lines, gunzipped when its content is gzip (whatever its name).

    Raises:
        FileNotFoundError: ``path`` is gone, or is no longer the file ``inode``
            was (the handler rotated it since it was listed).
    """
    raw = path.open("rb")
    try:
        if inode is not None and os.fstat(raw.fileno()).st_ino != inode:
            raise FileNotFoundError(errno.ENOENT, "replaced since listed", str(path))
        gzipped = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
    except BaseException:
        raw.close()
        raise
    return cast("IO[bytes]", _GzipReader(raw)) if gzipped else raw


class _GzipReader(gzip.GzipFile):
    """Gunzips an open file and closes that file with itself."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self._raw = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a chunk of documents is alive.

    A chunk is tens of thousands of freshly parsed dicts and lists, none of them
    cyclic; with the collector on, every few hundred allocations it rescans
    them all, which costs more than parsing them (measured: 23,500 vs 80,000
    documents/s for orjson alone). Reference counting still frees every chunk.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Vanished(Exception):
    """A listed file disappeared before it was read (the handler rotated it)."""


_STAMP_PREFIX = b'{"@timestamp":"'
_STAMP_END = len(_STAMP_PREFIX) + len("2024-05-01T12:00:00.000Z")


def stamped_outside(start: datetime, end: datetime) -> Callable[[bytes], bool]:
    """A test telling, without parsing, that a line's ``@timestamp`` is outside ``[start, end)``.

    It answers only for lines that begin the way the handler writes them
    (``{"@timestamp":"2024-05-01T12:00:00.000Z"``, which orders as text); for any
    other line it says "parse it". Parsing is most of the cost of a window, and
    a log holds many windows.
    """
    low = format_time(start).encode()
    high = format_time(end).encode() if end.microsecond % 1000 == 0 else None

    def outside(line: bytes) -> bool:
        if not line.startswith(_STAMP_PREFIX) or line[_STAMP_END : _STAMP_END + 1] != b'"':
            return False
        stamp = line[len(_STAMP_PREFIX) : _STAMP_END]
        if stamp[-1:] != b"Z" or stamp[19:20] != b".":
            return False
        return stamp < low or (high is not None and stamp >= high)

    return outside


def read_chunks(
    paths: Iterable[Path],
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    inodes: Mapping[Path, int] | None = None,
    skip: Callable[[bytes], bool] | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Parsed documents of ``paths``, ``chunk_rows`` at a time.

    Lines for which ``skip`` is true are passed over unparsed.

    With ``inodes`` (as listed), a path that now names another file raises
    ``_Vanished``, as does a path that is gone, so the caller can start over.

    Blank lines are skipped. A line that is not a JSON object is skipped and
    counted; a log at WARNING names the file and how many were skipped (a
    truncated last line of a file being written is normal).
    """
    for path in paths:
        bad = 0
        try:
            with open_lines(path, inode=(inodes or {}).get(path)) as lines:
                raw: list[bytes] = []
                for line in lines:
                    if not line.strip() or (skip is not None and skip(line)):
                        continue
                    raw.append(line)
                    if len(raw) >= chunk_rows:
                        chunk, unparsed = _parse(raw)
                        bad += unparsed
                        yield chunk
                        raw = []
                if raw:
                    chunk, unparsed = _parse(raw)
                    bad += unparsed
                    yield chunk
        except FileNotFoundError as exc:
            raise _Vanished(path) from exc
        except (OSError, EOFError) as exc:
            msg = f"cannot read {path}: {exc}"
            raise SourceError(msg) from exc
        if bad:
            logger.warning("%s: skipped %d lines that are not JSON objects", path, bad)


def _parse(lines: list[bytes]) -> tuple[list[dict[str, Any]], int]:
    """The JSON objects among ``lines`` and how many lines were not one.

    The cyclic garbage collector is paused meanwhile (see :func:`gc_paused`), for
    callers that do not pause it around their whole read.
    """
    docs: list[dict[str, Any]] = []
    bad = 0
    with gc_paused():
        for line in lines:
            try:
                doc = orjson.loads(line)
            except ValueError:
                bad += 1
                continue
            if isinstance(doc, dict):
                docs.append(doc)
            else:
                bad += 1
    return docs, bad


# ------------------------------------------------------------------ counting


@dataclass(slots=True)
class _NumericSum:
    bins: np.ndarray
    below: int = 0
    above: int = 0
    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    lo: float = math.inf
    hi: float = -math.inf

    def add(self, c: NumericCounts) -> None:
        self.bins += np.asarray(c.bins, dtype=np.int64)
        if not c.count:
            return
        self.below += c.below_min
        self.above += c.above_max
        self.lo = min(self.lo, c.min if c.min is not None else math.inf)
        self.hi = max(self.hi, c.max if c.max is not None else -math.inf)
        # Chan et al.'s pairwise update: exact merging of means and variances.
        mean, m2 = c.mean or 0.0, (c.std or 0.0) ** 2 * c.count
        total = self.n + c.count
        delta = mean - self.mean
        self.mean += delta * c.count / total
        self.m2 += m2 + delta * delta * self.n * c.count / total
        self.n = total

    def result(self) -> NumericCounts:
        bins = tuple(int(b) for b in self.bins)
        if not self.n:
            return NumericCounts(bins=bins, count=0)
        return NumericCounts(
            bins=bins,
            count=self.n,
            below_min=self.below,
            above_max=self.above,
            min=self.lo,
            max=self.hi,
            mean=self.mean,
            std=math.sqrt(max(self.m2, 0.0) / self.n),
        )


@dataclass(slots=True)
class _CategoricalSum:
    top: np.ndarray
    other: int = 0
    unseen: int = 0
    count: int = 0
    unseen_values: Counter[str] = field(default_factory=Counter)

    def add(self, c: CategoricalCounts) -> None:
        self.top += np.asarray([n for _, n in c.top], dtype=np.int64)
        self.other += c.other
        self.unseen += c.unseen
        self.count += c.count
        self.unseen_values.update(dict(c.unseen_examples))

    def result(self, names: Sequence[str], examples: int) -> CategoricalCounts:
        return CategoricalCounts(
            top=tuple((name, int(n)) for name, n in zip(names, self.top, strict=True)),
            other=self.other,
            unseen=self.unseen,
            count=self.count,
            unseen_examples=most_frequent(self.unseen_values, examples),
        )


@dataclass(slots=True)
class _TextSum:
    documents: int = 0
    tokens: int = 0
    oov: int = 0
    oov_values: Counter[str] = field(default_factory=Counter)

    def result(self, examples: int) -> TextCounts:
        return TextCounts(
            documents=self.documents,
            tokens=self.tokens,
            oov_tokens=self.oov,
            oov_examples=most_frequent(self.oov_values, examples) if self.documents else (),
        )


def most_frequent(counts: Mapping[str, int], k: int) -> tuple[tuple[str, int], ...]:
    """The ``k`` largest counts, descending, ties by ascending key (as ``terms`` orders)."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple((key, int(n)) for key, n in ranked[:k] if n > 0)


@dataclass(slots=True)
class _FeatureSum:
    profile: FeatureProfile
    kinds: Counter[Kind] = field(default_factory=Counter)
    numeric: _NumericSum | None = None
    categorical: _CategoricalSum | None = None
    text: _TextSum | None = None

    def __post_init__(self) -> None:
        p = self.profile
        if p.numeric is not None:
            self.numeric = _NumericSum(bins=np.zeros(len(p.numeric.edges) + 1, dtype=np.int64))
        if p.categorical is not None:
            self.categorical = _CategoricalSum(top=np.zeros(len(p.categorical.top), dtype=np.int64))
        if p.text is not None:
            self.text = _TextSum()


class _VersionSum:
    """Running counts of one model version in the window."""

    def __init__(self, baseline: Baseline, percents: Sequence[float]) -> None:
        self.baseline = baseline
        self.percents = tuple(sorted(set(percents)))
        self.count = 0
        self.failures = 0
        self.latencies: list[np.ndarray] = []
        self.present: Counter[str] = Counter()
        self.null: Counter[str] = Counter()
        self.features = {(f.role, f.name): _FeatureSum(f) for f in baseline.features}

    def add(self, docs: Sequence[Mapping[str, Any]]) -> None:
        """Count a chunk of this version's documents (already filtered to the window)."""
        self.count += len(docs)
        mlmon = [d.get("mlmon") or {} for d in docs]
        self.failures += sum(1 for d in docs if (d.get("event") or {}).get("outcome") == "failure")
        latency = _numbers([m.get("latency_ms") for m in mlmon])
        latency = latency[np.isfinite(latency)]
        if len(latency):
            self.latencies.append(latency)
        for counter, field_name in ((self.present, "present"), (self.null, "null")):
            counter.update(_keyword_totals([m.get(field_name) for m in mlmon])[0])
        column = _Columns(mlmon).values

        for (role, name), acc in self.features.items():
            group = "inputs" if role is Role.INPUT else "outputs"
            num = _numbers(column(group, "num", name))
            num_values = num[np.isfinite(num)]
            cat_values = _keyword_pairs(column(group, "cat", name))
            acc.kinds[Kind.NUM] += len(num_values)
            acc.kinds[Kind.CAT] += cat_values.index.nunique()
            token_counts = np.empty(0)
            if role is Role.INPUT:
                token_counts = _numbers(column("token_count", name))
                acc.kinds[Kind.TEXT] += int(np.count_nonzero(~np.isnan(token_counts)))
            profile = acc.profile
            if acc.numeric is not None and profile.numeric is not None:
                acc.numeric.add(count_numeric(num_values, profile.numeric))
            if acc.categorical is not None and profile.categorical is not None:
                values = cat_values.reset_index(drop=True)
                if profile.categorical.coded and len(num_values):
                    # Integer-coded categories arrive as numbers: counted as their codes.
                    codes = pd.Series([number_to_category(x) for x in num_values], dtype=object)
                    values = pd.concat([values, codes], ignore_index=True)
                acc.categorical.add(count_categorical(values, profile.categorical, examples=_ALL))
            if acc.text is not None and profile.text is not None:
                tokens, documents = _keyword_totals(column("tokens", name), TOKEN_IGNORE_ABOVE)
                # count_text's rule on (document, token) pairs: a document counts
                # when it has tokens, a token is OOV outside the vocabulary.
                vocabulary = profile.text.vocabulary
                oov = Counter({t: n for t, n in tokens.items() if t not in vocabulary})
                acc.text.documents += documents
                acc.text.tokens += int(np.nansum(token_counts))
                acc.text.oov += oov.total()
                acc.text.oov_values.update(oov)

    def result(
        self, model: str, version: str, window: Window, examples: int, names: int
    ) -> WindowProfile:
        latencies = np.concatenate(self.latencies) if self.latencies else np.empty(0)
        features = {}
        for key, acc in self.features.items():
            role, name = key
            kinds = {k: n for k, n in sorted(acc.kinds.items()) if n}
            features[key] = FeatureCounts(
                name=name,
                role=role,
                present=self.present[name] if role is Role.INPUT else sum(kinds.values()),
                null=self.null[name] if role is Role.INPUT else 0,
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
            latency=LatencyStats(
                count=len(latencies),
                percentiles=(
                    {p: float(np.percentile(latencies, p)) for p in self.percents}
                    if len(latencies)
                    else {}
                ),
                mean=float(latencies.mean()) if len(latencies) else None,
                max=float(latencies.max()) if len(latencies) else None,
            ),
            features=features,
            present_names=dict(most_frequent(self.present, names)),
        )


class _Columns:
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
            self.groups[key] = _transpose([_dig(m, key) for m in self.mlmon])
        found = self.groups[key].get(name)
        return found if found is not None else _Absent((None,) * len(self.mlmon))


class _Absent(tuple[None, ...]):
    """A column no document of the chunk has (a feature of another kind): all ``None``."""


def _transpose(records: Sequence[Mapping[str, Any]]) -> dict[str, Sequence[Any]]:
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


def _numbers(values: Sequence[Any]) -> np.ndarray:
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


def _dig(mapping: Mapping[str, Any], path: Sequence[str]) -> Mapping[str, Any]:
    for key in path:
        inner = mapping.get(key)
        if not isinstance(inner, Mapping):
            return {}
        mapping = inner
    return mapping


def _keyword_pairs(items: Sequence[Any], *, limit: int | None = KEYWORD_IGNORE_ABOVE) -> pd.Series:
    """A keyword field's indexed values: one entry per (row, distinct value), indexed by row.

    As Elasticsearch indexes them: arrays give one value per distinct element,
    ``null`` and empty arrays give none, values longer than ``limit`` characters
    are not indexed, and JSON booleans and numbers become their text.
    """
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
            values = values.where(~odd, values[odd].map(_keyword))
    strings = values if isinstance(values.dtype, pd.StringDtype) else values.astype(str)
    if limit is not None:
        strings = strings[strings.str.len().le(limit).to_numpy(dtype=bool)]
    if arrays:
        pairs = pd.DataFrame({"row": strings.index, "value": strings.to_numpy()})
        strings = strings[~pairs.duplicated().to_numpy()]
    return strings


def _keyword_totals(
    items: Sequence[Any], limit: int | None = KEYWORD_IGNORE_ABOVE
) -> tuple[Counter[str], int]:
    """A keyword array field's indexed values counted over documents, and the documents with any.

    The same values as :func:`_keyword_pairs`, counted without materialising
    the (document, value) pairs when the arrays hold plain strings: the
    ``present`` lists and token lists, tens of values per document.
    """
    if set(map(type, items)) <= {list, type(None)}:
        try:
            # Documents of one model mostly repeat a few arrays (the present
            # names): count each distinct array once, weighted by its documents.
            arrays = Counter(map(tuple, filter(None, items)))
            counts: Counter[str] = Counter()
            for array, documents in arrays.items():
                for value in dict.fromkeys(array):
                    counts[value] += documents
        except TypeError:  # an unhashable element: a nested array or object
            arrays = None
        if arrays is not None:
            plain = set(map(type, counts)) <= {str}
            if plain and (limit is None or all(len(v) <= limit for v in counts)):
                return counts, arrays.total()
    pairs = _keyword_pairs(items, limit=limit)
    return Counter(pairs.tolist()), pairs.index.nunique()


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


def _keyword(item: object) -> str:
    # How Elasticsearch indexes a JSON scalar into a keyword field.
    if isinstance(item, bool):
        return "true" if item else "false"
    return str(item)


# ------------------------------------------------------------------- source


@dataclass(frozen=True, slots=True)
class Selected:
    """One model's predictions of a chunk, with their times (ns since the epoch; valid or not)."""

    docs: Sequence[Mapping[str, Any]]
    stamps: np.ndarray
    valid: np.ndarray


def select(docs: Sequence[Mapping[str, Any]], model: str) -> Selected:
    """``model``'s predictions among ``docs``, their ``@timestamp`` parsed once for every
    window counted from the chunk."""
    keep = [
        d
        for d in docs
        if (d.get("event") or {}).get("dataset") == Dataset.PREDICTION
        and ((d.get("mlmon") or {}).get("model") or {}).get("name") == model
    ]
    if not keep:
        return Selected(keep, np.empty(0, dtype=np.int64), np.empty(0, dtype=bool))
    times = pd.to_datetime(
        pd.Series([d.get("@timestamp") for d in keep], dtype=object),
        utc=True,
        format="ISO8601",
        errors="coerce",
    )
    stamps = times.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return Selected(keep, stamps, times.notna().to_numpy())


class WindowCounter:
    """Counts documents into one model's window profile, chunk by chunk.

    Feed it any documents (it keeps only the model's predictions inside the
    window and counts the preceding ``history`` windows) and read
    :meth:`result`. :class:`FileSource` feeds it from files; tests feed it lists.
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
        by_version: dict[str, list[Mapping[str, Any]]] = {}
        for i in np.flatnonzero(in_window).tolist():
            doc = selected.docs[i]
            version = ((doc.get("mlmon") or {}).get("model") or {}).get("version")
            if version is not None:
                by_version.setdefault(_keyword(version), []).append(doc)
        for version, version_docs in by_version.items():
            if version not in self.versions:
                baseline = self.model.for_version(version)
                self.versions[version] = _VersionSum(baseline, self.percents)
            self.versions[version].add(version_docs)

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


class FileSource:
    """Counts windows of predictions from JSON-lines files (plain or gzipped).

    Args:
        paths: files or glob patterns, e.g. ``["logs/predictions.jsonl*"]``.
        chunk_rows: lines parsed and counted at a time (bounds memory).
        examples: unseen values / OOV tokens kept as examples per feature.
        new_features: input names beyond the baseline's that are counted.
    """

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        examples: int = EXAMPLES,
        new_features: int = 100,
    ) -> None:
        if not paths:
            msg = "files.predictions: at least one path or glob is needed"
            raise DataError(msg)
        self.paths = list(paths)
        self.chunk_rows = chunk_rows
        self.examples = examples
        self.new_features = new_features
        self._planned: list[Window] = []
        self._ready: dict[_FetchKey, tuple[ModelBaselines, FetchResult]] = {}

    def plan(self, windows: Sequence[Window]) -> None:
        """Say which windows will be fetched next (a backfill), so the files are read once.

        The first :meth:`fetch` of a planned window counts it together with the
        planned windows after it (up to :data:`PLAN_BATCH` at a time) in one pass
        over the files, and keeps their profiles for their own fetches.
        """
        self._planned = sorted(set(windows), key=lambda w: (w.start, w.end))
        self._ready.clear()

    def fetch(
        self,
        model: ModelBaselines,
        window: Window,
        *,
        history: int = 0,
        percents: Sequence[float] = DEFAULT_PERCENTS,
    ) -> FetchResult:
        """Count ``model``'s predictions in ``window`` (and ``history`` earlier windows).

        Files last written before the earliest window needed are skipped: they
        cannot hold documents of it.

        Raises:
            SourceError: a file cannot be read.
        """
        key = _FetchKey(model.model, window, history, tuple(percents))
        ready = self._ready.pop(key, None)
        if ready is not None and _same_baselines(ready[0], model):
            return ready[1]
        windows = [window]
        if window in self._planned:
            later = self._planned[self._planned.index(window) + 1 :]
            windows += later[: PLAN_BATCH - 1]
        counters = [
            WindowCounter(
                model,
                w,
                history=history,
                percents=percents,
                examples=self.examples,
                new_features=self.new_features,
            )
            for w in windows
        ]
        results, requests = self._count(counters)
        for counter, result in zip(counters[1:], results[1:], strict=True):
            later_key = _FetchKey(model.model, counter.window, history, tuple(percents))
            self._ready[later_key] = (model, FetchResult(result, requests=0))
        notes = () if requests else (f"no prediction files match {self.paths} for {window}",)
        return FetchResult(results[0], notes, requests=requests)

    def _count(self, counters: list[WindowCounter]) -> tuple[list[ModelWindow], int]:
        """Every counter's window from one pass over the files; the files read."""
        earliest = min(c.earliest for c in counters).timestamp() - MTIME_SLACK_SECONDS
        model = counters[0].model.model
        for _ in range(ROTATION_RETRIES):
            listed = {p: st for p in expand_paths(self.paths) if (st := _stat(p)) is not None}
            paths = [p for p, st in listed.items() if st.st_mtime >= earliest]
            inodes = {p: listed[p].st_ino for p in paths}
            # Lines of no counter's period are passed over unparsed.
            skip = stamped_outside(
                min(c.earliest for c in counters), max(c.window.end for c in counters)
            )
            try:
                with gc_paused():
                    for chunk in read_chunks(
                        paths, chunk_rows=self.chunk_rows, inodes=inodes, skip=skip
                    ):
                        selected = select(chunk, model)
                        for counter in counters:
                            counter.add_selected(selected)
            except _Vanished:
                # Rotated or compressed while being read: count again from a fresh list.
                counters = [c.fresh() for c in counters]
                continue
            return [c.result() for c in counters], len(paths)
        msg = f"prediction files kept changing while being read ({self.paths})"
        raise SourceError(msg)


def _same_baselines(a: ModelBaselines, b: ModelBaselines) -> bool:
    """Whether counts made with ``a``'s baselines hold for ``b`` (the same baseline objects)."""
    return (
        a.default_version == b.default_version
        and a.by_version.keys() == b.by_version.keys()
        and all(a.by_version[v] is b.by_version[v] for v in a.by_version)
    )


@dataclass(frozen=True, slots=True)
class _FetchKey:
    model: str
    window: Window
    history: int
    percents: tuple[float, ...]


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None  # rotated away since listed
