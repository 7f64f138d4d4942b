"""The baseline profile: what training data looked like (DESIGN.md §4).

Frozen dataclasses inside; the YAML file is the edge (:func:`load_baseline`,
:func:`dump_baseline`). Building a baseline from data lives in
``mlmon_elk.profile.build``; this module only describes and (de)serialises it,
so the analyzer can read baselines without pandas.

Bins are fixed here, once, from training quantiles, and never re-binned on live
data. Numeric bins are open below and above: with interior edges
``e0 < e1 < … < ek`` the ``k + 2`` bins are ``(-inf, e0)``, ``[e0, e1)``, …,
``[ek, +inf)`` — the same half-open convention as Elasticsearch's ``range``
aggregation (``from`` inclusive, ``to`` exclusive).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlmon_elk.contract import Check, Kind, Role
from mlmon_elk.errors import BaselineError
from mlmon_elk.producer.tokens import TOKENIZER_VERSION
from mlmon_elk.profile.performance import (
    PerformanceProfile,
    performance_from_dict,
    performance_to_dict,
)
from mlmon_elk.yaml_files import read_yaml_mapping

BASELINE_FORMAT = 1
"""Version of the YAML layout (``mlmon_baseline:`` key)."""

MAX_VOCABULARY = 65_536
"""Largest stored vocabulary: Elasticsearch's default ``index.max_terms_count``,
the most values one ``terms`` query may list."""


@dataclass(frozen=True, slots=True)
class NumericProfile:
    """Distribution of a numeric feature on fixed bins."""

    edges: tuple[float, ...]
    """Interior bin edges, strictly increasing."""
    shares: tuple[float, ...]
    """Share of non-null values per bin; ``len(edges) + 1`` values summing to 1."""
    min: float
    max: float
    mean: float
    std: float

    def __post_init__(self) -> None:
        if len(self.shares) != len(self.edges) + 1:
            msg = (
                f"{len(self.edges)} edges need {len(self.edges) + 1} shares, got {len(self.shares)}"
            )
            raise BaselineError(msg)
        if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
            msg = f"bin edges must be strictly increasing: {self.edges}"
            raise BaselineError(msg)


@dataclass(frozen=True, slots=True)
class CategoricalProfile:
    """Frequencies of a categorical feature."""

    top: tuple[tuple[str, float], ...]
    """The most frequent categories with their share of non-null values, most
    frequent first; each is a bin of the ``category_shift`` check."""
    other_share: float
    """Share of the remaining (seen, but not top) categories."""
    vocabulary: frozenset[str]
    """Every training category (at most :data:`MAX_VOCABULARY`); values outside
    it are *unseen*."""
    vocabulary_size: int
    """Distinct training categories; larger than ``len(vocabulary)`` when capped."""
    expected_unseen_rate: float
    """Share of values outside ``vocabulary`` measured on held-out data."""
    coded: bool = False
    """Integer-coded categories (``SCHL=22``): declared ``cat`` while the
    training values were numbers. The serving app keeps sending numbers, which
    the handler logs under ``num``; the analyzer counts those as the categories
    ``"22"`` (:func:`~mlmon_elk.profile.values.number_to_category`) and does not
    call them a type mismatch."""

    @property
    def top_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.top)

    @property
    def closed(self) -> bool:
        """A closed vocabulary: held-out data (or, without it, the Good–Turing
        estimate) showed no unseen value at all, unlike ids or zip codes."""
        return self.expected_unseen_rate == 0.0


@dataclass(frozen=True, slots=True)
class TextProfile:
    """Token vocabulary of a free-text feature (tokens from ``mlmon_elk.producer.tokens``)."""

    vocabulary: frozenset[str]
    vocabulary_size: int
    expected_oov_rate: float
    """Share of held-out tokens outside ``vocabulary``."""
    tokens_per_row: float


@dataclass(frozen=True, slots=True)
class Calibration:
    """Natural variation of one check's metric on no-drift windows.

    ``upper`` maps a size — the number of rows the check looks at (its
    ``count``: requests for presence, rows carrying the key for nulls, values
    for distributions, documents for text) in windows of the baseline's
    ``window_sizes`` — to the metric value that no-drift windows of that size
    exceed with probability ``tail``; the checks interpolate between sizes (on
    log n) and never go below their minimum effect size.
    """

    metric: str
    upper: tuple[tuple[int, float], ...]
    tail: float


@dataclass(frozen=True, slots=True)
class FeatureProfile:
    """Everything the checks know about one input or output."""

    name: str
    """Sanitised name (``mlmon_elk.contract.sanitize_name``)."""
    role: Role
    kind: Kind
    presence: float
    """Share of rows that carried the key at all (null values included)."""
    null_rate: float
    """Share of rows carrying the key whose value was null / NaN."""
    numeric: NumericProfile | None = None
    categorical: CategoricalProfile | None = None
    text: TextProfile | None = None
    calibration: Mapping[Check, Calibration] = field(default_factory=dict)

    def __post_init__(self) -> None:
        needed = {Kind.NUM: self.numeric, Kind.CAT: self.categorical, Kind.TEXT: self.text}[
            self.kind
        ]
        if needed is None:
            msg = f"feature {self.name!r} of kind {self.kind} lacks its {self.kind} profile"
            raise BaselineError(msg)


@dataclass(frozen=True, slots=True)
class Baseline:
    """The profile of one model version's training data."""

    model: str
    version: str
    rows: int
    features: tuple[FeatureProfile, ...]
    created: str = ""
    """ISO-8601 UTC time the baseline was built."""
    source: str = ""
    """Where the training data came from (file name), for people."""
    window_sizes: tuple[int, ...] = ()
    """Window sizes the calibration was computed for."""
    tokenizer_version: int = TOKENIZER_VERSION
    holdout_rows: int = 0
    """Rows of held-out data the expected unseen / OOV rates and the calibration
    were measured on (0: none; the rates are Good–Turing estimates)."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """How it was built (kind overrides, ``empty_as_null``, bins, top
    categories, seed…), for people and for rebuilding it the same way."""
    performance: PerformanceProfile | None = None
    """The model's performance on held-out data (built with ``--target``)."""
    warnings: tuple[str, ...] = ()
    """What the builder found suspicious in the training data (ids, timestamps
    as text, target-like names, constant columns, likely coded categories…),
    kept with the profile so whoever reads it later sees them too."""

    def feature(self, role: Role, name: str) -> FeatureProfile | None:
        for f in self.features:
            if f.role is role and f.name == name:
                return f
        return None

    @property
    def inputs(self) -> tuple[FeatureProfile, ...]:
        return tuple(f for f in self.features if f.role is Role.INPUT)

    @property
    def outputs(self) -> tuple[FeatureProfile, ...]:
        return tuple(f for f in self.features if f.role is Role.OUTPUT)


