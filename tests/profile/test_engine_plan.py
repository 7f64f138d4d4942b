"""The query plan: exact request bodies, bucket budgets and response parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mlmon_elk.contract import Kind, Role
from mlmon_elk.engine.retries import response_problem
from mlmon_elk.errors import SourceError
from mlmon_elk.profile.baseline import ModelBaselines
from mlmon_elk.profile.engine_plan import (
    SAMPLE_SEED,
    SPLIT_MIN_RATE,
    PlanOptions,
    build_plan,
    count_body,
    parse_counts,
    parse_responses,
)
from mlmon_elk.profile.window import CategoricalCounts, NumericCounts, Sample, TextCounts
from mlmon_elk.windows import Window
from tests.factories import baseline, categorical, numeric, text

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
WINDOW = Window(START, START + timedelta(minutes=5))
INDEX = "logs-mlmon.prediction-default"


def tiny() -> ModelBaselines:
    b = baseline(
        "m",
        "1",
        [
            numeric("age", (30.0,), lo=18, hi=90),
            categorical("city", {"paris": 0.6}, ["paris", "rome"]),
            text("note", ["late"]),
            categorical("label", {"yes": 0.5}, ["yes", "no"], role=Role.OUTPUT),
        ],
    )
    return ModelBaselines("m", {"1": b}, default_version="1")


def test_plan_is_one_search_with_every_aggregation_of_design_section_7() -> None:
    """The plan for a small model is exactly this one request body."""
    plan = build_plan(
        tiny(), WINDOW, INDEX, PlanOptions(history=2, examples=3, new_features=5, max_versions=4)
    )
    time_filter = {
        "gte": "2024-05-01T12:00:00.000Z",
        "lt": "2024-05-01T12:05:00.000Z",
        "format": "strict_date_optional_time",
    }
    version_aggs: dict[str, Any] = {
        "failures": {"filter": {"term": {"event.outcome": "failure"}}},
        "latency": {
            "percentiles": {
                "field": "mlmon.latency_ms",
                "percents": [50.0, 95.0, 99.0],
                "keyed": False,
                "hdr": {"number_of_significant_value_digits": 3},
            }
        },
        "latency_stats": {"stats": {"field": "mlmon.latency_ms"}},
        "present": {"terms": {"field": "mlmon.present", "size": 8}},
        "null": {"terms": {"field": "mlmon.null", "size": 3, "include": ["age", "city", "note"]}},
        "input:age:cat_docs": {"filter": {"exists": {"field": "mlmon.inputs.cat.age"}}},
        "input:age:text_values": {"value_count": {"field": "mlmon.token_count.age"}},
        "input:age:bins": {
            "range": {
                "field": "mlmon.inputs.num.age",
                "keyed": True,
                "ranges": [
                    {"key": "b0", "to": 30.0},
                    {"key": "b1", "from": 30.0},
                    {"key": "below", "to": 18.0},
                    {"key": "above", "from": 90.00000000000001},
                ],
            }
        },
        "input:age:stats": {"extended_stats": {"field": "mlmon.inputs.num.age"}},
        "input:city:cat_docs": {"filter": {"exists": {"field": "mlmon.inputs.cat.city"}}},
        "input:city:num_values": {"value_count": {"field": "mlmon.inputs.num.city"}},
        "input:city:text_values": {"value_count": {"field": "mlmon.token_count.city"}},
        "input:city:top": {
            "terms": {"field": "mlmon.inputs.cat.city", "size": 1, "include": ["paris"]}
        },
        "input:city:unseen": {
            "terms": {"field": "mlmon.inputs.cat.city", "size": 3, "exclude": ["paris", "rome"]}
        },
        "input:city:count": {"value_count": {"field": "mlmon.inputs.cat.city"}},
        "input:note:cat_docs": {"filter": {"exists": {"field": "mlmon.inputs.cat.note"}}},
        "input:note:num_values": {"value_count": {"field": "mlmon.inputs.num.note"}},
        "input:note:text_values": {"value_count": {"field": "mlmon.token_count.note"}},
        "input:note:oov": {"terms": {"field": "mlmon.tokens.note", "size": 3, "exclude": ["late"]}},
        "input:note:tokens": {"sum": {"field": "mlmon.token_count.note"}},
        "input:note:docs": {"filter": {"exists": {"field": "mlmon.tokens.note"}}},
        "output:label:cat_docs": {"filter": {"exists": {"field": "mlmon.outputs.cat.label"}}},
        "output:label:num_values": {"value_count": {"field": "mlmon.outputs.num.label"}},
        "output:label:top": {
            "terms": {"field": "mlmon.outputs.cat.label", "size": 1, "include": ["yes"]}
        },
        "output:label:unseen": {
            "terms": {"field": "mlmon.outputs.cat.label", "size": 3, "exclude": ["no", "yes"]}
        },
        "output:label:count": {"value_count": {"field": "mlmon.outputs.cat.label"}},
    }
    expected = {
        "size": 0,
        "track_total_hits": False,
        "query": {
            "bool": {
                "filter": [
                    {"term": {"event.dataset": "mlmon.prediction"}},
                    {"term": {"mlmon.model.name": "m"}},
                    {"range": {"@timestamp": {**time_filter, "gte": "2024-05-01T11:50:00.000Z"}}},
                ]
            }
        },
        "aggs": {
            "window": {
                "filter": {"range": {"@timestamp": time_filter}},
                "aggs": {
                    "g0": {
                        "terms": {"field": "mlmon.model.version", "size": 4},
                        "aggs": version_aggs,
                    }
                },
            },
            "history": {
                "date_range": {
                    "field": "@timestamp",
                    "keyed": True,
                    "ranges": [
                        {
                            "key": "h0",
                            "from": "2024-05-01T11:50:00.000Z",
                            "to": "2024-05-01T11:55:00.000Z",
                        },
                        {
                            "key": "h1",
                            "from": "2024-05-01T11:55:00.000Z",
                            "to": "2024-05-01T12:00:00.000Z",
                        },
                    ],
                }
            },
        },
    }
    assert plan.bodies == (expected,)
    # 2 history + 4 versions × (1 + present 8 + null 3 + bins 4 + top 1+1 + unseen 3+3 + oov 3)
    assert plan.buckets == 2 + 4 * (1 + 8 + 3 + 4 + 2 + 6 + 3)


def test_versions_with_their_own_baseline_get_their_own_group() -> None:
    """Version 2 is counted on its own bins (a filter naming it in its meta); every other
    version on the default baseline."""
    own = baseline("m", "2", [numeric("age", (50.0,))])
    model = ModelBaselines("m", {**tiny().by_version, "2": own}, default_version="1")
    body = build_plan(model, WINDOW, INDEX).bodies[0]
    groups = body["aggs"]["window"]["aggs"]
    assert groups["g0"]["terms"] == {"field": "mlmon.model.version", "size": 10, "exclude": ["2"]}
    assert groups["g1"]["filter"] == {"term": {"mlmon.model.version": "2"}}
    assert groups["g1"]["meta"] == {"version": "2"}
    assert groups["g1"]["aggs"]["input:age:bins"]["range"]["ranges"][0] == {"key": "b0", "to": 50.0}


def test_plan_splits_into_msearch_parts_under_the_bucket_budget() -> None:
    """Each part stays under max_buckets; every aggregation lands in exactly one part."""
    whole = build_plan(
        tiny(), WINDOW, INDEX, PlanOptions(max_versions=1, examples=3, new_features=2)
    )
    split = build_plan(
        tiny(),
        WINDOW,
        INDEX,
        PlanOptions(max_versions=1, examples=3, new_features=2, max_buckets=12),
    )
    assert len(whole.bodies) == 1
    assert len(split.bodies) > 1
    names: list[str] = []
    for body in split.bodies:
        aggs = body["aggs"]["window"]["aggs"]["g0"]["aggs"]
        names.extend(aggs)
        estimate = 1 + sum(_buckets(a) for a in aggs.values())
        assert estimate <= 12
    whole_aggs = whole.bodies[0]["aggs"]["window"]["aggs"]["g0"]["aggs"]
    assert sorted(names) == sorted(whole_aggs)


def _buckets(agg: dict[str, Any]) -> int:
    if "terms" in agg:
        return int(agg["terms"]["size"])
    if "range" in agg:
        return len(agg["range"]["ranges"])
    if "filters" in agg:
        return len(agg["filters"]["filters"])
    return 0


def test_one_aggregation_larger_than_the_budget_is_a_clear_error() -> None:
    """A budget no split can meet names the aggregation and the settings to change."""
    with pytest.raises(SourceError, match=r"'present' needs .* buckets.*max_buckets"):
        build_plan(tiny(), WINDOW, INDEX, PlanOptions(max_buckets=20, max_versions=10))


def _version_bucket(**aggs: Any) -> dict[str, Any]:
    return {"key": "1", "doc_count": 10, **aggs}


def test_parsing_turns_aggregations_into_the_window_profile() -> None:
    """Counts land in the profile's fields; unseen totals include sum_other_doc_count."""
    plan = build_plan(tiny(), WINDOW, INDEX, PlanOptions(history=2, examples=1))
    response = {
        "_shards": {"total": 1, "failed": 0},
        "aggregations": {
            "history": {"buckets": {"h0": {"doc_count": 7}, "h1": {"doc_count": 9}}},
            "window": {
                "g0": {
                    "sum_other_doc_count": 0,
                    "buckets": [
                        _version_bucket(
                            failures={"doc_count": 1},
                            latency={
                                "values": [
                                    {"key": 50.0, "value": 4.0},
                                    {"key": 99.0, "value": None},
                                ]
                            },
                            latency_stats={"count": 9, "avg": 5.0, "max": 20.0},
                            present={
                                "buckets": [
                                    {"key": "age", "doc_count": 9},
                                    {"key": "new", "doc_count": 2},
                                ]
                            },
                            null={"buckets": [{"key": "age", "doc_count": 1}]},
                            **{
                                "input:age:cat_docs": {"doc_count": 0},
                                "input:age:text_values": {"value": 0},
                                "input:age:bins": {
                                    "buckets": {
                                        "b0": {"doc_count": 3},
                                        "b1": {"doc_count": 5},
                                        "below": {"doc_count": 1},
                                        "above": {"doc_count": 0},
                                    }
                                },
                                "input:age:stats": {
                                    "count": 8,
                                    "min": 17.0,
                                    "max": 80.0,
                                    "avg": 40.0,
                                    "std_deviation_population": 10.0,
                                },
                                "input:city:count": {"value": 6},
                                "input:city:top": {"buckets": [{"key": "paris", "doc_count": 3}]},
                                "input:city:unseen": {
                                    "buckets": [{"key": "oslo", "doc_count": 2}],
                                    "sum_other_doc_count": 1,
                                },
                                "input:note:docs": {"doc_count": 4},
                                "input:note:tokens": {"value": 10.0},
                                "input:note:oov": {"buckets": [], "sum_other_doc_count": 0},
                            },
                        )
                    ],
                }
            },
        },
    }
    window = parse_responses(plan, [response]).window
    assert window.history == (7, 9)
    profile = window.versions["1"]
    assert (profile.count, profile.failures) == (10, 1)
    assert profile.latency.percentiles == {50.0: 4.0}
    assert profile.present_names == {"age": 9, "new": 2}
    age = profile.feature(Role.INPUT, "age")
    assert age is not None
    assert (age.present, age.null, dict(age.kinds)) == (9, 1, {Kind.NUM: 8})
    assert age.numeric == NumericCounts(
        bins=(3, 5), count=8, below_min=1, above_max=0, min=17.0, max=80.0, mean=40.0, std=10.0
    )
    city = profile.feature(Role.INPUT, "city")
    assert city is not None
    assert city.categorical == CategoricalCounts(
        top=(("paris", 3),), other=0, unseen=3, count=6, unseen_examples=(("oslo", 2),)
    )
    note = profile.feature(Role.INPUT, "note")
    assert note is not None
    assert note.text == TextCounts(documents=4, tokens=10, oov_tokens=0)
    label = profile.feature(Role.OUTPUT, "label")
    assert label is not None
    assert (label.present, label.categorical) == (0, CategoricalCounts((("yes", 0),), 0, 0, 0))


