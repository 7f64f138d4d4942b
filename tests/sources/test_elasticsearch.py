"""Reading the engine's search settings, on the engine."""

from __future__ import annotations

import pytest

from mlmon_elk.contract import Dataset, stream_name
from mlmon_elk.sources.elasticsearch import searches_segments_concurrently
from tests.analyzer.test_fetch_elasticsearch import START
from tests.conftest import EsTarget
from tests.factories import index_documents, prediction

MODE = "search.concurrent_segment_search.mode"
ENABLED = "search.concurrent_segment_search.enabled"


def test_concurrent_segment_search_is_read_from_the_index_then_the_cluster(
    es: EsTarget,
) -> None:
    """Off by default on OpenSearch 2.x; on with the cluster's mode ``auto`` or ``all``, or
    its older ``enabled``; an explicit mode on the stream's newest backing index wins over
    the cluster's, one on an older index does not count. Elasticsearch has no such
    setting: never on."""
    if not es.real:
        pytest.skip("osmem has no index or cluster settings")
    stream = stream_name(Dataset.PREDICTION, es.namespace)
    index_documents(es.client, stream, [prediction(START)])
    on = searches_segments_concurrently
    if es.engine != "opensearch":
        assert not on(es.client, stream)
        return
    assert not on(es.client, stream)
    try:
        es.client.cluster.put_settings(persistent={MODE: "auto"})
        assert on(es.client, stream)
        es.client.indices.put_settings(index=stream, settings={f"index.{MODE}": "none"})
        assert not on(es.client, stream)
        es.client.indices.put_settings(index=stream, settings={f"index.{MODE}": None})
        es.client.cluster.put_settings(persistent={MODE: None, ENABLED: True})
        assert on(es.client, stream)
    finally:
        es.client.cluster.put_settings(persistent={MODE: None, ENABLED: None})
    assert not on(es.client, stream)

    # After a rollover, a mode set on the older backing index no longer applies.
    older = es.client.indices.get_data_stream(name=stream).body["data_streams"][0]["indices"]
    es.client.indices.put_settings(index=older[-1]["index_name"], settings={f"index.{MODE}": "all"})
    assert on(es.client, stream)
    es.client.indices.rollover(alias=stream)
    assert not on(es.client, stream)