# --------------------------------------------------------------------- YAML edge


def baseline_to_dict(baseline: Baseline) -> dict[str, Any]:
    """The YAML-ready mapping of ``baseline`` (vocabularies sorted, so diffs are small)."""
    out = {
        "mlmon_baseline": BASELINE_FORMAT,
        "model": baseline.model,
        "version": baseline.version,
        "created": baseline.created,
        "source": baseline.source,
        "rows": baseline.rows,
        "tokenizer_version": baseline.tokenizer_version,
        "window_sizes": list(baseline.window_sizes),
        "holdout_rows": baseline.holdout_rows,
        "options": dict(baseline.options),
        "warnings": list(baseline.warnings),
        "features": [_feature_to_dict(f) for f in baseline.features],
    }
    if baseline.performance is not None:
        out["performance"] = performance_to_dict(baseline.performance)
    return out


def _feature_to_dict(f: FeatureProfile) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": f.name,
        "role": str(f.role),
        "kind": str(f.kind),
        "presence": f.presence,
        "null_rate": f.null_rate,
    }
    if f.numeric is not None:
        n = f.numeric
        out["num"] = {
            "edges": list(n.edges),
            "shares": list(n.shares),
            "min": n.min,
            "max": n.max,
            "mean": n.mean,
            "std": n.std,
        }
    if f.categorical is not None:
        c = f.categorical
        out["cat"] = {
            "top": dict(c.top),
            "other_share": c.other_share,
            "expected_unseen_rate": c.expected_unseen_rate,
            "vocabulary_size": c.vocabulary_size,
            "vocabulary": sorted(c.vocabulary),
        }
        if c.coded:
            out["cat"]["coded"] = True
    if f.text is not None:
        t = f.text
        out["text"] = {
            "expected_oov_rate": t.expected_oov_rate,
            "tokens_per_row": t.tokens_per_row,
            "vocabulary_size": t.vocabulary_size,
            "vocabulary": sorted(t.vocabulary),
        }
    if f.calibration:
        out["calibration"] = {
            str(check): {"metric": cal.metric, "tail": cal.tail, "upper": dict(cal.upper)}
            for check, cal in f.calibration.items()
        }
    return out