def test_a_missing_index_reads_as_a_window_without_predictions() -> None:
    """No aggregations at all (no index yet) means no versions and zero history."""
    plan = build_plan(tiny(), WINDOW, INDEX, PlanOptions(history=3))
    window = parse_responses(plan, [{"_shards": {"total": 0, "failed": 0}, "hits": {}}]).window
    assert window.versions == {}
    assert window.history == (0, 0, 0)


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        ({"timed_out": True}, "timed out"),
        (
            {
                "_shards": {
                    "total": 3,
                    "failed": 1,
                    "failures": [{"reason": {"type": "x", "reason": "boom"}}],
                }
            },
            "1 of 3 shards failed: x: boom",
        ),
        (
            {"error": {"type": "too_many_buckets_exception", "reason": "too many"}, "status": 503},
            "too_many",
        ),
    ],
)
def test_partial_responses_are_refused(response: dict[str, Any], problem: str) -> None:
    """Timeouts, failed shards and msearch errors are never read as counts."""
    message = response_problem(response)
    assert message is not None
    assert problem in message
    plan = build_plan(tiny(), WINDOW, INDEX)
    with pytest.raises(SourceError, match=problem):
        parse_responses(plan, [response])


def test_versions_beyond_max_versions_are_reported() -> None:
    """Predictions of versions the split left out become a note for the run summary."""
    plan = build_plan(tiny(), WINDOW, INDEX, PlanOptions(max_versions=1))
    response = {"aggregations": {"window": {"g0": {"buckets": [], "sum_other_doc_count": 12}}}}
    notes = parse_responses(plan, [response]).notes
    assert notes == (
        "12 predictions of versions beyond the 1 most frequent were not counted"
        " (elasticsearch.max_versions)",
    )


