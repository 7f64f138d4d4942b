"""The index templates map the contract of DESIGN.md §3 and §5, and install idempotently.

Server tests run against the ``es`` fixture: osmem-server with the plain-index
variant, or a real cluster (data streams) when ``MLMON_TEST_ES_URL`` is set.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import pytest

from mlmon_elk.contract import (
    Dataset,
    Field,
    Kind,
    Role,
    stream_name,
    token_count_field,
    tokens_field,
    value_field,
)
from mlmon_elk.errors import ConfigError
from mlmon_elk.stack.install import (
    TemplateAsset,
    has_ism,
    install_templates,
    installed_hash,
    plan_templates,
    template_assets,
)
from mlmon_elk.stack.plan import Action
from mlmon_elk.stack.templates import (
    CUSTOM_COMPONENT,
    INVALID_DATASET,
    TEMPLATE_PRIORITY,
    Retention,
    component_templates,
    content_hash,
    ilm_policies,
    index_templates,
    mapped_type,
    prediction_mappings,
    result_mappings,
    with_hash,
)
from tests.conftest import EsTarget

NOW = "2026-01-01T00:00:00.000Z"


def _mapping(es: EsTarget, index: str) -> dict:
    body = es.client.indices.get_mapping(index=index).body
    return next(iter(body.values()))["mappings"]


def _leaf(mapping: dict, dotted: str) -> dict:
    node = mapping
    for part in dotted.split("."):
        node = node["properties"][part]
    return node


def prediction(namespace: str, inputs: dict[str, Any], **mlmon: Any) -> dict[str, Any]:
    """A prediction document built by the contract of DESIGN.md §3."""
    return {
        "@timestamp": NOW,
        "ecs": {"version": "8.11.0"},
        "event": {
            "kind": "event",
            "dataset": Dataset.PREDICTION,
            "duration": 4_200_000,
            "outcome": "success",
        },
        "data_stream": {"type": "logs", "dataset": Dataset.PREDICTION, "namespace": namespace},
        "service": {"name": "credit-api", "version": "1.4.2", "environment": "test"},
        "labels": {"tenant": "acme"},
        "mlmon": {
            "schema": 1,
            "model": {"name": "credit-risk", "version": "1.2.0"},
            "prediction_id": "p-1",
            "latency_ms": 4.2,
            "inputs": inputs,
            "outputs": {"num": {"score": 0.83}, "cat": {"label": "approve"}},
            "present": ["age", "plan", "review"],
            "null": [],
            **mlmon,
        },
    }


def test_feature_paths_get_their_types_whatever_the_first_value(es: EsTarget) -> None:
    """An integer first value still maps a numeric feature as double, never long."""
    index = stream_name(Dataset.PREDICTION, es.namespace)
    es.client.create(
        index=index,
        id="1",
        document=prediction(
            es.namespace,
            {"num": {"age": 3}, "cat": {"plan": "2024/01/02"}},
            tokens={"review": ["good"]},
        ),
        refresh=True,
    )
    mapping = _mapping(es, index)
    assert _leaf(mapping, value_field(Role.INPUT, Kind.NUM, "age"))["type"] == "double"
    assert _leaf(mapping, value_field(Role.INPUT, Kind.CAT, "plan"))["type"] == "keyword"
    assert _leaf(mapping, tokens_field("review"))["type"] == "keyword"
    assert _leaf(mapping, Field.PRESENT)["type"] == "keyword"


def test_a_type_switched_feature_is_still_accepted(es: EsTarget) -> None:
    """A feature sent as a number, then as a string, then as text lands in three fields."""
    index = stream_name(Dataset.PREDICTION, es.namespace)
    documents = [
        prediction(es.namespace, {"num": {"zip": 75001.0}}),
        prediction(es.namespace, {"cat": {"zip": "75001"}}),
        prediction(
            es.namespace,
            {"text": {"zip": "seventy five thousand"}},
            tokens={"zip": ["seventy", "five", "thousand"]},
            token_count={"zip": 3},
        ),
        prediction(es.namespace, {"cat": {"zip": ["75001", "75002"]}}),
    ]
    for number, document in enumerate(documents):
        es.client.create(index=index, id=str(number), document=document)
    es.client.indices.refresh(index=index)

    assert es.client.count(index=index)["count"] == len(documents)
    mapping = _mapping(es, index)
    assert _leaf(mapping, value_field(Role.INPUT, Kind.NUM, "zip"))["type"] == "double"
    assert _leaf(mapping, value_field(Role.INPUT, Kind.CAT, "zip"))["type"] == "keyword"
    assert _leaf(mapping, value_field(Role.INPUT, Kind.TEXT, "zip"))["type"] == "text"
    assert _leaf(mapping, token_count_field("zip"))["type"] == "long"
    hits = es.client.search(
        index=index, query={"term": {value_field(Role.INPUT, Kind.CAT, "zip"): "75002"}}
    )
    assert hits["hits"]["total"]["value"] == 1


def test_outputs_and_numbers_in_strings_keep_their_typed_paths(es: EsTarget) -> None:
    """Outputs map like inputs; a numeric-looking category stays a keyword."""
    index = stream_name(Dataset.PREDICTION, es.namespace)
    es.client.create(
        index=index,
        id="1",
        document=prediction(es.namespace, {"cat": {"code": "0042"}}),
        refresh=True,
    )
    mapping = _mapping(es, index)
    assert _leaf(mapping, value_field(Role.OUTPUT, Kind.NUM, "score"))["type"] == "double"
    assert _leaf(mapping, value_field(Role.OUTPUT, Kind.CAT, "label"))["type"] == "keyword"
    assert _leaf(mapping, value_field(Role.INPUT, Kind.CAT, "code"))["type"] == "keyword"
    assert _leaf(mapping, "labels.tenant")["type"] == "keyword"


def test_shipper_counters_are_longs(es: EsTarget) -> None:
    """Handler delivery counters on the prediction stream map as numbers."""
    index = stream_name(Dataset.SHIPPER, es.namespace)
    es.client.create(
        index=index,
        id="1",
        document={
            "@timestamp": NOW,
            "event": {"kind": "metric", "dataset": Dataset.SHIPPER},
            "mlmon": {"shipper": {"sent": 10, "dropped": 0, "spooled": 3}},
        },
        refresh=True,
    )
    assert _leaf(_mapping(es, index), "mlmon.shipper.dropped")["type"] == "long"


def test_check_context_is_stored_but_not_indexed(es: EsTarget) -> None:
    """Any JSON under mlmon.context is accepted without adding mappings."""
    index = stream_name(Dataset.CHECK, es.namespace)
    es.client.create(
        index=index,
        id="1",
        document={
            "@timestamp": NOW,
            "mlmon": {"check": "category_shift", "context": {"movers": [["a", 0.1], {"x": [1]}]}},
        },
        refresh=True,
    )
    context = _mapping(es, index)["properties"]["mlmon"]["properties"]["context"]
    assert context.get("enabled") is False
    assert "properties" not in context


def test_alert_message_is_searchable_and_aggregatable(es: EsTarget) -> None:
    """The alert sentence is full text and, whole, a keyword for the alert table."""
    index = stream_name(Dataset.ALERT, es.namespace)
    message = "credit-risk 1.2.0 · income · missing_spike: NA 2.0% → 12.1% (n=5,000)"
    es.client.create(
        index=index,
        id="1",
        document={
            "@timestamp": NOW,
            "message": message,
            "mlmon": {"status": "warning", "transition": "new"},
        },
        refresh=True,
    )
    found = es.client.search(
        index=index,
        size=0,
        query={"match": {"message": "missing_spike"}},
        aggs={"sentences": {"terms": {"field": "message.keyword"}}},
    )
    assert found["hits"]["total"]["value"] == 1
    assert found["aggregations"]["sentences"]["buckets"][0]["key"] == message


def test_run_summary_figures_are_numbers(es: EsTarget) -> None:
    """Run summaries on the check stream map their counts as doubles whatever comes first."""
    index = stream_name(Dataset.RUN, es.namespace)
    es.client.create(
        index=index,
        id="1",
        document={
            "@timestamp": NOW,
            "event": {"dataset": Dataset.RUN},
            "mlmon": {"run": {"checks": 3, "duration_ms": 12}},
        },
        refresh=True,
    )
    assert _leaf(_mapping(es, index), "mlmon.run.checks")["type"] == "double"


def test_invalid_stream_accepts_anything(es: EsTarget) -> None:
    """Unparseable lines and unroutable documents of any shape are kept, not rejected."""
    index = f"logs-{INVALID_DATASET}-{es.namespace}"
    raw = '{"mlmon": {"inputs": {"num": {"age": NaN}}}'
    documents: list[dict[str, Any]] = [
        {
            "@timestamp": NOW,
            "message": raw,
            "tags": ["_jsonparsefailure"],
            "event": {"original": raw},
        },
        {"@timestamp": NOW, "foo": {"bar": 1}, "mlmon": {"inputs": {"num": {"age": "x"}}}},
        {"@timestamp": NOW, "foo": "now a string", "labels": {"n": {"deep": [1, "a"]}}},
    ]
    for number, document in enumerate(documents):
        es.client.create(index=index, id=str(number), document=document)
    es.client.indices.refresh(index=index)

    assert es.client.count(index=index)["count"] == len(documents)
    properties = _mapping(es, index)["properties"]
    assert "foo" not in properties
    assert "mlmon" not in properties
    assert es.client.count(index=index, query={"term": {"tags": "_jsonparsefailure"}})["count"] == 1


def test_mapped_type_resolves_explicit_multi_and_dynamic_fields() -> None:
    """The resolver used by the asset tests answers like Elasticsearch would."""
    predictions, results = prediction_mappings(), result_mappings()
    assert mapped_type(Field.LATENCY_MS, predictions) == "double"
    assert mapped_type(value_field(Role.INPUT, Kind.NUM, "x"), predictions) == "double"
    assert mapped_type(value_field(Role.OUTPUT, Kind.CAT, "y"), predictions) == "keyword"
    assert mapped_type("mlmon.inputs.text.review", predictions) == "text"
    assert mapped_type("message.keyword", results) == "keyword"
    assert mapped_type(Field.CONTEXT, results) == "object"
    assert mapped_type("mlmon.nonsense", predictions) is None
    assert mapped_type("message.keyword", predictions) is None


def test_retention_rejects_durations_ilm_would_not_understand() -> None:
    """A typo in a retention age fails before anything is sent."""
    with pytest.raises(ConfigError, match="predictions"):
        Retention(predictions="30 days")
    with pytest.raises(ConfigError, match="results"):
        Retention(results="0d")


def test_data_stream_variant_is_complete_and_consistent() -> None:
    """Every index template wins over logs-*-*, composes existing components and names a policy."""
    components = component_templates(data_streams=True)
    policies = ilm_policies(Retention(predictions="7d", results="90d"))
    assert policies["mlmon-predictions"]["phases"]["delete"]["min_age"] == "7d"
    assert policies["mlmon-results"]["phases"]["delete"]["min_age"] == "90d"
    for name, template in index_templates(data_streams=True).items():
        assert template["priority"] > 200, name
        assert template["data_stream"] == {}
        for component in template["composed_of"]:
            assert (
                component in components
                or component in template["ignore_missing_component_templates"]
            )
        assert template["composed_of"][-1] == CUSTOM_COMPONENT
        lifecycles = [
            components[c]["template"]["settings"]["index.lifecycle.name"]
            for c in template["composed_of"]
            if c.endswith("-lifecycle")
        ]
        assert len(lifecycles) == 1
        assert lifecycles[0] in policies
    for dataset in Dataset:
        index = stream_name(dataset, "prod")
        matching = [
            name
            for name, template in index_templates().items()
            if any(fnmatch.fnmatchcase(index, p) for p in template["index_patterns"])
        ]
        assert len(matching) == 1, index


def test_plain_variant_has_no_data_stream_only_settings() -> None:
    """The plain-index variant carries only settings an OpenSearch-compatible server knows."""
    settings = component_templates(data_streams=False)["mlmon-settings"]["template"]["settings"]
    assert "index.mapping.total_fields.ignore_dynamic_beyond_limit" not in settings
    for template in index_templates(data_streams=False).values():
        assert "data_stream" not in template
        assert not any(c.endswith("-lifecycle") for c in template["composed_of"])
    assert not [a for a in template_assets(data_streams=False) if a.kind == "ilm policy"]
    assert TEMPLATE_PRIORITY == 500


def test_content_hash_ignores_its_own_slot() -> None:
    """A body's hash is the same before and after it is recorded in ``_meta``."""
    body = {"template": {"settings": {"a": 1}}, "_meta": {"managed_by": "mlmon-elk"}}
    assert content_hash(with_hash(body)) == content_hash(body)
    assert content_hash({**body, "template": {"settings": {"a": 2}}}) != content_hash(body)


