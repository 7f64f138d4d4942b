"""Build a baseline profile from training data (DESIGN.md §4).

:func:`build_baseline` takes a DataFrame; :func:`read_table` reads CSV, Parquet
or JSON lines into one (JSON lines keep track of keys a record did not carry,
so presence rates are real). Values are typed by the handler's rule
(``mlmon_elk.profile.values``), feature names go through
``contract.sanitize_name`` and text through ``tokens.tokenize``, so the profile
describes exactly what the handler will log.

Held-out data — given, or carved at random from the input (``holdout_fraction``)
— is never part of the profile. It measures the expected unseen-category and
OOV-token rates, and calibrates every check: windows of each size in
``window_sizes`` are resampled from it (bootstrap: a multinomial draw over its
rows' codes, exactly equivalent to drawing rows with replacement), each check's
metric is computed on them with the very functions the checks use, and the
value no-drift windows exceed with probability ``tail`` is stored. The checks
then never alert below the natural variation of *this* feature at *this* window
size — NannyML's reference-chunk idea, without scoring chunks against a
reference that contains them.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from mlmon_elk.contract import Check, Kind, Role, sanitize_name, with_hash_suffix
from mlmon_elk.errors import BaselineError, DataError
from mlmon_elk.producer.tokens import tokenize
from mlmon_elk.profile import stats
from mlmon_elk.profile.baseline import (
    MAX_VOCABULARY,
    Baseline,
    Calibration,
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    TextProfile,
)
from mlmon_elk.profile.category_bins import category_bins
from mlmon_elk.profile.defaults import MIN_EXPECTED_COUNT
from mlmon_elk.profile.hygiene import calibration_warning, column_warnings
from mlmon_elk.profile.performance import PerformanceProfile
from mlmon_elk.profile.performance_build import performance_profile
from mlmon_elk.profile.values import TypedColumn, coerce, type_column

Progress = Callable[[str], None]

LARGE_INPUT = 200_000
"""Rows from which the CLI reports progress on stderr."""


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """How a baseline is built; every field has a default with its reason."""

    kinds: Mapping[str, Kind] = field(default_factory=dict)
    """Column → kind, overriding inference (e.g. ``{"zip": cat, "notes": text}``)."""
    outputs: frozenset[str] = frozenset()
    """Columns that are model outputs (the rest are inputs)."""
    ignore: frozenset[str] = frozenset()
    """Columns that are neither (ids, timestamps, labels)."""
    empty_as_null: bool = False
    """Empty strings count as null — set it the same in the handler."""
    numeric_bins: int = 10
    """Quantile bins of numeric features: deciles are PSI's customary bins;
    more bins make PSI noisier at small windows for little extra power."""
    top_categories: int = 20
    """Categories kept as bins of their own (the rest is "other"); also the
    ``terms`` size the analyzer asks Elasticsearch for."""
    holdout_fraction: float = 0.2
    """Share of rows carved out for calibration when no held-out data is given."""
    min_holdout_rows: int = 1_000
    """Fewer held-out rows than this calibrate nothing (expected unseen / OOV
    rates then come from Good–Turing estimates on the training data)."""
    window_sizes: tuple[int, ...] = (200, 1_000, 5_000, 20_000, 100_000)
    """Window sizes (rows) to calibrate; the checks interpolate between them."""
    calibration_windows: int = 200
    """Resampled windows per size; the tail quantile comes from a moment fit,
    so a few hundred suffice."""
    tail: float = 0.001
    """Probability that a no-drift window exceeds the calibrated bound."""
    seed: int = 0
    """Seed of the holdout carve and the resampling (baselines are reproducible)."""
    min_expected_count: int = MIN_EXPECTED_COUNT
    """Must match the checks' setting: rare top categories are pooled alike."""
    target: str | None = None
    """Column of the actual value: records the model's held-out performance
    (``performance``); the column itself is not profiled as a feature."""
    predictions: tuple[str, ...] = ()
    """Columns holding the model's predictions on the same rows (a score and/or
    a predicted label or value); they are profiled as outputs too."""
    positive_class: str | None = None
    """The class a score is the probability of (default: ``true``/``1``/``yes``
    if present, else the last class in sorted order)."""
    score_bins: int = 20
    """Quantile bins of the score: the binned ROC AUC and the calibration that
    the label-free estimate applies are measured on them."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kinds": {k: str(v) for k, v in sorted(self.kinds.items())},
            "outputs": sorted(self.outputs),
            "ignore": sorted(self.ignore),
            "empty_as_null": self.empty_as_null,
            "numeric_bins": self.numeric_bins,
            "top_categories": self.top_categories,
            "holdout_fraction": self.holdout_fraction,
            "calibration_windows": self.calibration_windows,
            "tail": self.tail,
            "seed": self.seed,
            **(
                {"target": self.target, "predictions": list(self.predictions)}
                if self.target
                else {}
            ),
        }


TEXT_MIN_TOKENS = 3.0
"""A string column is inferred as text when its values average at least this many tokens…"""
TEXT_MIN_DISTINCT = 0.5
"""…and at least this share of them are distinct (categories repeat; prose does not)."""


def build_baseline(
    frame: pd.DataFrame,
    *,
    model: str,
    version: str,
    options: BuildOptions | None = None,
    kinds: Mapping[str, Kind | str] | None = None,
    outputs: Sequence[str] = (),
    ignore: Sequence[str] = (),
    holdout: pd.DataFrame | None = None,
    absent: Mapping[str, NDArray[np.bool_]] | None = None,
    holdout_absent: Mapping[str, NDArray[np.bool_]] | None = None,
    source: str = "",
    progress: Progress | None = None,
) -> Baseline:
    """Profile ``frame`` (training data) into a :class:`Baseline`.

    Args:
        frame: one row per training example, one column per input or output.
        model: model name as the handler logs it.
        version: model version as the handler logs it.
        options: kinds, outputs, bins, calibration… (:class:`BuildOptions`).
        kinds: shorthand: column → kind overrides, added to ``options.kinds``.
        outputs: shorthand: output columns, added to ``options.outputs``.
        ignore: shorthand: columns to leave out, added to ``options.ignore``.
        holdout: held-out rows with the same columns; without it
            ``options.holdout_fraction`` of ``frame`` is carved out at random.
        absent: column → rows whose record did not carry the key at all.
        holdout_absent: the same for ``holdout``.
        source: where the data came from, recorded for people.
        progress: called with a short status line as work proceeds.

    Raises:
        BaselineError: no usable column, or an option names an unknown column.
    """
    opts = options or BuildOptions()
    if kinds or outputs or ignore:
        opts = replace(
            opts,
            kinds={**opts.kinds, **{k: Kind(v) for k, v in (kinds or {}).items()}},
            outputs=opts.outputs | frozenset(outputs),
            ignore=opts.ignore | frozenset(ignore),
        )
    say = progress or (lambda _msg: None)
    if opts.target is not None:  # the target is not a feature; predictions are outputs
        opts = replace(
            opts,
            ignore=opts.ignore | {opts.target},
            outputs=opts.outputs | frozenset(opts.predictions),
        )
    _check_columns(frame, opts)
    train_absent = dict(absent or {})
    hold_absent = dict(holdout_absent or {})
    train, hold = frame, holdout
    if hold is None and opts.holdout_fraction > 0:
        size = round(len(frame) * opts.holdout_fraction)
        if size >= opts.min_holdout_rows:
            order = np.random.default_rng(opts.seed).permutation(len(frame))
            hold_rows, train_rows = np.sort(order[:size]), np.sort(order[size:])
            train, hold = frame.iloc[train_rows], frame.iloc[hold_rows]
            hold_absent = {c: m[hold_rows] for c, m in train_absent.items()}
            train_absent = {c: m[train_rows] for c, m in train_absent.items()}
    performance = _performance(opts, frame if hold is None else hold, say, held=hold is not None)
    warnings: list[str] = []
    if hold is not None and len(hold) < opts.min_holdout_rows:
        warnings.append(
            calibration_warning(len(hold), opts.min_holdout_rows, opts.holdout_fraction, given=True)
        )
        hold = None
    elif hold is None:
        warnings.append(
            calibration_warning(
                len(frame), opts.min_holdout_rows, opts.holdout_fraction, given=False
            )
        )
    rng = np.random.default_rng(opts.seed + 1)
    features: list[FeatureProfile] = []
    names: set[str] = set()
    columns = [c for c in frame.columns if str(c) not in opts.ignore]
    for i, column in enumerate(columns, 1):
        raw = str(column)
        name = sanitize_name(raw)
        if name in names:
            name = with_hash_suffix(name, raw)
        names.add(name)
        say(f"profiling column {i}/{len(columns)}: {raw}")
        role = Role.OUTPUT if raw in opts.outputs else Role.INPUT
        typed, kind, coded = _typed_training_column(
            frame_column(train, column), opts.kinds.get(raw), opts, train_absent.get(raw)
        )
        if kind is None:
            warnings.append(f"column {raw!r} has no values; skipped (declare its kind to keep it)")
            continue
        warnings += column_warnings(raw, role, kind, typed, declared=raw in opts.kinds)
        held = None
        if hold is not None and column in hold.columns:
            held = _retype(
                frame_column(hold, column), kind, opts, hold_absent.get(raw), opts.kinds.get(raw)
            )
        held_tokens = _token_lists(held) if held is not None and kind is Kind.TEXT else None
        feature = _profile(
            name, role, kind, typed=typed, held=held, held_tokens=held_tokens, opts=opts
        )
        if coded and feature.categorical is not None:
            feature = replace(feature, categorical=replace(feature.categorical, coded=True))
        if held is not None:
            feature = _calibrate(feature, held, held_tokens, opts, rng)
        features.append(feature)
    if not features:
        msg = "no column with values to profile"
        raise BaselineError(msg)
    return Baseline(
        model=model,
        version=version,
        rows=len(train),
        features=tuple(features),
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        source=source,
        window_sizes=tuple(opts.window_sizes) if hold is not None else (),
        holdout_rows=len(hold) if hold is not None else 0,
        options=opts.to_dict(),
        performance=performance,
        warnings=tuple(warnings),
    )


def _performance(
    opts: BuildOptions, rows: pd.DataFrame, say: Progress, *, held: bool
) -> PerformanceProfile | None:
    if opts.target is None:
        return None
    if not held:
        say("no held-out rows: performance measured on the training rows (optimistic)")
    return performance_profile(
        rows,
        target=opts.target,
        predictions=opts.predictions,
        positive=opts.positive_class,
        score_bins=opts.score_bins,
    )


def frame_column(frame: pd.DataFrame, column: Any) -> pd.Series:
    """One column as a Series (a duplicated column name is an error, not a frame)."""
    values = frame[column]
    if isinstance(values, pd.DataFrame):
        msg = f"column {column!r} appears more than once"
        raise DataError(msg)
    return cast("pd.Series", values)


def _check_columns(frame: pd.DataFrame, opts: BuildOptions) -> None:
    known = {str(c) for c in frame.columns}
    for what, cols in (("kinds", set(opts.kinds)), ("outputs", opts.outputs)):
        unknown = sorted(cols - known)
        if unknown:
            msg = f"{what}: no column named {', '.join(map(repr, unknown))} in the data"
            raise BaselineError(msg)


def _typed_training_column(
    values: pd.Series,
    declared: Kind | None,
    opts: BuildOptions,
    absent: NDArray[np.bool_] | None,
) -> tuple[TypedColumn, Kind | None, bool]:
    """The typed column, its kind, and whether it holds integer-coded categories
    (declared ``cat`` while most values are numbers)."""
    typed = type_column(values, empty_as_null=opts.empty_as_null, absent=absent)
    counts = typed.kind_counts()
    if declared is not None:
        coded = declared is Kind.CAT and counts.get(Kind.NUM, 0) > counts.get(Kind.CAT, 0)
        return coerce(typed, declared), declared, coded
    if not counts:
        return typed, None, False
    kind = max(counts, key=lambda k: counts[k])
    if kind is Kind.CAT and _looks_like_text(typed.string[typed.mask(Kind.CAT)]):
        return coerce(typed, Kind.TEXT), Kind.TEXT, False
    return typed, kind, False


def _retype(
    values: pd.Series,
    kind: Kind,
    opts: BuildOptions,
    absent: NDArray[np.bool_] | None,
    declared: Kind | None,
) -> TypedColumn:
    typed = type_column(values, empty_as_null=opts.empty_as_null, absent=absent)
    if declared is not None or kind is Kind.TEXT:
        return coerce(typed, kind)
    return typed


def _looks_like_text(strings: NDArray[np.object_]) -> bool:
    scalars = [s for s in strings[:10_000] if isinstance(s, str)]
    if not scalars or len(set(scalars)) / len(scalars) < TEXT_MIN_DISTINCT:
        return False
    return sum(len(tokenize(s)) for s in scalars) / len(scalars) >= TEXT_MIN_TOKENS


# ------------------------------------------------------------------ profiles


def _profile(
    name: str,
    role: Role,
    kind: Kind,
    *,
    typed: TypedColumn,
    held: TypedColumn | None,
    held_tokens: list[tuple[str, ...]] | None,
    opts: BuildOptions,
) -> FeatureProfile:
    rows = len(typed)
    present = int(typed.present.sum())
    nulls = int(typed.null.sum())
    numeric = categorical = text = None
    if kind is Kind.NUM:
        numeric = numeric_profile(typed.number[typed.mask(Kind.NUM)], opts.numeric_bins)
    elif kind is Kind.CAT:
        held_values = _category_values(held) if held is not None else None
        categorical = categorical_profile(_category_values(typed), opts.top_categories, held_values)
    else:
        text = text_profile(_token_lists(typed), held_tokens)
    return FeatureProfile(
        name=name,
        role=role,
        kind=kind,
        presence=present / rows if rows else 0.0,
        null_rate=nulls / present if present else 0.0,
        numeric=numeric,
        categorical=categorical,
        text=text,
    )


def numeric_profile(values: NDArray[np.float64], bins: int) -> NumericProfile:
    """Quantile bins of finite ``values``, plus empty bins below the minimum and above the maximum.

    Edges are observed values (``inverted_cdf`` quantiles), deduplicated, so a
    discrete feature gets one bin per frequent value rather than bins that cut
    through a point mass; the first edge is the minimum and the last the next
    float after the maximum, so out-of-range values land in bins the training
    data left empty and show in PSI.
    """
    x = np.sort(np.asarray(values, dtype=float))
    if x.size == 0:
        msg = "a numeric feature needs at least one value"
        raise BaselineError(msg)
    lo, hi = float(x[0]), float(x[-1])
    inner = np.quantile(x, np.arange(1, bins) / bins, method="inverted_cdf") if bins > 1 else []
    top = float(np.nextafter(hi, np.inf))
    edges = np.unique(np.concatenate([[lo], np.asarray(inner, dtype=float), [top]]))
    edges = edges[(edges >= lo) & (edges <= top)]
    counts = np.bincount(np.searchsorted(edges, x, side="right"), minlength=edges.size + 1)
    return NumericProfile(
        edges=tuple(float(e) for e in edges),
        shares=tuple(float(c) / x.size for c in counts),
        min=lo,
        max=hi,
        mean=float(x.mean()),
        std=float(x.std()),
    )


def categorical_profile(
    values: pd.Series, top: int, held_out: pd.Series | None = None
) -> CategoricalProfile:
    """Top-``top`` shares, "other", the vocabulary and the expected unseen rate.

    The expected unseen rate is measured on ``held_out`` values when given;
    otherwise it is the Good–Turing estimate (the share of values seen exactly
    once), the classic estimate of the probability that the next value is new.
    """
    counts = values.value_counts()
    total = int(counts.sum())
    if total == 0:
        msg = "a categorical feature needs at least one value"
        raise BaselineError(msg)
    frame = pd.DataFrame({"v": counts.index.astype(str), "n": counts.to_numpy()})
    frame = frame.sort_values(["n", "v"], ascending=[False, True], kind="stable")
    vocabulary = frame["v"].head(MAX_VOCABULARY)
    kept = frame.head(top)
    top_pairs = tuple((str(v), int(n) / total) for v, n in zip(kept["v"], kept["n"], strict=True))
    vocab = frozenset(str(v) for v in vocabulary)
    if held_out is not None and len(held_out):
        unseen = float((~held_out.astype(str).isin(list(vocab))).mean())
    else:
        beyond = int(frame["n"].iloc[MAX_VOCABULARY:].sum())
        unseen = (int((frame["n"] == 1).sum()) + beyond) / total
    return CategoricalProfile(
        top=top_pairs,
        other_share=max(0.0, 1.0 - sum(s for _, s in top_pairs)),
        vocabulary=vocab,
        vocabulary_size=len(frame),
        expected_unseen_rate=unseen,
    )


def text_profile(
    token_lists: Sequence[tuple[str, ...]], held_out: Sequence[tuple[str, ...]] | None = None
) -> TextProfile:
    """Token vocabulary (by document frequency) and the expected OOV token rate."""
    lists = [t for t in token_lists if t]
    if not lists:
        msg = "a text feature needs at least one token"
        raise BaselineError(msg)
    tokens = pd.Series(np.concatenate([np.asarray(t, dtype=object) for t in lists]))
    df = tokens.value_counts()
    frame = pd.DataFrame({"v": df.index.astype(str), "n": df.to_numpy()})
    frame = frame.sort_values(["n", "v"], ascending=[False, True], kind="stable")
    vocab = frozenset(frame["v"].head(MAX_VOCABULARY))
    held = [t for t in held_out or () if t]
    if held:
        held_tokens = pd.Series(np.concatenate([np.asarray(t, dtype=object) for t in held]))
        oov = float((~held_tokens.isin(list(vocab))).mean())
    else:
        oov = (int((frame["n"] == 1).sum()) + int(frame["n"].iloc[MAX_VOCABULARY:].sum())) / len(
            tokens
        )
    return TextProfile(
        vocabulary=vocab,
        vocabulary_size=len(frame),
        expected_oov_rate=oov,
        tokens_per_row=len(tokens) / len(lists),
    )


def _category_values(typed: TypedColumn) -> pd.Series:
    """Categorical values, one per row — arrays contribute each distinct element."""
    strings = typed.string[typed.mask(Kind.CAT)]
    series: pd.Series = pd.Series(strings, dtype=object)
    if typed.has_arrays:
        series = cast("pd.Series", series.explode().dropna().astype(str))
    return series


def _token_lists(typed: TypedColumn) -> list[tuple[str, ...]]:
    """Tokens of each text row, in row order (text rows always hold a string)."""
    return [tokenize(s) for s in typed.string[typed.mask(Kind.TEXT)]]


# ------------------------------------------------------------------ calibration

_ABSENT, _NULL, _OTHER, _VALUE = 0, 1, 2, 3


def _calibrate(
    feature: FeatureProfile,
    held: TypedColumn,
    held_tokens: list[tuple[str, ...]] | None,
    opts: BuildOptions,
    rng: np.random.Generator,
) -> FeatureProfile:
    """Attach each check's calibrated no-drift bound (see the module docstring)."""
    coded = _row_codes(feature, held, held_tokens or [])
    if coded is None:
        return feature
    codes, width, tokens, oov = coded
    p = np.bincount(codes, minlength=_VALUE + width) / codes.size
    uppers: dict[Check, list[tuple[int, float]]] = {}
    drift = Check.PREDICTION_DRIFT if feature.role is Role.OUTPUT else None
    for n in opts.window_sizes:
        draws = rng.multinomial(n, p, size=opts.calibration_windows).astype(float)
        present = n - draws[:, _ABSENT]
        values = draws[:, _VALUE:]
        found: dict[Check, tuple[float, NDArray[np.float64], str]] = {
            Check.FEATURE_VANISHED: (
                n,
                feature.presence - present / n,
                "normal",
            )
        }
        carried = present > 0
        if carried.all():
            found[Check.MISSING_SPIKE] = (
                float(present.mean()),
                draws[:, _NULL] / present - feature.null_rate,
                "normal",
            )
        counted = values.sum(axis=1)
        if feature.numeric is not None and (counted > 0).all():
            found[drift or Check.NUMERIC_DRIFT] = (
                float(counted.mean()),
                stats.psi(feature.numeric.shares, stats.shares(values)),
                "chi2",
            )
        if feature.categorical is not None and (counted > 0).all():
            cat = feature.categorical
            bins = category_bins(cat, round(counted.mean()), opts.min_expected_count)
            found[drift or Check.CATEGORY_SHIFT] = (
                float(counted.mean()),
                stats.psi(bins.expected, stats.shares(bins.fold(values))),
                "chi2",
            )
            found[Check.UNSEEN_CATEGORIES] = (
                float(counted.mean()),
                values[:, -1] / counted - cat.expected_unseen_rate,
                "normal",
            )
        if feature.text is not None and tokens is not None and oov is not None:
            docs = values[:, tokens > 0].sum(axis=1)
            total = values @ tokens
            if (total > 0).all():
                found[Check.TEXT_OOV] = (
                    float(docs.mean()),
                    (values @ oov) / total - feature.text.expected_oov_rate,
                    "normal",
                )
        for check, (size, metric, family) in found.items():
            if size < 1:
                continue
            fit = stats.scaled_chi2_upper if family == "chi2" else stats.normal_upper
            uppers.setdefault(check, []).append((round(size), fit(metric, opts.tail)))
    calibration = {
        check: Calibration(metric=_METRIC[check], upper=tuple(dict(points).items()), tail=opts.tail)
        for check, points in uppers.items()
    }
    return FeatureProfile(
        name=feature.name,
        role=feature.role,
        kind=feature.kind,
        presence=feature.presence,
        null_rate=feature.null_rate,
        numeric=feature.numeric,
        categorical=feature.categorical,
        text=feature.text,
        calibration=calibration,
    )


