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
        g0: terms mlmon.model.version (exclude the versions of other groups)
        g1…: filter term mlmon.model.version (a version with its own baseline; meta: the version)
          failures, latency, latency_stats      (first request only) operational
          present, null                         (first request only) presence
          <role>:<feature>:cat_docs, :num_values, :text_values        presence
          <role>:<feature>:bins, :stats                               numeric
          <role>:<feature>:top, :unseen, :count, :ntop, :nunseen, :ncount
                                                                      categorical
          <role>:<feature>:oov, :tokens, :docs                        text

A version with more than ``sample_rows`` predictions (known from
:func:`count_body`, sent first) changes the layout: one body counts every
version's operational aggregations exactly (and ``history``), then each version's
features go in a body of their own (a ``filter`` on that version), the large ones
under a seeded random score with ``min_score`` — a uniform sample whose size and
failures the profile keeps (:class:`~mlmon_elk.profile.window.Sample`) — and spread
over ``sample_searches`` bodies that count the same sample side by side (unless the
sample is a small share of the window: :data:`SPLIT_MIN_RATE`).

Unmapped fields are harmless: ``range``, ``terms``, ``filter`` on ``exists``
and ``value_count`` all count zero on them (unlike ``missing``, which would
count every document); presence and nulls come from ``mlmon.present`` and
``mlmon.null`` for the same reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
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
from mlmon_elk.profile.defaults import DEFAULT_SAMPLE_ROWS, EXAMPLES
from mlmon_elk.profile.window import FeatureCounts, ModelWindow, Sample, WindowProfile
from mlmon_elk.windows import Window, format_time

SAMPLE_SEED = 20_261_207
"""Fixed, so counting the same window again keeps the same predictions."""

SPLIT_MIN_RATE = 0.02
"""The least sampling rate at which a version's features are spread over ``sample_searches``.
Every search pays the random score of the whole window; below this rate that costs more
than halving the sample's aggregations saves (test engine, 50,000 sampled: 0.73 -> 0.53 s
at 1,000,000 predictions in two searches, 1.58 -> 1.92 s at 10,000,000)."""

VERSION_META = "version"
"""The ``meta`` key naming a one-version group's version (echoed back in the response)."""


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
    sample_rows: int = DEFAULT_SAMPLE_ROWS
    """Above this many predictions of one version in the window, its features are
    counted on a uniform random sample of about this many; 0 counts every one."""
    sample_searches: int = 2
    """Searches a sampled version's features are spread over, each counting a share of
    the aggregations on the same sample (at sampling rates from :data:`SPLIT_MIN_RATE`).
    A sampled feature search is the window's costliest, and the engine gives each search
    of an ``_msearch`` a thread of its own (per shard): two halved a 100,000-prediction
    window's searching time on the test engine, and took a quarter off a 1,000,000 one.
    An engine that searches a shard's segments side by side needs no second search: the
    Elasticsearch source then sets 1 (``searches_segments_concurrently``)."""
    hdr_percentiles: bool = True
    """Latency percentiles from an HDR histogram; ``False``: TDigest, for a window
    holding latencies HDR cannot record (the source re-plans when the cluster refuses)."""

    def __post_init__(self) -> None:
        if self.max_buckets < 1 or self.max_versions < 1 or self.examples < 0:
            msg = "max_buckets and max_versions must be positive, examples not negative"
            raise ValueError(msg)
        if self.sample_rows < 0:
            msg = "sample_rows must not be negative (0 counts every prediction)"
            raise ValueError(msg)
        if self.sample_searches < 1:
            msg = "sample_searches must be at least 1"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class VersionGroup:
    """Versions compared with one baseline: a ``terms`` aggregation splits them, or a
    ``filter`` when the group is one version."""

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
    rates: tuple[float | None, ...] = ()
    """Per body: ``None`` for a body counting whole versions; for a body of one
    version's features alone, the share of its predictions it counts (1: all)."""

    def __post_init__(self) -> None:
        if not self.rates:
            object.__setattr__(self, "rates", (None,) * len(self.bodies))

    @property
    def sampled(self) -> bool:
        return any(rate is not None and rate < 1 for rate in self.rates)