def baseline_from_dict(data: Mapping[str, Any], *, where: str = "baseline") -> Baseline:
    """Validate a parsed YAML mapping into a :class:`Baseline`.

    Raises:
        BaselineError: naming the exact key that is missing or malformed.
    """
    r = _Reader(data, where)
    fmt = r.integer("mlmon_baseline")
    if fmt != BASELINE_FORMAT:
        msg = f"{where}.mlmon_baseline: format {fmt} is not supported (expected {BASELINE_FORMAT})"
        raise BaselineError(msg)
    tokenizer = r.integer("tokenizer_version", TOKENIZER_VERSION)
    if tokenizer != TOKENIZER_VERSION:
        msg = (
            f"{where}.tokenizer_version: built with tokenizer {tokenizer}, this release uses"
            f" {TOKENIZER_VERSION}; rebuild the baseline"
        )
        raise BaselineError(msg)
    return Baseline(
        model=r.text("model"),
        version=r.text("version"),
        rows=r.integer("rows"),
        created=r.text("created", ""),
        source=r.text("source", ""),
        window_sizes=tuple(int(x) for x in r.sequence("window_sizes", [])),
        tokenizer_version=tokenizer,
        holdout_rows=r.integer("holdout_rows", 0),
        options=dict(r.mapping("options", {})),
        warnings=tuple(str(w) for w in r.sequence("warnings", [])),
        features=tuple(
            _feature_from_dict(_Reader(item, f"{where}.features[{i}]"))
            for i, item in enumerate(r.sequence("features"))
        ),
        performance=performance_from_dict(data["performance"], f"{where}.performance")
        if data.get("performance") is not None
        else None,
    )


def _feature_from_dict(r: _Reader) -> FeatureProfile:
    kind = r.enum("kind", Kind)
    numeric = categorical = text = None
    if kind is Kind.NUM:
        n = r.sub("num")
        numeric = NumericProfile(
            edges=tuple(n.numbers("edges")),
            shares=tuple(n.numbers("shares")),
            min=n.number("min"),
            max=n.number("max"),
            mean=n.number("mean"),
            std=n.number("std"),
        )
    elif kind is Kind.CAT:
        c = r.sub("cat")
        top = c.mapping("top")
        categorical = CategoricalProfile(
            top=tuple((str(k), float(v)) for k, v in top.items()),
            other_share=c.number("other_share"),
            vocabulary=frozenset(str(v) for v in c.sequence("vocabulary")),
            vocabulary_size=c.integer("vocabulary_size"),
            expected_unseen_rate=c.number("expected_unseen_rate"),
            coded=c.flag("coded", False),
        )
    else:
        t = r.sub("text")
        text = TextProfile(
            vocabulary=frozenset(str(v) for v in t.sequence("vocabulary")),
            vocabulary_size=t.integer("vocabulary_size"),
            expected_oov_rate=t.number("expected_oov_rate"),
            tokens_per_row=t.number("tokens_per_row"),
        )
    calibration: dict[Check, Calibration] = {}
    for check_name, raw in r.mapping("calibration", {}).items():
        cr = _Reader(raw, f"{r.where}.calibration.{check_name}")
        try:
            check = Check(check_name)
        except ValueError:
            msg = f"{r.where}.calibration: unknown check {check_name!r}"
            raise BaselineError(msg) from None
        calibration[check] = Calibration(
            metric=cr.text("metric"),
            tail=cr.number("tail"),
            upper=tuple(sorted((int(k), float(v)) for k, v in cr.mapping("upper").items())),
        )
    return FeatureProfile(
        name=r.text("name"),
        role=r.enum("role", Role),
        kind=kind,
        presence=r.number("presence"),
        null_rate=r.number("null_rate"),
        numeric=numeric,
        categorical=categorical,
        text=text,
        calibration=calibration,
    )