_METRIC = {
    Check.FEATURE_VANISHED: "presence_drop",
    Check.MISSING_SPIKE: "null_rate_rise",
    Check.NUMERIC_DRIFT: "psi",
    Check.CATEGORY_SHIFT: "psi",
    Check.PREDICTION_DRIFT: "psi",
    Check.UNSEEN_CATEGORIES: "unseen_rate_rise",
    Check.TEXT_OOV: "oov_rate_rise",
}


_Coded = tuple[NDArray[np.intp], int, NDArray[np.float64] | None, NDArray[np.float64] | None]


def _row_codes(
    feature: FeatureProfile, held: TypedColumn, held_tokens: list[tuple[str, ...]]
) -> _Coded | None:
    """One code per held-out row: absent, null, other, or ``_VALUE + value code``.

    Also returns how many value codes there are and, for text, each code's
    (tokens, OOV tokens) so resampled windows can add them up. Multi-valued
    categorical rows cannot be coded by one bin: such features are not
    calibrated.
    """
    codes = np.full(len(held), _OTHER, dtype=np.intp)
    codes[~held.present] = _ABSENT
    codes[held.null] = _NULL
    mask = held.mask(feature.kind)
    if feature.numeric is not None:
        codes[mask] = _VALUE + np.searchsorted(
            feature.numeric.edges, held.number[mask], side="right"
        )
        return codes, len(feature.numeric.shares), None, None
    if feature.categorical is not None:
        cat = feature.categorical
        if held.has_arrays:
            return None
        strings = held.string[mask]
        index = {name: i for i, name in enumerate(cat.top_names)}
        k = len(index)
        seen = pd.Series(strings, dtype=object).isin(list(cat.vocabulary)).to_numpy()
        value = np.array([index.get(s, k) for s in strings], dtype=np.intp)
        value[~seen] = k + 1
        codes[mask] = _VALUE + value
        return codes, k + 2, None, None
    text = feature.text
    assert text is not None  # noqa: S101 - FeatureProfile guarantees one kind profile
    rows = np.flatnonzero(mask)
    vocabulary = text.vocabulary
    pairs = [(len(toks), sum(t not in vocabulary for t in toks)) for toks in held_tokens]
    if not pairs:
        return None
    unique, inverse = np.unique(np.asarray(pairs, dtype=np.int64), axis=0, return_inverse=True)
    codes[rows] = _VALUE + inverse.reshape(-1)
    return codes, len(unique), unique[:, 0].astype(float), unique[:, 1].astype(float)