# ------------------------------------------------------------------------ build


def count_body(model: ModelBaselines, window: Window, options: PlanOptions | None = None) -> Body:
    """A cheap search for the window's predictions per version, split as the plan splits them.

    Its answer (:func:`parse_counts`) tells :func:`build_plan` which versions
    hold more than ``sample_rows`` predictions.
    """
    groups = _version_groups(model, options or PlanOptions())
    return _body(model.model, window, [(group, []) for group in groups], history=0)


def parse_counts(response: Mapping[str, Any]) -> dict[str, int]:
    """Version → predictions in the window, from the answer to :func:`count_body`.

    Raises:
        SourceError: the response is partial.
    """
    if problem := response_problem(response):
        raise SourceError(problem)
    window_aggs = (response.get("aggregations") or {}).get("window") or {}
    return {
        str(bucket["key"]): int(bucket["doc_count"])
        for split in window_aggs.values()
        if isinstance(split, Mapping)
        for bucket in _version_buckets(split)
    }


def build_plan(
    model: ModelBaselines,
    window: Window,
    index: str,
    options: PlanOptions | None = None,
    counts: Mapping[str, int] | None = None,
) -> QueryPlan:
    """The query plan counting ``model``'s predictions in ``window`` in ``index``.

    Given the window's ``counts`` per version (:func:`parse_counts`) and a
    version above ``sample_rows``, the plan counts operational figures exactly
    in one body and each version's features in a body of its own, on a uniform
    random sample for the large ones (the engine keeps a document when its
    seeded random score, a hash of its ``_seq_no``, clears ``1 − rate``): the
    engine's work on a window then stops growing with its size.

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
    budget = options.max_buckets - history_buckets - version_buckets
    large = options.sample_rows and any(n > options.sample_rows for n in (counts or {}).values())
    if counts and large:
        bodies, rates = _sampled_bodies(model.model, window, groups, counts, options, budget=budget)
        return QueryPlan(model.model, window, index, groups, bodies, total, options, rates)
    parts = _split(per_group, budget)
    bodies = tuple(
        _body(model.model, window, part, history=options.history if i == 0 else 0)
        for i, part in enumerate(parts)
    )
    return QueryPlan(model.model, window, index, groups, bodies, total, options)


def _sampled_bodies(
    model: str,
    window: Window,
    groups: tuple[VersionGroup, ...],
    counts: Mapping[str, int],
    options: PlanOptions,
    *,
    budget: int,
) -> tuple[tuple[Body, ...], tuple[float | None, ...]]:
    """Operational counts of every version, exact; then each version's features alone."""
    operational_aggs = operational.aggregations(options.percents, hdr=options.hdr_percentiles)
    parts = _split([(group, operational_aggs) for group in groups], budget)
    bodies = [
        _body(model, window, part, history=options.history if i == 0 else 0)
        for i, part in enumerate(parts)
    ]
    rates: list[float | None] = [None] * len(bodies)
    for version, n in sorted(counts.items()):
        group = _group_of(groups, version)
        rate = min(1.0, options.sample_rows / n) if n else 1.0
        alone = VersionGroup(group.name, group.baseline, include=(version,), size=1)
        features = _feature_group_aggs(group.baseline, options)
        # Every other aggregation to each search: each gets a like mix of kinds.
        ways = options.sample_searches if SPLIT_MIN_RATE <= rate < 1 else 1
        for k in range(ways):
            for part in _split([(alone, features[k::ways])], options.max_buckets - 1):
                # Each search also counts the failures among its predictions (the sample's:
                # failed ones carry no outputs), so any of them describes the sample.
                ((_, aggs),) = part
                counted = [(alone, [operational.failures_aggregation(), *aggs])]
                bodies.append(_body(model, window, counted, history=0, rate=rate))
                rates.append(rate)
    return tuple(bodies), tuple(rates)


def _group_of(groups: tuple[VersionGroup, ...], version: str) -> VersionGroup:
    """The group that counts ``version`` (the catch-all otherwise)."""
    return next((g for g in groups if version in g.include), groups[0])


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
    return [
        *operational.aggregations(options.percents, hdr=options.hdr_percentiles),
        *_feature_group_aggs(group.baseline, options),
    ]


