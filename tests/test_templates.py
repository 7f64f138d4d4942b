"""The index templates map the prediction contract as DESIGN.md §3 says."""

from __future__ import annotations

from mlmon_elk.contract import Dataset, stream_name
from tests.conftest import EsTarget


def _mapping(es: EsTarget, index: str) -> dict:
    body = es.client.indices.get_mapping(index=index).body
    return next(iter(body.values()))["mappings"]


def test_feature_paths_get_their_types_whatever_the_first_value(es: EsTarget) -> None:
    """An integer first value still maps a numeric feature as double, never long."""
    index = stream_name(Dataset.PREDICTION, es.namespace)
    es.client.create(
        index=index,
        id="1",
        document={
            "@timestamp": "2026-01-01T00:00:00.000Z",
            "mlmon": {
                "model": {"name": "m", "version": "1"},
                "inputs": {"num": {"age": 3}, "cat": {"plan": "2024/01/02"}},
                "tokens": {"review": ["good"]},
                "present": ["age", "plan", "review"],
            },
        },
        refresh=True,
    )
    mlmon = _mapping(es, index)["properties"]["mlmon"]["properties"]
    assert mlmon["inputs"]["properties"]["num"]["properties"]["age"]["type"] == "double"
    assert mlmon["inputs"]["properties"]["cat"]["properties"]["plan"]["type"] == "keyword"
    assert mlmon["tokens"]["properties"]["review"]["type"] == "keyword"
    assert mlmon["present"]["type"] == "keyword"


def test_check_context_is_stored_but_not_indexed(es: EsTarget) -> None:
    """Any JSON under mlmon.context is accepted without adding mappings."""
    index = stream_name(Dataset.CHECK, es.namespace)
    es.client.create(
        index=index,
        id="1",
        document={
            "@timestamp": "2026-01-01T00:00:00.000Z",
            "mlmon": {"check": "category_shift", "context": {"movers": [["a", 0.1], {"x": [1]}]}},
        },
        refresh=True,
    )
    context = _mapping(es, index)["properties"]["mlmon"]["properties"]["context"]
    assert context.get("enabled") is False
    assert "properties" not in context