def installable(es: EsTarget) -> list[TemplateAsset]:
    """The assets setup can install on this server (no ISM policy where ISM is missing)."""
    ism = es.engine == "opensearch" and has_ism(es.client)
    return [
        asset
        for asset in template_assets(data_streams=es.data_streams, engine=es.engine)
        if asset.kind != "ism policy" or ism
    ]


def installed(es: EsTarget) -> dict[str, str | None]:
    """Content hash of every mlmon asset on the server (``None``: absent)."""
    return {asset.path: installed_hash(es.client, asset) for asset in installable(es)}


def test_installing_twice_writes_nothing_the_second_time(es_bare: EsTarget) -> None:
    """After one install every hash is in place and a second install writes nothing."""
    install_templates(es_bare.client, data_streams=es_bare.data_streams)
    expected = {a.path: a.hash for a in installable(es_bare)}
    assert installed(es_bare) == expected
    assert install_templates(es_bare.client, data_streams=es_bare.data_streams) == []


def test_a_changed_template_is_updated_and_nothing_else(es_bare: EsTarget) -> None:
    """An installed template with other content is rewritten; the rest is left alone."""
    client = es_bare.client
    install_templates(client, data_streams=es_bare.data_streams)
    (alert,) = [
        a
        for a in template_assets(data_streams=es_bare.data_streams, engine=es_bare.engine)
        if a.name == "mlmon-alert"
    ]
    client.indices.put_index_template(
        name=alert.name, **{**alert.body, "_meta": {"managed_by": "someone", "hash": "0"}}
    )
    plan = {
        step.name: step.action
        for _, step in plan_templates(client, data_streams=es_bare.data_streams)
    }
    assert plan.pop("mlmon-alert") is Action.UPDATE
    assert set(plan.values()) <= {Action.UNCHANGED, Action.SKIPPED}
    assert install_templates(client, data_streams=es_bare.data_streams) == [
        "_index_template/mlmon-alert"
    ]


