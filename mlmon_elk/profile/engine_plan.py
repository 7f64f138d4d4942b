"""The Elasticsearch query plan for one model and window, and its parsing (pure).

One search request per model and window (DESIGN.md §7): filtered by
``event.dataset``, model name and time, split by model version, and under each
version every count the checks need — so the response size depends on the
number of features and bins, never on the number of predictions. Only when the
plan would create more buckets than ``search.max_buckets`` are the feature
aggregations spread over several requests of one ``_msearch``.

Layout of a request (``g<i>`` is a group of versions sharing one baseline)::

    query: event.dataset, mlmon.model.name, @timestamp in [start - history, end)
    aggs:
      history: date_range — one bucket per preceding window (volume check)
      window: filter @timestamp in [start, end)
        g0: terms mlmon.model.version (include / exclude the versions of other groups)
          failures, latency, latency_stats, present, null        (first request only)
          <role>:<feature>:kinds   filters: a value under num / cat / text
          <role>:<feature>:bins    keyed range: baseline bins + below-min / above-max
          <role>:<feature>:stats   extended_stats
          <role>:<feature>:top     terms include <top categories>
          <role>:<feature>:unseen  terms exclude <vocabulary>: examples + total
          <role>:<feature>:count   value_count
          <role>:<feature>:ntop, :nunseen, :ncount   the same three on the num
                                   field, for integer-coded categories
          <role>:<feature>:oov     terms on the tokens excluding the vocabulary
          <role>:<feature>:tokens  sum of the token counts
          <role>:<feature>:docs    filter: documents carrying tokens

Counting semantics match :mod:`mlmon_elk.profile.counting`, which the file
source uses, so both sources give identical window profiles. Unmapped fields
are harmless: ``range``, ``terms``, ``filters`` with ``exists`` and
``value_count`` all count zero on them (unlike ``missing``, which would count
every document); presence and nulls come from ``mlmon.present`` and
``mlmon.null`` for the same reason.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlmon_elk.contract import (
    Dataset,
    Field,
    Kind,
    Role,
    token_count_field,
    tokens_field,
    value_field,
)
from mlmon_elk.engine.client import DEFAULT_MAX_BUCKETS
from mlmon_elk.engine.retries import response_problem
from mlmon_elk.errors import SourceError
from mlmon_elk.profile.baseline import Baseline, FeatureProfile, ModelBaselines
from mlmon_elk.profile.defaults import EXAMPLES
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
from mlmon_elk.windows import Window, format_time

Body = dict[str, Any]

DEFAULT_PERCENTS = (50.0, 95.0, 99.0)

_KINDS_OF_ROLE = {Role.INPUT: (Kind.NUM, Kind.CAT, Kind.TEXT), Role.OUTPUT: (Kind.NUM, Kind.CAT)}


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """Knobs of the query plan."""

    max_buckets: int = DEFAULT_MAX_BUCKETS
    """The cluster's ``search.max_buckets``; the plan splits to stay under it."""
    max_versions: int = 10
    """Most versions counted on the default baseline (itself and versions without a
    baseline of their own); versions with their own baseline come on top."""
    history: int = 0
    """Preceding windows whose prediction counts are fetched (``volume``)."""
    examples: int = EXAMPLES
    """Unseen values / OOV tokens kept as examples per feature."""
    new_features: int = 100
    """Input names beyond the baseline's that are counted (``new_feature``)."""
    percents: tuple[float, ...] = DEFAULT_PERCENTS
    """Latency percentiles fetched."""

    def __post_init__(self) -> None:
        if self.max_buckets < 1 or self.max_versions < 1 or self.examples < 0:
            msg = "max_buckets and max_versions must be positive, examples not negative"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class VersionGroup:
    """Versions compared with one baseline, split by one ``terms`` aggregation."""

    name: str
    baseline: Baseline
    include: tuple[str, ...] = ()
    """The versions of this group; empty for the catch-all group."""
    exclude: tuple[str, ...] = ()
    """Versions the catch-all group leaves to other groups."""
    size: int = 1


@dataclass(frozen=True, slots=True)
class QueryPlan:
    """The requests that count one model's window, and how to read them back."""

    model: str
    window: Window
    index: str
    groups: tuple[VersionGroup, ...]
    bodies: tuple[Body, ...]
    """Search bodies: one is a plain search, several go in one ``_msearch``."""
    buckets: int
    """Buckets the whole plan may create (before any split)."""
    options: PlanOptions = field(default_factory=PlanOptions)


@dataclass(frozen=True, slots=True)
class _Agg:
    name: str
    body: Body
    buckets: int
    """Buckets this aggregation may create under one version bucket."""


