"""Streams created before the templates (foreign mappings) are found and rolled over."""

from __future__ import annotations

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


def test_a_write_index_without_mlmons_policy_is_rolled_over() -> None:
    """The built-in ``logs`` template gave the first index policy ``logs``: foreign."""
    steps = foreign_streams(
        {
            "logs-mlmon.prediction-default": (".ds-logs-mlmon.prediction-default-1", "logs"),
            "logs-mlmon.check-default": (".ds-logs-mlmon.check-default-1", RESULT_POLICY),
            "logs-mlmon.alert-default": (".ds-logs-mlmon.alert-default-1", None),
        }
    )
    assert [(s.name, s.action) for s in steps] == [
        ("logs-mlmon.alert-default", Action.UPDATE),
        ("logs-mlmon.prediction-default", Action.UPDATE),
    ]
    assert "ILM policy 'logs'" in steps[1].detail
    assert "no ILM policy" in steps[0].detail


def test_setup_repairs_a_stream_created_before_the_templates(es_bare: EsTarget) -> None:
    """On an engine with data streams: write first, then setup; the write index changes."""
    if not es_bare.data_streams:
        pytest.skip("needs data streams and ILM (a real Elasticsearch: MLMON_TEST_ES_URL)")
    client = es_bare.client
    stream = f"logs-mlmon.prediction-{es_bare.namespace}"
    # The built-in logs-*-* template makes the stream, as a too-early writer would.
    client.create(index=stream, id="early", document={"@timestamp": "2026-01-01T00:00:00Z"})
    before = client.indices.get_data_stream(name=stream)["data_streams"][0]["indices"]
    report = run_setup(client, None, SetupOptions(wait_seconds=5))
    assert any(s.kind == "data stream" and s.name == stream for s in report.steps)
    after = client.indices.get_data_stream(name=stream)["data_streams"][0]["indices"]
    assert len(after) == len(before) + 1
    settings = client.indices.get_settings(index=after[-1]["index_name"])
    assert settings[after[-1]["index_name"]]["settings"]["index"]["lifecycle"]["name"] == (
        PREDICTION_POLICY
    )
    # A second run finds nothing foreign any more.
    assert repair_foreign_streams(client, dry_run=True) == []