def test_dry_run_install_writes_nothing(es_bare: EsTarget) -> None:
    """``dry_run`` reports exactly the assets that differ and leaves the server as it was."""
    before = installed(es_bare)
    paths = install_templates(es_bare.client, data_streams=es_bare.data_streams, dry_run=True)
    assert installed(es_bare) == before
    wanted = {a.path: a.hash for a in installable(es_bare)}
    assert set(paths) == {path for path, digest in wanted.items() if before[path] != digest}
    if not es_bare.real:
        assert set(paths) == set(wanted)


def test_documents_from_the_real_handler_are_all_accepted(es: EsTarget, tmp_path: Path) -> None:
    """Whatever the handler writes — type switches, text, nulls, arrays, nested keys,
    invalid values, shipper counters — the templates index without a rejection."""
    import json
    from datetime import date
    from decimal import Decimal

    from mlmon_elk import PredictionHandler

    log = tmp_path / "predictions.jsonl"
    handler = PredictionHandler(
        f"file://{log}",
        model="credit-risk",
        model_version="1.2.0",
        namespace=es.namespace,
        text_inputs=("review",),
        spool_dir=None,
    )
    calls: list[dict[str, Any]] = [
        {"zip": 75001, "review": "Great service, fast payout", "tags": ["new", "vip"]},
        {"zip": "75001", "review": None, "amount": Decimal("12.5")},
        {"zip": True, "review": "", "amount": float("inf"), "address": {"city": "Paris"}},
        {"zip": None, "when": date(2026, 1, 2), "blob": b"\x00"},
    ]
    for inputs in calls:
        handler.log_prediction(inputs=inputs, outputs={"score": 0.4, "label": "ok"}, latency_ms=3.0)
    handler.close()
    documents = [json.loads(line) for line in log.read_text().splitlines()]
    datasets = [d["event"]["dataset"] for d in documents]
    assert datasets.count(Dataset.PREDICTION) == len(calls)
    assert Dataset.SHIPPER in datasets  # the counters written at close

    index = stream_name(Dataset.PREDICTION, es.namespace)
    for number, document in enumerate(documents):
        es.client.create(index=index, id=str(number), document=document)
    es.client.indices.refresh(index=index)
    assert es.client.count(index=index)["count"] == len(documents)
    mapping = _mapping(es, index)
    assert _leaf(mapping, value_field(Role.INPUT, Kind.NUM, "zip"))["type"] == "double"
    assert _leaf(mapping, value_field(Role.INPUT, Kind.CAT, "zip"))["type"] == "keyword"
    assert _leaf(mapping, value_field(Role.INPUT, Kind.TEXT, "review"))["type"] == "text"
    assert _leaf(mapping, tokens_field("review"))["type"] == "keyword"
    assert _leaf(mapping, "mlmon.shipper.sent")["type"] == "long"
    invalid = es.client.count(index=index, query={"term": {Field.INVALID: "amount"}})["count"]
    assert invalid == 1