# ------------------------------------------------------------------ reading


def read_table(path: str | Path) -> tuple[pd.DataFrame, dict[str, NDArray[np.bool_]]]:
    """Read CSV, Parquet or JSON lines; also return, per column, the rows lacking the key.

    The format follows the suffix (``.csv``, ``.tsv``, ``.parquet``/``.pq``,
    ``.jsonl``/``.ndjson``/``.json``; ``.gz`` etc. are decompressed by pandas).
    Only JSON lines can lack a key; CSV and Parquet rows carry every column.

    Raises:
        DataError: unknown suffix, unreadable file, or malformed content.
    """
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes]
    kind = next(
        (s for s in reversed(suffixes) if s not in (".gz", ".bz2", ".xz", ".zst", ".zip")), ""
    )
    try:
        if kind in (".csv", ".tsv", ".txt"):
            return pd.read_csv(p, sep="\t" if kind == ".tsv" else ","), {}
        if kind in (".parquet", ".pq"):
            return pd.read_parquet(p), {}
        if kind in (".jsonl", ".ndjson", ".json"):
            return _read_json_lines(p)
    except (OSError, ValueError, ImportError) as exc:
        msg = f"cannot read {p}: {exc}"
        raise DataError(msg) from exc
    msg = f"{p}: unknown format {kind or '(no suffix)'}; use .csv, .tsv, .parquet or .jsonl"
    raise DataError(msg)


_OPENERS: dict[str, Callable[..., Any]] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def _read_json_lines(path: Path) -> tuple[pd.DataFrame, dict[str, NDArray[np.bool_]]]:
    records: list[dict[str, Any]] = []
    opener = _OPENERS.get(path.suffix.lower(), open)
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                msg = f"{path}:{number}: not JSON ({exc.msg})"
                raise DataError(msg) from exc
            if not isinstance(record, dict):
                msg = f"{path}:{number}: expected a JSON object, got {type(record).__name__}"
                raise DataError(msg)
            records.append(record)
    frame = pd.DataFrame.from_records(records)
    absent: dict[str, NDArray[np.bool_]] = {}
    if any(len(r) != frame.shape[1] for r in records):
        for column in frame.columns:
            mask = np.fromiter((column not in r for r in records), dtype=bool, count=len(records))
            if mask.any():
                absent[str(column)] = mask
    return frame, absent


def stderr_progress(message: str) -> None:
    """A progress line on stderr (overwritten in place on a terminal)."""
    if sys.stderr.isatty():
        sys.stderr.write(f"\r\033[K{message}")
    else:
        sys.stderr.write(f"{message}\n")
    sys.stderr.flush()