def _feature_group_aggs(baseline: Baseline, options: PlanOptions) -> list[Agg]:
    """The presence of input names and every feature's counts."""
    inputs = sorted(f.name for f in baseline.inputs)
    aggs = presence.name_aggregations(inputs, options.new_features)
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


def _body(model: str, window: Window, part: _Part, *, history: int, rate: float = 1.0) -> Body:
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
        sub = {a.name: a.body for a in aggs}
        if len(group.include) == 1:
            # One version: a single-bucket filter, under which `terms` aggregations
            # collect into dense ordinals (under a `terms` parent they key every
            # value by bucket): the sampled feature search takes 8-9 % less.
            (version,) = group.include
            groups[group.name] = {
                "filter": {"term": {Field.MODEL_VERSION: version}},
                "meta": {VERSION_META: version},
                "aggs": sub,
            }
            continue
        terms: Body = {"field": Field.MODEL_VERSION, "size": group.size}
        if group.include:
            terms["include"] = list(group.include)
        if group.exclude:
            terms["exclude"] = list(group.exclude)
        groups[group.name] = {"terms": terms, "aggs": sub}
    body: Body = {
        "size": 0,
        "track_total_hits": False,
        "query": query,
        "aggs": {"window": {"filter": _time_range(window.start, window.end), "aggs": groups}},
    }
    if history:
        body["aggs"][operational.HISTORY] = operational.history_aggregation(window, history)
    if rate < 1:
        body["query"] = {
            "function_score": {
                "query": query,
                "functions": [{"random_score": {"seed": SAMPLE_SEED, "field": "_seq_no"}}],
                "boost_mode": "replace",
            }
        }
        body["min_score"] = 1 - rate
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


_SAMPLE_OWN = frozenset({"key", "doc_count", "meta", operational.FAILURES})


def _version_buckets(split: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A version group's buckets: a ``terms`` answer's, or the one version of a ``filter``
    (named by its ``meta``; none when no prediction matched, as ``terms`` gives none)."""
    if "buckets" in split:
        return list(split["buckets"])
    meta = split.get("meta") or {}
    if VERSION_META in meta and split.get("doc_count"):
        return [{**split, "key": meta[VERSION_META]}]
    return []


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
    features: dict[str, dict[str, Any]] = {}
    samples: dict[str, Sample] = {}
    for i, (response, rate) in enumerate(zip(responses, plan.rates, strict=True)):
        window_aggs = (response.get("aggregations") or {}).get("window") or {}
        for group in plan.groups:
            split = window_aggs.get(group.name) or {}
            for bucket in _version_buckets(split):
                version = str(bucket["key"])
                if rate is None:
                    merged.setdefault(version, (group, {}))[1].update(bucket)
                    continue
                # A body of one version's features: its own count and failures
                # are the sample's, never the window's.
                rows, failed = int(bucket["doc_count"]), operational.parse_failures(bucket)
                features.setdefault(version, {}).update(
                    (k, v) for k, v in bucket.items() if k not in _SAMPLE_OWN
                )
                if rate < 1:
                    samples[version] = Sample(rate, rows, failed)
            if i == 0 and split.get("sum_other_doc_count"):
                notes.append(
                    f"{split['sum_other_doc_count']} predictions of versions beyond the"
                    f" {group.size} most frequent were not counted (elasticsearch.max_versions)"
                )
    versions: dict[str, WindowProfile] = {}
    for version in sorted(merged):
        group, aggs = merged[version]
        sample = samples.get(version)
        if plan.sampled and version not in features:
            # Predictions of a version that appeared after the window was
            # counted: its features were not counted, so none can be checked.
            sample = Sample(0.0, 0)
            notes.append(f"{plan.model} {version}: arrived after the count; features not checked")
        profile, profile_notes = _profile(
            plan, group.baseline, version, {**aggs, **features.get(version, {})}
        )
        versions[version] = replace(profile, sample=sample)
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