# ------------------------------------------------------------------- sampling


def test_the_count_search_splits_versions_as_the_plan_does() -> None:
    """The first, cheap search: the same filters and version groups, no other aggregation."""
    own = baseline("m", "2", [numeric("age", (50.0,))])
    model = ModelBaselines("m", {**tiny().by_version, "2": own}, default_version="1")
    body = count_body(model, WINDOW)
    plan_body = build_plan(model, WINDOW, INDEX).bodies[0]
    assert body["query"] == plan_body["query"]
    groups = body["aggs"]["window"]["aggs"]
    assert {name: {**g, "aggs": {}} for name, g in plan_body["aggs"]["window"]["aggs"].items()} == (
        groups
    )
    response = _shards_ok(
        window={
            "g0": {"buckets": [{"key": "1", "doc_count": 900}, {"key": "0", "doc_count": 5}]},
            "g1": {"meta": {"version": "2"}, "doc_count": 40},
        }
    )
    assert parse_counts(response) == {"1": 900, "0": 5, "2": 40}
    # A version with no prediction in the window is absent, as from a terms split.
    empty = _shards_ok(
        window={"g0": {"buckets": []}, "g1": {"meta": {"version": "2"}, "doc_count": 0}}
    )
    assert parse_counts(empty) == {}


def _shards_ok(**aggregations: Any) -> dict[str, Any]:
    return {"_shards": {"total": 1, "failed": 0}, "aggregations": aggregations}