# What OpenSearch's index-management plugin (2.x) parses, read from its source
# (Policy.kt, State.kt, Transition.kt, RolloverAction.kt): any other key is refused.
ISM_POLICY_KEYS = {"description", "default_state", "states", "ism_template", "error_notification"}
ISM_STATE_KEYS = {"name", "actions", "transitions"}
ISM_CONDITIONS = {"min_index_age", "min_doc_count", "min_size", "cron", "min_rollover_age"}
ISM_ROLLOVER_KEYS = {"min_size", "min_doc_count", "min_index_age", "min_primary_shard_size"}
ISM_COVERS = {"mlmon-predictions": ["prediction"], "mlmon-results": ["check", "alert", "invalid"]}


def test_ism_policies_use_only_what_ism_parses() -> None:
    """Rollover and deletion as ILM does them, in the keys ISM knows; one condition per
    transition (ISM refuses more); the policy attaches itself to the streams' indices."""
    for asset in template_assets(engine="opensearch"):
        if asset.kind != "ism policy":
            continue
        policy = asset.body
        assert set(policy) <= ISM_POLICY_KEYS
        states = {state["name"]: state for state in policy["states"]}
        assert policy["default_state"] in states
        for state in states.values():
            assert set(state) <= ISM_STATE_KEYS
            for transition in state["transitions"]:
                assert transition["state_name"] in states
                assert len(transition["conditions"]) == 1
                assert set(transition["conditions"]) <= ISM_CONDITIONS
        (rollover,) = states["hot"]["actions"]
        assert set(rollover["rollover"]) <= ISM_ROLLOVER_KEYS
        assert states["delete"]["actions"] == [{"delete": {}}]
        patterns = policy["ism_template"][0]["index_patterns"]
        for dataset in ISM_COVERS[asset.name]:
            backing = f".ds-logs-mlmon.{dataset}-default-000001"
            assert any(fnmatch.fnmatch(backing, pattern) for pattern in patterns)


def test_no_ilm_on_opensearch_and_no_ism_on_elasticsearch() -> None:
    """Each engine gets its own retention, and none of the other's settings."""
    on_opensearch = template_assets(engine="opensearch")
    on_elasticsearch = template_assets(engine="elasticsearch")
    assert {a.kind for a in on_opensearch} == {"ism policy", "component template", "index template"}
    assert {a.kind for a in on_elasticsearch} == {
        "ilm policy",
        "component template",
        "index template",
    }
    text = json.dumps([a.body for a in on_opensearch])
    for elasticsearch_only in ("index.lifecycle.name", "constant_keyword", "ignore_dynamic_beyond"):
        assert elasticsearch_only not in text


def test_the_shipped_ism_policy_files_are_the_ones_setup_installs() -> None:
    """docs/opensearch/*.ism.json, for clusters where setup cannot install them itself."""
    shipped = Path(__file__).parents[2] / "docs" / "opensearch"
    for asset in template_assets(engine="opensearch"):
        if asset.kind == "ism policy":
            on_disk = json.loads((shipped / f"{asset.name}.ism.json").read_text())
            assert on_disk == {"policy": asset.body}
