"""Streams created before the templates (foreign mappings) are found and rolled over."""

from __future__ import annotations

from typing import Any

import pytest

from mlmon_elk.stack.foreign import expected_policy, foreign_streams, repair_foreign_streams
from mlmon_elk.stack.plan import Action
from mlmon_elk.stack.setup import SetupOptions, run_setup
from mlmon_elk.stack.templates import PREDICTION_POLICY, RESULT_POLICY
from tests.conftest import EsTarget


def test_each_mlmon_stream_has_its_policy() -> None:
    assert expected_policy("logs-mlmon.prediction-default") == PREDICTION_POLICY
    assert expected_policy("logs-mlmon.alert-prod") == RESULT_POLICY
    assert expected_policy("logs-mlmon.invalid-default") == RESULT_POLICY
    assert expected_policy("logs-nginx.access-default") is None


def test_a_write_index_without_mlmons_mark_is_rolled_over() -> None:
    """An index made from another template (Fleet's, the built-in ``logs``) is foreign."""
    steps = foreign_streams(
        {
            "logs-mlmon.prediction-default": (".ds-logs-mlmon.prediction-default-1", "fleet"),
            "logs-mlmon.check-default": (".ds-logs-mlmon.check-default-1", "mlmon-elk"),
            "logs-mlmon.alert-default": (".ds-logs-mlmon.alert-default-1", None),
            "logs-nginx.access-default": (".ds-logs-nginx.access-default-1", None),
        }
    )
    assert [(s.name, s.action) for s in steps] == [
        ("logs-mlmon.alert-default", Action.UPDATE),
        ("logs-mlmon.prediction-default", Action.UPDATE),
    ]
    assert "managed by 'fleet'" in steps[1].detail
    assert "no mlmon-elk mark" in steps[0].detail


def test_setup_repairs_a_stream_created_before_the_templates(es_bare: EsTarget) -> None:
    """A too-early writer made the stream from another template; setup rolls it over and
    the new write index has mlmon's mappings (real data streams, on either engine)."""
    if not es_bare.data_streams:
        pytest.skip("osmem-server (the no-Java fallback) has no data streams")
    client = es_bare.client
    stream = f"logs-mlmon.prediction-{es_bare.namespace}"
    # Someone else's data-stream template, as the built-in logs-*-* one is on Elasticsearch.
    foreign: dict[str, Any] = {"index_patterns": [stream], "data_stream": {}}
    client.indices.put_index_template(name=f"foreign-{es_bare.namespace}", priority=900, **foreign)
    try:
        client.create(index=stream, id="early", document={"@timestamp": "2026-01-01T00:00:00Z"})
        # Now below mlmon's (500): what installing mlmon's templates afterwards amounts to.
        client.indices.put_index_template(
            name=f"foreign-{es_bare.namespace}", priority=1, **foreign
        )
        before = client.indices.get_data_stream(name=stream)["data_streams"][0]["indices"]
        report = run_setup(client, None, SetupOptions(wait_seconds=5))
        assert any(s.kind == "data stream" and s.name == stream for s in report.steps)
        after = client.indices.get_data_stream(name=stream)["data_streams"][0]["indices"]
        assert len(after) == len(before) + 1
        write_index = after[-1]["index_name"]
        mapping = client.indices.get_mapping(index=write_index)[write_index]["mappings"]
        assert mapping["_meta"]["managed_by"] == "mlmon-elk"
        # A second run finds nothing foreign any more.
        assert stream not in {s.name for s in repair_foreign_streams(client, dry_run=True)}
    finally:
        client.options(ignore_status=404).indices.delete_data_stream(name=stream)
        client.options(ignore_status=404).indices.delete_index_template(
            name=f"foreign-{es_bare.namespace}"
        )