def _versions(*buckets: dict[str, Any]) -> dict[str, Any]:
    """A complete response whose window holds these version buckets (group g0, terms)."""
    return _shards_ok(window={"g0": {"buckets": list(buckets)}})


def _one_version(version: str, **aggregations: Any) -> dict[str, Any]:
    """A complete response to a body of one version's features (group g0, a filter)."""
    return _shards_ok(window={"g0": {"meta": {"version": version}, **aggregations}})


def test_windows_under_sample_rows_keep_the_single_exact_search() -> None:
    """Counts at or under the limit change nothing: one body counting everything."""
    options = PlanOptions(sample_rows=1_000)
    plain = build_plan(tiny(), WINDOW, INDEX, options)
    counted = build_plan(tiny(), WINDOW, INDEX, options, counts={"1": 1_000, "0": 3})
    assert counted.bodies == plain.bodies
    assert counted.rates == (None,)
    assert not counted.sampled
    off = build_plan(tiny(), WINDOW, INDEX, PlanOptions(sample_rows=0), counts={"1": 10**9})
    assert off.bodies == plain.bodies


def test_a_large_version_counts_operations_exactly_and_features_on_a_sample() -> None:
    """Body 0 counts every prediction's operational figures; then the versions' features:
    the small one whole in one body, the large one through a seeded random score that
    keeps a document with probability sample_rows / count, its aggregations shared
    between two bodies (searched side by side) that each count the sample's failures."""
    options = PlanOptions(sample_rows=1_000, history=2)
    plan = build_plan(tiny(), WINDOW, INDEX, options, counts={"1": 4_000, "0": 300})
    assert plan.sampled
    # operations; version "0" whole; version "1" sampled, in two searches
    assert plan.rates == (None, 1.0, 0.25, 0.25)
    operations, small, *large = plan.bodies
    op_aggs = operations["aggs"]["window"]["aggs"]["g0"]["aggs"]
    assert sorted(op_aggs) == ["failures", "latency", "latency_stats"]
    assert "history" in operations["aggs"]
    assert "function_score" not in operations["query"]

    exact = build_plan(tiny(), WINDOW, INDEX, options).bodies[0]["aggs"]["window"]["aggs"]["g0"]
    feature_names = set(exact["aggs"]) - {"latency", "latency_stats"}

    def group_of(body: dict[str, Any], version: str) -> dict[str, Any]:
        group: dict[str, Any] = body["aggs"]["window"]["aggs"]["g0"]
        assert group["filter"] == {"term": {"mlmon.model.version": version}}
        assert group["meta"] == {"version": version}
        assert "history" not in body["aggs"]
        return group

    assert set(group_of(small, "0")["aggs"]) == feature_names  # failures: the sample's own
    halves = [set(group_of(body, "1")["aggs"]) - {"failures"} for body in large]
    assert all(
        half and "failures" in group_of(b, "1")["aggs"]
        for half, b in zip(halves, large, strict=True)
    )
    assert halves[0] | halves[1] == feature_names - {"failures"}
    assert not halves[0] & halves[1]
    assert small["query"] == _window_query()
    assert "min_score" not in small
    for body in large:
        assert body["min_score"] == 0.75
        assert body["query"] == {
            "function_score": {
                "query": _window_query(),
                "functions": [{"random_score": {"seed": SAMPLE_SEED, "field": "_seq_no"}}],
                "boost_mode": "replace",
            }
        }