def load_baseline(path: str | Path) -> Baseline:
    """Read a baseline YAML file.

    Raises:
        BaselineError: the file is missing, not YAML, or not a valid baseline.
    """
    data = read_yaml_mapping(path, what="baseline", error=BaselineError)
    return baseline_from_dict(data, where=str(path))


def dump_baseline(baseline: Baseline, path: str | Path) -> None:
    """Write ``baseline`` as YAML (block style, keys in a fixed order)."""
    Path(path).write_text(
        yaml.safe_dump(baseline_to_dict(baseline), sort_keys=False, allow_unicode=True, width=100),
        encoding="utf-8",
    )


class _Reader:
    """Typed access to one YAML mapping with error messages that name the key."""

    _MISSING: Any = object()

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, Mapping):
            msg = f"{where}: expected a mapping, got {type(data).__name__}"
            raise BaselineError(msg)
        self.data = data
        self.where = where

    def _get(self, key: str, default: Any) -> Any:
        if key in self.data:
            return self.data[key]
        if default is self._MISSING:
            msg = f"{self.where}.{key}: missing"
            raise BaselineError(msg)
        return default

    def _bad(self, key: str, expected: str, value: object) -> BaselineError:
        return BaselineError(f"{self.where}.{key}: expected {expected}, got {value!r}")

    def text(self, key: str, default: Any = _MISSING) -> str:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self._bad(key, "a string", value)
        return str(value)

    def integer(self, key: str, default: Any = _MISSING) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(key, "an integer", value)
        return value

    def number(self, key: str, default: Any = _MISSING) -> float:
        value = self._get(key, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise self._bad(key, "a finite number", value)
        return float(value)

    def flag(self, key: str, default: Any = _MISSING) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise self._bad(key, "true or false", value)
        return value

    def numbers(self, key: str) -> list[float]:
        values = self.sequence(key)
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise self._bad(key, "a list of finite numbers", values)
        return [float(v) for v in values]

    def sequence(self, key: str, default: Any = _MISSING) -> Sequence[Any]:
        value = self._get(key, default)
        if not isinstance(value, list):
            raise self._bad(key, "a list", value)
        return value

    def mapping(self, key: str, default: Any = _MISSING) -> Mapping[Any, Any]:
        value = self._get(key, default)
        if not isinstance(value, Mapping):
            raise self._bad(key, "a mapping", value)
        return value

    def sub(self, key: str) -> _Reader:
        return _Reader(self.mapping(key), f"{self.where}.{key}")

    def enum(self, key: str, enum: type[Kind] | type[Role]) -> Any:
        value = self._get(key, self._MISSING)
        try:
            return enum(value)
        except ValueError:
            choices = ", ".join(str(m) for m in enum)
            raise self._bad(key, f"one of {choices}", value) from None


@dataclass(frozen=True, slots=True)
class ModelBaselines:
    """One model's baselines: a version's own, or the model's default for the rest."""

    model: str
    by_version: Mapping[str, Baseline]
    default_version: str
    """Version whose baseline applies to versions without their own."""

    def __post_init__(self) -> None:
        if self.default_version not in self.by_version:
            msg = f"model {self.model!r}: default version {self.default_version!r} has no baseline"
            raise ValueError(msg)

    @property
    def default(self) -> Baseline:
        return self.by_version[self.default_version]

    def for_version(self, version: str) -> Baseline:
        """The baseline ``version``'s window is compared with."""
        return self.by_version.get(version, self.default)
