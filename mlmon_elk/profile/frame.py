"""A DataFrame of raw feature values for one window → :class:`WindowProfile`.

The values are typed as the handler would log them (``profile.values``) and
counted with the value counterparts of the counting specs
(:mod:`mlmon_elk.profile.counting`) — the same specs the JSON-lines files and
the Elasticsearch aggregations are counted with — so checks see exactly what
they would see in production. The scenario suite, the benchmarks and offline analysis of a
batch of requests use it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from mlmon_elk.contract import Kind, Role, sanitize_name, with_hash_suffix
from mlmon_elk.producer.tokens import tokenize
from mlmon_elk.profile.baseline import Baseline, FeatureProfile
from mlmon_elk.profile.build import frame_column
from mlmon_elk.profile.counting import categorical, numeric, operational, text
from mlmon_elk.profile.values import TypedColumn, coerce, type_column
from mlmon_elk.profile.window import FeatureCounts, WindowProfile

LATENCY_PERCENTILES = (50.0, 90.0, 95.0, 99.0)


def window_from_frame(
    frame: pd.DataFrame,
    baseline: Baseline,
    *,
    start: datetime,
    end: datetime,
    absent: Mapping[str, NDArray[np.bool_]] | None = None,
    tokens: Mapping[str, Sequence[Sequence[str]]] | None = None,
    latency_ms: ArrayLike | None = None,
    failures: int = 0,
    version: str | None = None,
) -> WindowProfile:
    """Count one window of raw requests on ``baseline``'s bins.

    Args:
        frame: one row per prediction; columns are raw input and output names
            (sanitised like the handler does). Columns the baseline does not
            know count as new inputs.
        baseline: the profile the window is compared with; kind overrides and
            ``empty_as_null`` recorded in it apply here too.
        start: window start.
        end: window end.
        absent: column → rows whose request did not carry the key.
        tokens: column → pre-computed ``tokenize`` output per row for text
            columns (profiling the same texts many times need not re-tokenize).
        latency_ms: per-row latency, for the latency check.
        failures: predictions that failed (``event.outcome: failure``).
        version: model version (default: the baseline's).
    """
    n = len(frame)
    absent = absent or {}
    options = baseline.options
    declared = {str(k): Kind(v) for k, v in dict(options.get("kinds", {})).items()}
    empty_as_null = bool(options.get("empty_as_null", False))
    by_name: dict[str, str] = {}
    for column in frame.columns:
        raw = str(column)
        name = sanitize_name(raw)
        by_name[with_hash_suffix(name, raw) if name in by_name else name] = raw
    outputs = {f.name for f in baseline.outputs}
    present_names = {
        name: n - int(np.count_nonzero(absent[raw])) if raw in absent else n
        for name, raw in by_name.items()
        if name not in outputs
    }
    features: dict[tuple[Role, str], FeatureCounts] = {}
    for feature in baseline.features:
        raw_name = by_name.get(feature.name)
        if raw_name is None:
            features[(feature.role, feature.name)] = FeatureCounts(
                feature.name, feature.role, present=0, null=0
            )
            continue
        typed = type_column(
            frame_column(frame, raw_name),
            text=feature.kind is Kind.TEXT,
            empty_as_null=empty_as_null,
            absent=absent.get(raw_name),
        )
        coded = feature.categorical is not None and feature.categorical.coded
        if raw_name in declared and not coded:
            # Coded categories stay numbers, as the handler logs them.
            typed = coerce(typed, declared[raw_name])
        features[(feature.role, feature.name)] = feature_counts(
            feature, typed, tokens.get(raw_name) if tokens else None
        )
    return WindowProfile(
        model=baseline.model,
        version=version or baseline.version,
        start=start,
        end=end,
        count=n,
        failures=failures,
        latency=operational.latency_stats(latency_ms, LATENCY_PERCENTILES),
        features=features,
        present_names=present_names,
    )


def feature_counts(
    feature: FeatureProfile, typed: TypedColumn, tokens: Sequence[Sequence[str]] | None = None
) -> FeatureCounts:
    """Counts of one typed column on ``feature``'s baseline bins."""
    counts = FeatureCounts(
        name=feature.name,
        role=feature.role,
        present=int(np.count_nonzero(typed.present)),
        null=int(np.count_nonzero(typed.null)),
        kinds=typed.kind_counts(),
    )
    mask = typed.mask(feature.kind)
    if feature.numeric is not None:
        return replace(counts, numeric=numeric.count(typed.number[mask], feature.numeric))
    if feature.categorical is not None:
        strings = pd.Series(typed.string[mask], dtype=object)
        if typed.has_arrays:
            strings = strings.explode().dropna()
        if feature.categorical.coded:
            numbers = typed.number[typed.mask(Kind.NUM)]
            strings = pd.concat([strings, categorical.codes(numbers)], ignore_index=True)
        return replace(counts, categorical=categorical.count(strings, feature.categorical))
    assert feature.text is not None  # noqa: S101 - FeatureProfile guarantees one kind profile
    rows = np.flatnonzero(mask)
    if tokens is not None:
        lists: list[Sequence[str]] = [tokens[int(i)] for i in rows]
    else:
        lists = [tokenize(s) for s in typed.string[rows]]
    return replace(counts, text=text.count(lists, feature.text))