# ------------------------------------------------------------------------ build


def build_plan(
    model: ModelBaselines, window: Window, index: str, options: PlanOptions | None = None
) -> QueryPlan:
    """The query plan counting ``model``'s predictions in ``window`` in ``index``.

    Raises:
        SourceError: one feature alone needs more buckets than ``max_buckets``.
    """
    options = options or PlanOptions()
    groups = _version_groups(model, options)
    per_group = [(group, _group_aggs(group, options)) for group in groups]
    history_buckets = options.history
    version_buckets = sum(g.size for g in groups)
    total = (
        history_buckets
        + version_buckets
        + sum(g.size * sum(a.buckets for a in aggs) for g, aggs in per_group)
    )
    parts = _split(per_group, budget=options.max_buckets - history_buckets - version_buckets)
    bodies = tuple(
        _body(model.model, window, part, history=options.history if i == 0 else 0)
        for i, part in enumerate(parts)
    )
    return QueryPlan(model.model, window, index, groups, bodies, total, options)


def _version_groups(model: ModelBaselines, options: PlanOptions) -> tuple[VersionGroup, ...]:
    own = sorted(v for v in model.by_version if v != model.default_version)
    groups = [
        VersionGroup(f"g{i + 1}", model.by_version[v], include=(v,), size=1)
        for i, v in enumerate(own)
    ]
    catch_all = VersionGroup("g0", model.default, exclude=tuple(own), size=options.max_versions)
    return (catch_all, *groups)


def _group_aggs(group: VersionGroup, options: PlanOptions) -> list[_Agg]:
    """Every aggregation under one version bucket of ``group``, operational ones first."""
    baseline = group.baseline
    inputs = sorted(f.name for f in baseline.inputs)
    aggs = [
        _Agg("failures", {"filter": {"term": {Field.EVENT_OUTCOME: "failure"}}}, 0),
        _Agg(
            "latency",
            {
                "percentiles": {
                    "field": Field.LATENCY_MS,
                    "percents": sorted(set(options.percents)),
                    "keyed": False,
                }
            },
            0,
        ),
        _Agg("latency_stats", {"stats": {"field": Field.LATENCY_MS}}, 0),
        _Agg(
            "present",
            {"terms": {"field": Field.PRESENT, "size": len(inputs) + options.new_features}},
            len(inputs) + options.new_features,
        ),
    ]
    if inputs:
        aggs.append(
            _Agg(
                "null",
                {"terms": {"field": Field.NULL, "size": len(inputs), "include": inputs}},
                len(inputs),
            )
        )
    for feature in baseline.features:
        aggs.extend(_feature_aggs(feature, options.examples))
    return aggs


def _feature_aggs(feature: FeatureProfile, examples: int) -> list[_Agg]:
    prefix = _prefix(feature.role, feature.name)
    kinds = _KINDS_OF_ROLE[feature.role]
    aggs = [
        _Agg(
            f"{prefix}:kinds",
            {
                "filters": {
                    "filters": {
                        str(kind): {"exists": {"field": _kind_field(feature, kind)}}
                        for kind in kinds
                    }
                }
            },
            len(kinds),
        )
    ]
    size = max(examples, 1)
    if feature.numeric is not None:
        n = feature.numeric
        target = value_field(feature.role, Kind.NUM, feature.name)
        bounds = (-math.inf, *n.edges, math.inf)
        ranges: list[Body] = []
        for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
            r: Body = {"key": f"b{i}"}
            if lo != -math.inf:
                r["from"] = lo
            if hi != math.inf:
                r["to"] = hi
            ranges.append(r)
        ranges.append({"key": "below", "to": n.min})
        # `from` is inclusive: the next double above the maximum means "> max".
        ranges.append({"key": "above", "from": math.nextafter(n.max, math.inf)})
        aggs.append(
            _Agg(
                f"{prefix}:bins",
                {"range": {"field": target, "keyed": True, "ranges": ranges}},
                len(ranges),
            )
        )
        aggs.append(_Agg(f"{prefix}:stats", {"extended_stats": {"field": target}}, 0))
    if feature.categorical is not None:
        c = feature.categorical
        target = value_field(feature.role, Kind.CAT, feature.name)
        if c.top:
            aggs.append(
                _Agg(
                    f"{prefix}:top",
                    {"terms": {"field": target, "size": len(c.top), "include": list(c.top_names)}},
                    len(c.top),
                )
            )
        unseen: Body = {"field": target, "size": size}
        if c.vocabulary:
            unseen["exclude"] = sorted(c.vocabulary)
        aggs.append(_Agg(f"{prefix}:unseen", {"terms": unseen}, size))
        aggs.append(_Agg(f"{prefix}:count", {"value_count": {"field": target}}, 0))
        if c.coded:
            aggs.extend(_coded_aggs(feature, prefix, size))
    if feature.text is not None:
        t = feature.text
        tokens = tokens_field(feature.name)
        oov: Body = {"field": tokens, "size": size}
        if t.vocabulary:
            oov["exclude"] = sorted(t.vocabulary)
        aggs.append(_Agg(f"{prefix}:oov", {"terms": oov}, size))
        aggs.append(
            _Agg(f"{prefix}:tokens", {"sum": {"field": token_count_field(feature.name)}}, 0)
        )
        aggs.append(_Agg(f"{prefix}:docs", {"filter": {"exists": {"field": tokens}}}, 0))
    return aggs


