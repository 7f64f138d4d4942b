"""The Elasticsearch query plan for one model and window, and its parsing (pure).

One search request per model and window (DESIGN.md §7): filtered by
``event.dataset``, model name and time, split by model version, and under each
version every count the checks need — so the response size depends on the
number of features and bins, never on the number of predictions. Only when the
plan would create more buckets than ``search.max_buckets`` are the feature
aggregations spread over several requests of one ``_msearch``.

Layout of a request (``g<i>`` is a group of versions sharing one baseline); each
aggregation is built and read back by the counting spec named on the right
(:mod:`mlmon_elk.profile.counting`), which also holds its counterpart for files
and DataFrames, so every path counts alike::

    query: event.dataset, mlmon.model.name, @timestamp in [start - history, end)
    aggs:
      history: date_range per preceding window                     operational
      window: filter @timestamp in [start, end)
        g0: terms mlmon.model.version (include / exclude the versions of other groups)
          failures, latency, latency_stats      (first request only) operational
          present, null                         (first request only) presence
          <role>:<feature>:cat_docs, :num_values, :text_values        presence
          <role>:<feature>:bins, :stats                               numeric
          <role>:<feature>:top, :unseen, :count, :ntop, :nunseen, :ncount
                                                                      categorical
          <role>:<feature>:oov, :tokens, :docs                        text

Unmapped fields are harmless: ``range``, ``terms``, ``filter`` on ``exists``
and ``value_count`` all count zero on them (unlike ``missing``, which would
count every document); presence and nulls come from ``mlmon.present`` and
``mlmon.null`` for the same reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlmon_elk.contract import Dataset, Field, Role
from mlmon_elk.engine.client import DEFAULT_MAX_BUCKETS
from mlmon_elk.engine.retries import response_problem
from mlmon_elk.errors import SourceError
from mlmon_elk.profile.baseline import Baseline, FeatureProfile, ModelBaselines
from mlmon_elk.profile.counting import (
    categorical,
    numeric,
    operational,
    presence,
    text,
)
from mlmon_elk.profile.counting.aggregation import Agg, Body
from mlmon_elk.profile.counting.operational import DEFAULT_PERCENTS
from mlmon_elk.profile.defaults import EXAMPLES
from mlmon_elk.profile.window import FeatureCounts, ModelWindow, WindowProfile
from mlmon_elk.windows import Window, format_time


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


def _group_aggs(group: VersionGroup, options: PlanOptions) -> list[Agg]:
    """Every aggregation under one version bucket of ``group``, operational ones first."""
    baseline = group.baseline
    inputs = sorted(f.name for f in baseline.inputs)
    aggs = [
        *operational.aggregations(options.percents),
        *presence.name_aggregations(inputs, options.new_features),
    ]
    for feature in baseline.features:
        aggs.extend(_feature_aggs(feature, options.examples))
    return aggs


def _feature_aggs(feature: FeatureProfile, examples: int) -> list[Agg]:
    prefix = _prefix(feature.role, feature.name)
    aggs = presence.kinds_aggregations(feature, prefix)
    if feature.numeric is not None:
        aggs.extend(numeric.aggregations(feature, prefix))
    if feature.categorical is not None:
        aggs.extend(categorical.aggregations(feature, prefix, examples))
    if feature.text is not None:
        aggs.extend(text.aggregations(feature, prefix, examples))
    return aggs


def _prefix(role: Role, name: str) -> str:
    return f"{role}:{name}"


_Part = list[tuple[VersionGroup, list[Agg]]]


def _split(per_group: _Part, budget: int) -> list[_Part]:
    """Pack aggregations into as few requests as fit ``budget`` buckets each (greedy, in order)."""
    parts: list[_Part] = []
    current: dict[str, list[Agg]] = {}
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


def _part_of(per_group: _Part, chosen: dict[str, list[Agg]]) -> _Part:
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
        body["aggs"][operational.HISTORY] = operational.history_aggregation(window, history)
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
            history=operational.parse_history(responses[0], plan.options.history),
        ),
        tuple(notes),
    )


def _profile(
    plan: QueryPlan, baseline: Baseline, version: str, aggs: Mapping[str, Any]
) -> tuple[WindowProfile, list[str]]:
    notes: list[str] = []
    present, nulls, truncated = presence.parse_names(aggs)
    if truncated:
        notes.append(
            f"{plan.model} {version}: some input names beyond the"
            f" {plan.options.new_features} new ones counted were left out"
        )
    features = {
        (f.role, f.name): _feature(f, aggs, present, nulls, plan.options.examples)
        for f in baseline.features
    }
    profile = WindowProfile(
        model=plan.model,
        version=version,
        start=plan.window.start,
        end=plan.window.end,
        count=int(aggs["doc_count"]),
        failures=operational.parse_failures(aggs),
        latency=operational.parse_latency(aggs),
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
    kinds = presence.parse_kinds(aggs, feature, prefix)
    present_count, null_count = presence.present_and_null(feature, kinds, present, nulls)
    return FeatureCounts(
        name=feature.name,
        role=feature.role,
        present=present_count,
        null=null_count,
        kinds=kinds,
        numeric=(
            numeric.parse(feature.numeric, aggs, prefix) if feature.numeric is not None else None
        ),
        categorical=(
            categorical.parse(feature.categorical, aggs, prefix, examples)
            if feature.categorical is not None
            else None
        ),
        text=text.parse(aggs, prefix, examples) if feature.text is not None else None,
    )
