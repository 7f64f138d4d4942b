"""The Elasticsearch source against a real server: no data, unmapped fields, outages, limits."""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from elasticsearch import ApiError

from mlmon_elk.analyzer.fetch import ElasticsearchSource
from mlmon_elk.contract import Dataset, Kind, Role, stream_name
from mlmon_elk.errors import SourceError
from mlmon_elk.profile.baseline import ModelBaselines
from mlmon_elk.profile.engine_plan import PlanOptions
from mlmon_elk.retry import Retry
from mlmon_elk.sources.elasticsearch import Body, Response, Searches
from mlmon_elk.windows import Window
from tests.conftest import EsTarget
from tests.factories import baseline, credit_baseline, index_documents, numeric, prediction
from tests.proxy import TcpProxy, connect_via, free_port

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
WINDOW = Window(START, START + timedelta(minutes=10))
CREDIT = ModelBaselines("credit", {"1.0": credit_baseline()}, default_version="1.0")
FAST = Retry(attempts=3, initial=0.01, maximum=0.02)


def _docs(n: int = 20) -> list[dict[str, object]]:
    return [
        prediction(
            START + timedelta(seconds=10 * i),
            inputs={"age": 20 + i, "marital": "single", "note": "late payment"},
            outputs={"score": 0.4},
        )
        for i in range(n)
    ]


def test_no_stream_yet_is_an_empty_window(es: EsTarget) -> None:
    """Before any prediction arrives the window simply has no versions."""
    fetched = ElasticsearchSource(es.client, es.namespace).fetch(CREDIT, WINDOW, history=2)
    assert fetched.window.versions == {}
    assert fetched.window.history == (0, 0)
    assert fetched.requests == 2  # the count per version, then the plan


def test_never_mapped_features_count_zero_not_every_document(es: EsTarget) -> None:
    """A baseline feature no document ever carried is absent — not 'missing' in all of them."""
    index_documents(es.client, stream_name(Dataset.PREDICTION, es.namespace), _docs())
    with_ghost = baseline(
        "credit", "1.0", [*credit_baseline().features, numeric("ghost", (1.0, 2.0))]
    )
    model = ModelBaselines("credit", {"1.0": with_ghost}, default_version="1.0")
    profile = (
        ElasticsearchSource(es.client, es.namespace).fetch(model, WINDOW).window.versions["1.0"]
    )
    assert profile.count == 20
    ghost = profile.feature(Role.INPUT, "ghost")
    assert ghost is not None
    assert (ghost.present, ghost.null, dict(ghost.kinds)) == (0, 0, {})
    assert ghost.numeric is not None
    assert (ghost.numeric.count, ghost.numeric.bins) == (0, (0, 0, 0))
    age = profile.feature(Role.INPUT, "age")
    assert age is not None
    assert (age.present, dict(age.kinds)) == (20, {Kind.NUM: 20})
    # income was never sent: absent from every document, not null in them.
    income = profile.feature(Role.INPUT, "income")
    assert income is not None
    assert (income.present, income.null) == (0, 0)


def test_a_version_appearing_mid_window_gets_its_own_profile(es: EsTarget) -> None:
    """A rollout halfway through the window yields two versions with their own counts."""
    docs = _docs(20)
    for doc in docs[12:]:
        doc["mlmon"]["model"]["version"] = "1.1"  # type: ignore[index]
    index_documents(es.client, stream_name(Dataset.PREDICTION, es.namespace), docs)
    window = ElasticsearchSource(es.client, es.namespace).fetch(CREDIT, WINDOW).window
    assert {v: p.count for v, p in window.versions.items()} == {"1.0": 12, "1.1": 8}


def test_unreachable_cluster_fails_clearly_after_backing_off() -> None:
    """Connection refused on every try ends in one SourceError after growing waits."""
    from mlmon_elk.engine.client import EsConnection, connect

    waits: list[float] = []
    client = connect(EsConnection(hosts=(f"http://127.0.0.1:{free_port()}",)))
    source = ElasticsearchSource(client, "default", retry=Retry(3, 1.0, 10.0), sleep=waits.append)
    with pytest.raises(SourceError, match=r"failed after 3 tries: cannot reach Elasticsearch"):
        source.fetch(CREDIT, WINDOW)
    assert len(waits) == 2
    assert 0.5 <= waits[0] <= 1.0
    assert 1.0 <= waits[1] <= 2.0