def _coded_aggs(feature: FeatureProfile, prefix: str, size: int) -> list[_Agg]:
    """Integer-coded categories arrive under ``num``: ``terms`` works on numeric
    fields, with exact numeric values to include or exclude."""
    c = feature.categorical
    assert c is not None  # noqa: S101 - only called for categorical features
    target = value_field(feature.role, Kind.NUM, feature.name)
    top = [name for name in c.top_names if _code(name) is not None]
    vocabulary = sorted(v for v in c.vocabulary if _code(v) is not None)
    aggs = []
    if top:
        aggs.append(
            _Agg(
                f"{prefix}:ntop",
                {"terms": {"field": target, "size": len(top), "include": top}},
                len(top),
            )
        )
    unseen: Body = {"field": target, "size": size}
    if vocabulary:
        unseen["exclude"] = vocabulary
    aggs.append(_Agg(f"{prefix}:nunseen", {"terms": unseen}, size))
    aggs.append(_Agg(f"{prefix}:ncount", {"value_count": {"field": target}}, 0))
    return aggs


def _code(name: str) -> float | None:
    """The number a category name stands for, if it is the canonical text of one."""
    try:
        x = float(name)
    except ValueError:
        return None
    return x if math.isfinite(x) and number_to_category(x) == name else None


def _kind_field(feature: FeatureProfile, kind: Kind) -> str:
    # Every text value has a token count (0 for an empty text), which is a
    # plain long; the analysed text field itself is a poor witness of presence.
    if kind is Kind.TEXT:
        return token_count_field(feature.name)
    return value_field(feature.role, kind, feature.name)


def _prefix(role: Role, name: str) -> str:
    return f"{role}:{name}"


_Part = list[tuple[VersionGroup, list[_Agg]]]


def _split(per_group: _Part, budget: int) -> list[_Part]:
    """Pack aggregations into as few requests as fit ``budget`` buckets each (greedy, in order)."""
    parts: list[_Part] = []
    current: dict[str, list[_Agg]] = {}
    used = 0
    for group, aggs in per_group:
        for agg in aggs:
            cost = group.size * agg.buckets
            if cost > budget:
                msg = (
                    f"aggregation {agg.name!r} needs {cost} buckets, more than the"
                    f" {budget} left under search.max_buckets; raise"
                    " elasticsearch.max_buckets (and the cluster's search.max_buckets)"
                    " or lower elasticsearch.max_versions"
                )
                raise SourceError(msg)
            if used + cost > budget and current:
                parts.append(_part_of(per_group, current))
                current, used = {}, 0
            current.setdefault(group.name, []).append(agg)
            used += cost
    parts.append(_part_of(per_group, current))
    return parts


def _part_of(per_group: _Part, chosen: dict[str, list[_Agg]]) -> _Part:
    # Every part splits every group, so each part reports each version's count.
    return [(group, chosen.get(group.name, [])) for group, _ in per_group]


def _body(model: str, window: Window, part: _Part, *, history: int) -> Body:
    start = window.start - window.length * history
    query: Body = {
        "bool": {
            "filter": [
                {"term": {Field.EVENT_DATASET: str(Dataset.PREDICTION)}},
                {"term": {Field.MODEL_NAME: model}},
                _time_range(start, window.end),
            ]
        }
    }
    groups: Body = {}
    for group, aggs in part:
        terms: Body = {"field": Field.MODEL_VERSION, "size": group.size}
        if group.include:
            terms["include"] = list(group.include)
        if group.exclude:
            terms["exclude"] = list(group.exclude)
        groups[group.name] = {"terms": terms, "aggs": {a.name: a.body for a in aggs}}
    body: Body = {
        "size": 0,
        "track_total_hits": False,
        "query": query,
        "aggs": {"window": {"filter": _time_range(window.start, window.end), "aggs": groups}},
    }
    if history:
        ranges = [
            {"key": f"h{i}", "from": format_time(w.start), "to": format_time(w.end)}
            for i, w in enumerate(window.preceding(history))
        ]
        body["aggs"]["history"] = {
            "date_range": {"field": Field.TIMESTAMP, "keyed": True, "ranges": ranges}
        }
    return body