def test_a_sample_under_the_split_rate_is_counted_in_one_search() -> None:
    """Each search of a split sample pays the random score of the whole window: a sample of
    under SPLIT_MIN_RATE of the predictions stays in one search, a larger one takes two."""
    options = PlanOptions(sample_rows=1_000)
    for predictions, searches in ((1_000 / SPLIT_MIN_RATE, 2), (1_000 / SPLIT_MIN_RATE + 1, 1)):
        plan = build_plan(tiny(), WINDOW, INDEX, options, counts={"1": int(predictions)})
        assert plan.rates[1:] == (1_000 / int(predictions),) * searches


def test_every_search_of_a_sample_split_under_max_buckets_counts_its_failures() -> None:
    """Under a small bucket budget a sampled version's features take several searches;
    each counts the sample's failures, so whichever is read last describes the sample."""
    options = PlanOptions(sample_rows=1_000, max_buckets=20, new_features=5, sample_searches=1)
    plan = build_plan(tiny(), WINDOW, INDEX, options, counts={"1": 4_000})
    sampled = [b for b, rate in zip(plan.bodies, plan.rates, strict=True) if rate == 0.25]
    assert len(sampled) > 2
    for body in sampled:
        assert "failures" in body["aggs"]["window"]["aggs"]["g0"]["aggs"]


def _window_query() -> Any:
    """The plan's filters over the window alone (no history)."""
    return build_plan(tiny(), WINDOW, INDEX).bodies[0]["query"]


def test_a_sampled_window_reads_as_exact_operations_and_sampled_features() -> None:
    """count, failures and latency come from every prediction; feature counts and
    present names from the sample, whose size and failures the profile keeps."""
    plan = build_plan(tiny(), WINDOW, INDEX, PlanOptions(sample_rows=1_000), counts={"1": 4_000})
    operations = _versions(
        {
            "key": "1",
            "doc_count": 4_000,
            "failures": {"doc_count": 40},
            "latency_stats": {"count": 3_960, "avg": 5.0, "max": 20.0},
        }
    )
    # The sample's features in two searches, each with the sample's size and failures.
    features = _one_version(
        "1",
        doc_count=1_010,
        failures={"doc_count": 9},
        present={"buckets": [{"key": "age", "doc_count": 1_001}]},
    )
    bins = _one_version(
        "1",
        doc_count=1_010,
        failures={"doc_count": 9},
        **{"input:age:bins": {"buckets": {"b0": {"doc_count": 600}, "b1": {"doc_count": 401}}}},
    )
    profile = parse_responses(plan, [operations, features, bins]).window.versions["1"]
    assert (profile.count, profile.failures, profile.latency.count) == (4_000, 40, 3_960)
    assert profile.sample == Sample(rate=0.25, rows=1_010, failures=9)
    assert (profile.feature_rows, profile.feature_failures) == (1_010, 9)
    assert profile.present_names == {"age": 1_001}
    age = profile.feature(Role.INPUT, "age")
    assert age is not None
    assert age.numeric is not None
    assert age.numeric.bins == (600, 401)


def test_a_version_that_arrives_after_the_count_is_not_feature_checked() -> None:
    """Its operational counts are real; with no feature counts, its sample is empty
    (checks then say insufficient data instead of 'every feature vanished')."""
    plan = build_plan(tiny(), WINDOW, INDEX, PlanOptions(sample_rows=1_000), counts={"1": 4_000})
    operations = _versions({"key": "1", "doc_count": 4_000}, {"key": "9", "doc_count": 12})
    features = _one_version("1", doc_count=990)
    parsed = parse_responses(plan, [operations, features, features])
    late = parsed.window.versions["9"]
    assert (late.count, late.feature_rows) == (12, 0)
    assert any("9: arrived after the count" in note for note in parsed.notes)