def test_an_unreachable_cluster_is_not_asked_again_with_tdigest() -> None:
    """The TDigest re-plan is for a cluster that refused HDR, not for one that never
    answered: the plan's search fails after its own tries, once."""
    from mlmon_elk.engine.client import EsConnection, connect

    waits: list[float] = []
    client = connect(EsConnection(hosts=(f"http://127.0.0.1:{free_port()}",)))
    source = ElasticsearchSource(
        client,
        "default",
        options=PlanOptions(sample_rows=0),  # no count first: the plan's search meets it
        retry=Retry(3, 0.01, 0.02),
        sleep=waits.append,
    )
    with pytest.raises(SourceError, match=r"failed after 3 tries: cannot reach Elasticsearch"):
        source.fetch(CREDIT, WINDOW)
    assert len(waits) == 2


def test_a_cluster_back_within_the_retries_answers_the_fetch(es: EsTarget) -> None:
    """The first try meets a closed port; the proxy reopens in the backoff; the fetch succeeds."""
    index_documents(es.client, stream_name(Dataset.PREDICTION, es.namespace), _docs())
    proxy = TcpProxy(es.url).start()
    client = connect_via(es, proxy.url)
    proxy.stop()

    def reopen(_: float) -> None:
        proxy.start()

    try:
        source = ElasticsearchSource(client, es.namespace, retry=FAST, sleep=reopen)
        fetched = source.fetch(CREDIT, WINDOW)
    finally:
        proxy.stop()
        client.close()
    assert fetched.window.versions["1.0"].count == 20
    assert fetched.requests == 3  # the count's refused try and its retry, then the plan


def test_a_lower_cluster_bucket_limit_is_met_by_splitting(
    es: EsTarget, caplog: pytest.LogCaptureFixture
) -> None:
    """The cluster's search.max_buckets really refuses the plan; the source re-plans under the
    limit the error reports, and the split fetch counts exactly what the whole one did."""
    index_documents(es.client, stream_name(Dataset.PREDICTION, es.namespace), _docs())
    options = PlanOptions(max_versions=1, new_features=5)
    expected = ElasticsearchSource(es.client, es.namespace, options=options).fetch(CREDIT, WINDOW)
    assert not any("split into" in note for note in expected.notes)
    es.client.cluster.put_settings(transient={"search.max_buckets": 20})
    try:
        with pytest.raises(ApiError) as refused:  # the limit is really there
            es.client.search(
                index=stream_name(Dataset.PREDICTION, es.namespace),
                body=ElasticsearchSource(es.client, es.namespace, options=options)
                .query_plan(CREDIT, WINDOW)
                .bodies[0],
            )
        assert "too_many_buckets" in str(refused.value.body)
        fetched = ElasticsearchSource(es.client, es.namespace, options=options).fetch(
            CREDIT, WINDOW
        )
    finally:
        es.client.cluster.put_settings(transient={"search.max_buckets": None})
    assert "max_buckets" not in str(es.client.cluster.get_settings()["transient"])
    assert "the cluster allows fewer buckets; splitting under 20" in caplog.text
    assert fetched.requests == 3  # the count, the refused search, then the split _msearch
    assert any("split into" in note for note in fetched.notes)
    assert fetched.window == expected.window


def test_a_rollover_mid_window_neither_loses_nor_doubles_predictions(es: EsTarget) -> None:
    """Half the window's predictions, a rollover of the data stream, the other half: the
    window counts every prediction once, across both backing indices."""
    stream = stream_name(Dataset.PREDICTION, es.namespace)
    if not es.data_streams:
        pytest.skip("rollover of a data stream needs a real engine")
    docs = _docs(40)
    index_documents(es.client, stream, docs[:25])
    rolled = es.client.indices.rollover(alias=stream)
    assert rolled["rolled_over"]
    index_documents(es.client, stream, docs[25:])
    (data_stream,) = es.client.indices.get_data_stream(name=stream)["data_streams"]
    assert len(data_stream["indices"]) == 2
    fetched = ElasticsearchSource(es.client, es.namespace).fetch(CREDIT, WINDOW)
    profile = fetched.window.versions["1.0"]
    assert profile.count == 40
    age = profile.feature(Role.INPUT, "age")
    assert age is not None
    assert age.present == 40
    assert age.numeric is not None
    assert (sum(age.numeric.bins), age.numeric.count) == (40, 40)