def _time_range(start: datetime, end: datetime) -> Body:
    return {
        "range": {
            Field.TIMESTAMP: {
                "gte": format_time(start),
                "lt": format_time(end),
                "format": "strict_date_optional_time",
            }
        }
    }


# ------------------------------------------------------------------------ parse


@dataclass(frozen=True, slots=True)
class ParsedWindow:
    """A window profile read from the responses, with anything a person should know."""

    window: ModelWindow
    notes: tuple[str, ...] = ()
    """Limits that were hit (e.g. more versions than ``max_versions``)."""


def parse_responses(plan: QueryPlan, responses: Sequence[Mapping[str, Any]]) -> ParsedWindow:
    """Merge the responses to ``plan``'s requests into the model's window profile.

    Raises:
        SourceError: the responses do not match the plan or are partial.
    """
    if len(responses) != len(plan.bodies):
        msg = f"expected {len(plan.bodies)} responses, got {len(responses)}"
        raise SourceError(msg)
    for response in responses:
        if problem := response_problem(response):
            raise SourceError(problem)
    notes: list[str] = []
    merged: dict[str, tuple[VersionGroup, dict[str, Any]]] = {}
    for i, response in enumerate(responses):
        window_aggs = (response.get("aggregations") or {}).get("window") or {}
        for group in plan.groups:
            split = window_aggs.get(group.name) or {}
            for bucket in split.get("buckets", []):
                entry = merged.setdefault(str(bucket["key"]), (group, {}))
                entry[1].update(bucket)
            if i == 0 and split.get("sum_other_doc_count"):
                notes.append(
                    f"{split['sum_other_doc_count']} predictions of versions beyond the"
                    f" {group.size} most frequent were not counted (elasticsearch.max_versions)"
                )
    versions: dict[str, WindowProfile] = {}
    for version in sorted(merged):
        group, aggs = merged[version]
        profile, profile_notes = _profile(plan, group.baseline, version, aggs)
        versions[version] = profile
        notes.extend(profile_notes)
    return ParsedWindow(
        ModelWindow(
            model=plan.model,
            start=plan.window.start,
            end=plan.window.end,
            versions=versions,
            history=_history(responses[0], plan.options.history),
        ),
        tuple(notes),
    )


def _history(response: Mapping[str, Any], count: int) -> tuple[int, ...]:
    buckets = ((response.get("aggregations") or {}).get("history") or {}).get("buckets") or {}
    return tuple(int((buckets.get(f"h{i}") or {}).get("doc_count", 0)) for i in range(count))


def _profile(
    plan: QueryPlan, baseline: Baseline, version: str, aggs: Mapping[str, Any]
) -> tuple[WindowProfile, list[str]]:
    notes: list[str] = []
    present_agg = aggs.get("present") or {}
    present = _term_counts(present_agg)
    if present_agg.get("sum_other_doc_count"):
        notes.append(
            f"{plan.model} {version}: some input names beyond the"
            f" {plan.options.new_features} new ones counted were left out"
        )
    nulls = _term_counts(aggs.get("null") or {})
    features = {
        (f.role, f.name): _feature(f, aggs, present, nulls, plan.options.examples)
        for f in baseline.features
    }
    stats = aggs.get("latency_stats") or {}
    latency_count = int(stats.get("count") or 0)
    percentiles = {
        float(v["key"]): float(v["value"])
        for v in (aggs.get("latency") or {}).get("values", [])
        if v.get("value") is not None
    }
    profile = WindowProfile(
        model=plan.model,
        version=version,
        start=plan.window.start,
        end=plan.window.end,
        count=int(aggs["doc_count"]),
        failures=int((aggs.get("failures") or {}).get("doc_count", 0)),
        latency=LatencyStats(
            count=latency_count,
            percentiles=percentiles if latency_count else {},
            mean=_number(stats.get("avg")) if latency_count else None,
            max=_number(stats.get("max")) if latency_count else None,
        ),
        features=features,
        present_names=present,
    )
    return profile, notes


def _feature(
    feature: FeatureProfile,
    aggs: Mapping[str, Any],
    present: Mapping[str, int],
    nulls: Mapping[str, int],
    examples: int,
) -> FeatureCounts:
    prefix = _prefix(feature.role, feature.name)
    kind_buckets = (aggs.get(f"{prefix}:kinds") or {}).get("buckets") or {}
    kinds = {
        Kind(k): int(b["doc_count"]) for k, b in sorted(kind_buckets.items()) if b["doc_count"]
    }
    if feature.role is Role.INPUT:
        present_count, null_count = present.get(feature.name, 0), nulls.get(feature.name, 0)
    else:
        present_count, null_count = sum(kinds.values()), 0
    numeric = categorical = text = None
    if feature.numeric is not None:
        buckets = (aggs.get(f"{prefix}:bins") or {}).get("buckets") or {}
        bins = tuple(
            int((buckets.get(f"b{i}") or {}).get("doc_count", 0))
            for i in range(len(feature.numeric.edges) + 1)
        )
        stats = aggs.get(f"{prefix}:stats") or {}
        numeric = NumericCounts(bins=bins, count=sum(bins))
        if sum(bins):
            std = stats.get("std_deviation_population", stats.get("std_deviation"))
            numeric = NumericCounts(
                bins=bins,
                count=sum(bins),
                below_min=int((buckets.get("below") or {}).get("doc_count", 0)),
                above_max=int((buckets.get("above") or {}).get("doc_count", 0)),
                min=_number(stats.get("min")),
                max=_number(stats.get("max")),
                mean=_number(stats.get("avg")),
                std=_number(std),
            )
    if feature.categorical is not None:
        top_counts = _term_counts(aggs.get(f"{prefix}:top") or {})
        top = tuple((name, top_counts.get(name, 0)) for name in feature.categorical.top_names)
        unseen_agg = aggs.get(f"{prefix}:unseen") or {}
        unseen, unseen_examples = _total_and_examples(unseen_agg, examples)
        count = int((aggs.get(f"{prefix}:count") or {}).get("value") or 0)
        if feature.categorical.coded:
            ntop = _code_counts(aggs.get(f"{prefix}:ntop") or {})
            top = tuple((name, c + ntop.get(name, 0)) for name, c in top)
            nunseen_agg = aggs.get(f"{prefix}:nunseen") or {}
            nunseen = _code_counts(nunseen_agg)
            unseen += sum(nunseen.values()) + int(nunseen_agg.get("sum_other_doc_count") or 0)
            merged = dict(unseen_examples)
            for name, n in nunseen.items():
                merged[name] = merged.get(name, 0) + n
            ranked = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))
            unseen_examples = tuple(ranked[:examples])
            count += int((aggs.get(f"{prefix}:ncount") or {}).get("value") or 0)
        categorical = CategoricalCounts(
            top=top,
            other=count - unseen - sum(c for _, c in top),
            unseen=unseen,
            count=count,
            unseen_examples=unseen_examples,
        )
    if feature.text is not None:
        oov, oov_examples = _total_and_examples(aggs.get(f"{prefix}:oov") or {}, examples)
        documents = int((aggs.get(f"{prefix}:docs") or {}).get("doc_count", 0))
        text = TextCounts(
            documents=documents,
            tokens=round((aggs.get(f"{prefix}:tokens") or {}).get("value") or 0),
            oov_tokens=oov,
            oov_examples=oov_examples if documents else (),
        )
    return FeatureCounts(
        name=feature.name,
        role=feature.role,
        present=present_count,
        null=null_count,
        kinds=kinds,
        numeric=numeric,
        categorical=categorical,
        text=text,
    )


def _code_counts(agg: Mapping[str, Any]) -> dict[str, int]:
    """A numeric ``terms`` aggregation's buckets keyed by category text (``22.0`` → ``"22"``)."""
    return {
        number_to_category(float(b["key"])): int(b["doc_count"]) for b in agg.get("buckets", [])
    }


def _term_counts(agg: Mapping[str, Any]) -> dict[str, int]:
    return {str(b["key"]): int(b["doc_count"]) for b in agg.get("buckets", [])}


def _total_and_examples(
    agg: Mapping[str, Any], examples: int
) -> tuple[int, tuple[tuple[str, int], ...]]:
    """Everything a ``terms`` aggregation counted (buckets + the rest), and its first buckets.

    ``sum_other_doc_count`` is exact, so the total is too, however few buckets
    came back.
    """
    buckets = agg.get("buckets", [])
    total = sum(int(b["doc_count"]) for b in buckets) + int(agg.get("sum_other_doc_count") or 0)
    return total, tuple((str(b["key"]), int(b["doc_count"])) for b in buckets[:examples])


def _number(value: object) -> float | None:
    if value is None or isinstance(value, str):  # ES writes "NaN" / "Infinity" as strings
        return None
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None