def test_concurrent_fetches_share_one_client(es: EsTarget) -> None:
    """Two models counted at once through one client do not mix their counts."""
    docs = _docs(10) + [
        prediction(START + timedelta(seconds=i), model="other", inputs={"age": 1}) for i in range(4)
    ]
    index_documents(es.client, stream_name(Dataset.PREDICTION, es.namespace), docs)
    other = ModelBaselines(
        "other", {"1.0": baseline("other", "1.0", [numeric("age", (5.0,))])}, "1.0"
    )
    source = ElasticsearchSource(es.client, es.namespace)
    counts: dict[str, int] = {}

    def run(model: ModelBaselines) -> None:
        counts[model.model] = source.fetch(model, WINDOW).window.count

    threads = [threading.Thread(target=run, args=(m,)) for m in (CREDIT, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counts == {"credit": 10, "other": 4}


def test_a_server_that_never_answers_times_out_and_fails_clearly() -> None:
    """A listener that accepts and stays silent: each try times out, then a clear SourceError."""
    import socket

    from mlmon_elk.engine.client import EsConnection, connect

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    client = connect(EsConnection(hosts=(url,), request_timeout=0.2))
    waits: list[float] = []
    source = ElasticsearchSource(client, "default", retry=Retry(2, 0.01, 0.01), sleep=waits.append)
    try:
        with pytest.raises(
            SourceError, match="failed after 2 tries: no answer from Elasticsearch in time"
        ):
            source.fetch(CREDIT, WINDOW)
    finally:
        client.close()
        silent.close()
    assert len(waits) == 1


def test_a_large_version_is_counted_exactly_for_operations_and_on_a_sample_for_features(
    es: EsTarget,
) -> None:
    """3,000 predictions over a 600-row limit: traffic and failures exact; features on a
    seeded random fifth of them, the same fifth every time the window is counted."""
    docs = [
        prediction(
            START + timedelta(milliseconds=150 * i),
            inputs={"age": 20 + i % 50, "marital": "single", "note": "late payment"},
            outputs={"score": 0.4},
            failure=i % 10 == 0,
            prediction_id=f"p{i}",
        )
        for i in range(3_000)
    ]
    index_documents(es.client, stream_name(Dataset.PREDICTION, es.namespace), docs)
    source = ElasticsearchSource(es.client, es.namespace, options=PlanOptions(sample_rows=600))
    fetched = source.fetch(CREDIT, WINDOW)
    assert fetched.requests == 4  # the count, the search settings (read once), one _msearch
    profile = fetched.window.versions["1.0"]
    assert (profile.count, profile.failures) == (3_000, 300)
    assert profile.sample is not None
    assert profile.sample.rate == 0.2
    # Binomial(3,000, 0.2): mean 600, sd 22; the failures are a tenth of it.
    assert 490 < profile.sample.rows < 710
    assert 0.05 < profile.sample.failures / profile.sample.rows < 0.15
    age = profile.feature(Role.INPUT, "age")
    assert age is not None
    assert age.present == profile.sample.rows
    assert age.numeric is not None
    assert age.numeric.count == profile.sample.rows
    assert profile.present_names["age"] == profile.sample.rows
    again = source.fetch(CREDIT, WINDOW)
    assert again.window == fetched.window
    assert again.requests == 2

    exact = ElasticsearchSource(es.client, es.namespace, options=PlanOptions(sample_rows=0))
    whole = exact.fetch(CREDIT, WINDOW)
    assert whole.requests == 1  # sampling off: no count first
    assert whole.window.versions["1.0"].sample is None
    assert whole.window.versions["1.0"].feature_rows == 3_000


def test_latency_percentiles_come_from_an_hdr_histogram_within_a_tenth_of_a_percent(
    es: EsTarget,
) -> None:
    """The plan asks for HDR percentiles; on 2,000 skewed latencies each is within 0.1 % of
    a latency of its rank, one search, no note."""
    latencies = np.random.default_rng(5).lognormal(3, 1, 2_000)
    docs = [
        prediction(
            START + timedelta(milliseconds=250 * i), latency_ms=float(x), prediction_id=f"p{i}"
        )
        for i, x in enumerate(latencies)
    ]
    index_documents(es.client, stream_name(Dataset.PREDICTION, es.namespace), docs)
    source = ElasticsearchSource(es.client, es.namespace, options=PlanOptions(sample_rows=0))
    plan = source.query_plan(CREDIT, WINDOW)
    assert '"hdr": {"number_of_significant_value_digits": 3}' in json.dumps(plan.bodies)
    fetched = source.fetch(CREDIT, WINDOW)
    assert (fetched.requests, fetched.notes) == (1, ())
    latency = fetched.window.versions["1.0"].latency
    ranked = np.sort(latencies)
    for percent, value in latency.percentiles.items():
        rank = percent / 100 * len(ranked)  # HDR: the latency counted to cover the rank
        nearest = ranked[max(0, math.floor(rank) - 1) : math.ceil(rank) + 1]
        assert np.min(np.abs(nearest - value) / nearest) <= 1e-3, (percent, value, nearest)


@pytest.mark.parametrize("sample_rows", [0, 600])
def test_a_latency_hdr_cannot_record_is_counted_again_with_tdigest(
    es: EsTarget, sample_rows: int, caplog: pytest.LogCaptureFixture
) -> None:
    """A negative latency (not the handler's: another producer's) makes the engine refuse HDR
    percentiles; the source counts the window again with TDigest, says so, and every
    prediction is counted — sampled or not."""
    if not es.real:
        pytest.skip("the refusal is the engine's own HDR histogram's")
    docs = [
        prediction(
            START + timedelta(milliseconds=250 * i),
            latency_ms=-3.0 if i == 7 else 10.0 + i % 50,
            prediction_id=f"p{i}",
        )
        for i in range(2_000)
    ]
    index_documents(es.client, stream_name(Dataset.PREDICTION, es.namespace), docs)
    source = ElasticsearchSource(
        es.client, es.namespace, options=PlanOptions(sample_rows=sample_rows), retry=FAST
    )
    with caplog.at_level(logging.WARNING, logger="mlmon_elk.analyzer.fetch"):
        fetched = source.fetch(CREDIT, WINDOW)
    latency = fetched.window.versions["1.0"].latency
    assert (latency.count, latency.max) == (2_000, 59.0)
    assert latency.percentiles[50.0] == pytest.approx(34.5, abs=1.0)
    assert any("latency percentiles by TDigest" in note for note in fetched.notes)
    assert "counting the latency percentiles with TDigest" in caplog.text
    # The refused search, then the TDigest one (and, when sampling, the count first and
    # the engine's search settings, read once).
    assert fetched.requests == (5 if sample_rows else 2)


def test_with_segments_searched_side_by_side_a_sample_is_counted_in_one_search(
    es: EsTarget, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An engine that searches a shard's segments side by side (OpenSearch's concurrent
    segment search) gives one search every core: a sampled version's features then go
    in one search, not spread over two that would each score every prediction, and
    they count the same."""
    if es.engine != "opensearch":
        pytest.skip("concurrent segment search is an OpenSearch setting")
    docs = [
        prediction(
            START + timedelta(milliseconds=150 * i),
            inputs={"age": 20 + i % 50, "marital": "single", "note": "late payment"},
            outputs={"score": 0.4},
            prediction_id=f"p{i}",
        )
        for i in range(3_000)
    ]
    index_documents(es.client, stream_name(Dataset.PREDICTION, es.namespace), docs)
    bodies: list[int] = []
    search_all = Searches.search_all

    def counted(
        searches: Searches, index: str, sent: Sequence[Body], what: str
    ) -> tuple[list[Response], int]:
        bodies.append(len(sent))
        return search_all(searches, index, sent, what)

    monkeypatch.setattr(Searches, "search_all", counted)
    options = PlanOptions(sample_rows=1_200)  # a rate of 0.4: two feature searches by default
    apart = ElasticsearchSource(es.client, es.namespace, options=options).fetch(CREDIT, WINDOW)
    setting = "search.concurrent_segment_search.mode"
    es.client.cluster.put_settings(persistent={setting: "auto"})
    try:
        with caplog.at_level(logging.INFO, logger="mlmon_elk.analyzer.fetch"):
            source = ElasticsearchSource(es.client, es.namespace, options=options)
            together = source.fetch(CREDIT, WINDOW)
    finally:
        es.client.cluster.put_settings(persistent={setting: None})
    assert bodies == [3, 2]  # operational, then the features in two searches or in one
    assert together.window == apart.window
    assert "one search per sample" in caplog.text
