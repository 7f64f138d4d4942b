"""``elasticsearch+http(s)://``: the handler writes straight into the prediction data stream.

On the test engine (a real OpenSearch node): each document is created under
its prediction id, a resend is acknowledged as a duplicate and never a second
document — also across a real outage — and what the cluster refuses for good
is counted and reported. The last test runs the whole path without Logstash:
a serving function → the handler → the engine → the analyzer → alerts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlmon_elk import log_outcome
from mlmon_elk.analyzer.config import config_from_dict
from mlmon_elk.analyzer.run import Analyzer
from mlmon_elk.contract import Dataset, stream_name
from mlmon_elk.errors import ConfigError
from mlmon_elk.producer.handler import PredictionHandler
from mlmon_elk.producer.sender import DeliveryOptions, Sender
from mlmon_elk.producer.spool import MemorySpool
from mlmon_elk.producer.transports import DeliveryError, TransportOptions, parse_url
from mlmon_elk.producer.transports.bulk import (
    BulkTransport,
    create_action,
    document_id,
    read_bulk_answer,
)
from mlmon_elk.windows import Window
from tests import scenario
from tests.conftest import EsTarget
from tests.proxy import TcpProxy


def bulk_url(url: str) -> str:
    """The handler's URL for a cluster at ``url`` (``http://…`` → ``elasticsearch+http://…``)."""
    return f"elasticsearch+{url}"


def credentials() -> dict[str, str]:
    """A real cluster's test credentials (the engine needs none)."""
    return {
        "api_key_env": "MLMON_TEST_ES_API_KEY",
        "http_username_env": "MLMON_TEST_ES_USERNAME",
        "http_password_env": "MLMON_TEST_ES_PASSWORD",
        **({"ca_certs": ca} if (ca := os.environ.get("MLMON_TEST_ES_CA_CERTS")) else {}),
    }


def handler_for(es: EsTarget, url: str, tmp_path: Path, **options: Any) -> PredictionHandler:
    settings: dict[str, Any] = {
        "model": "churn",
        "model_version": "3",
        "namespace": es.namespace,
        "spool_dir": tmp_path / "spool",
        "flush_interval": 0.01,
        "backoff_initial": 0.05,
        "backoff_max": 0.2,
        "counters_interval": 0,
        **credentials(),
        **options,
    }
    return PredictionHandler(bulk_url(url), **settings)


def predictions_in(es: EsTarget) -> dict[str, str]:
    """``_id`` → ``mlmon.prediction_id`` of every prediction in the namespace's stream."""
    index = stream_name(Dataset.PREDICTION, es.namespace)
    es.client.indices.refresh(index=index, ignore_unavailable=True)
    found: dict[str, str] = {}
    hits = es.client.search(
        index=index,
        size=10_000,
        query={"term": {"event.dataset": "mlmon.prediction"}},
        source_includes=["mlmon.prediction_id"],
        ignore_unavailable=True,
    )["hits"]["hits"]
    for hit in hits:
        assert hit["_id"] not in found
        found[hit["_id"]] = hit["_source"]["mlmon"]["prediction_id"]
    return found


def documents_in(es: EsTarget) -> int:
    """Documents of any kind in the namespace's prediction stream."""
    index = stream_name(Dataset.PREDICTION, es.namespace)
    es.client.indices.refresh(index=index)
    return int(es.client.count(index=index)["count"])


def log(handler: PredictionHandler, ids: range, prefix: str = "req") -> list[str]:
    """One prediction per id, as a serving app would log them."""
    logged = []
    for i in ids:
        handler.log_prediction(
            inputs={"tenure": i % 70, "plan": ("basic", "pro")[i % 2]},
            outputs={"churn": (i % 10) / 10},
            latency_ms=3.5,
            prediction_id=f"{prefix}-{i}",
        )
        logged.append(f"{prefix}-{i}")
    return logged


def wait_until(what: str, done: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll ``done`` (a search on a stream being created may answer 503 meanwhile)."""
    from elasticsearch import ApiError

    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(ApiError):
            if done():
                return
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


# -- the URL -------------------------------------------------------------------------


def test_the_url_names_the_cluster_and_its_default_port() -> None:
    """``elasticsearch+https://host`` is port 9200; ``opensearch+…`` is the same transport."""
    destination = parse_url("elasticsearch+https://es.example")
    assert (destination.scheme, destination.port, destination.path) == (
        "elasticsearch+https",
        9200,
        "",
    )
    assert destination.uses_tls
    assert destination.is_network
    assert parse_url("opensearch+http://os:9201/es/").scheme == "elasticsearch+http"
    assert parse_url("opensearch+http://os:9201/es/").path == "/es"


def test_credentials_in_the_url_are_refused() -> None:
    with pytest.raises(ConfigError, match="MLMON_ES_API_KEY"):
        parse_url("elasticsearch+https://elastic:secret@es.example:9200")


def test_the_bulk_path_targets_the_prediction_stream_of_the_namespace() -> None:
    transport = BulkTransport(
        parse_url("elasticsearch+http://es.example/proxy"), TransportOptions(namespace="prod")
    )
    assert transport.path == "/proxy/logs-mlmon.prediction-prod/_bulk"


# -- ids and answers -----------------------------------------------------------------


def test_the_id_is_the_prediction_id_or_a_hash_of_the_line() -> None:
    """Predictions keep their id; counters documents and over-long ids get a stable hash."""
    assert document_id(b'{"mlmon":{"prediction_id":"req-1"}}\n') == "req-1"
    counters = b'{"mlmon":{"shipper":{"sent":3}}}\n'
    assert document_id(counters) == document_id(counters)
    assert document_id(counters).startswith("sha256:")
    long_id = b'{"mlmon":{"prediction_id":"' + "é".encode() * 300 + b'"}}'
    assert document_id(long_id).startswith("sha256:")
    with pytest.raises(ValueError, match="JSON"):
        document_id(b"[1, 2]")


def test_outcomes_go_to_their_own_stream_under_their_prediction_id() -> None:
    """An outcome names its stream in data_stream.*; other datasets stay in the request's."""
    outcome = (
        b'{"data_stream":{"type":"logs","dataset":"mlmon.outcome","namespace":"prod"},'
        b'"mlmon":{"prediction_id":"req-1"}}'
    )
    assert create_action(outcome) == ("logs-mlmon.outcome-prod", "req-1")
    prediction = outcome.replace(b"mlmon.outcome", b"mlmon.prediction")
    assert create_action(prediction) == (None, "req-1")
    elsewhere = outcome.replace(b"mlmon.outcome", b"nginx.access")
    assert create_action(elsewhere)[0] is None


def test_answers_are_sorted_created_duplicate_rejected_or_retry() -> None:
    items: list[dict[str, Any]] = [
        {"create": {"_id": "a", "status": 201}},
        {"create": {"_id": "b", "status": 409}},
        {
            "create": {
                "_id": "c",
                "status": 400,
                "error": {"type": "mapper_parsing_exception", "reason": "bad date"},
            }
        },
        {"create": {"_id": "d", "status": 429, "error": {"type": "es_rejected_execution"}}},
    ]
    outcome = read_bulk_answer({"errors": True, "items": items}, 4)
    assert (outcome.created, outcome.duplicates, outcome.rejected, outcome.retry) == (1, 1, 1, 1)
    assert outcome.first_rejection == "_id c: mapper_parsing_exception: bad date"
    assert outcome.first_retry.startswith("HTTP 429")
    with pytest.raises(DeliveryError, match="3 items for 4 documents"):
        read_bulk_answer({"items": items[:3]}, 4)


# -- on the engine --------------------------------------------------------------------


def test_each_prediction_is_created_under_its_prediction_id(es: EsTarget, tmp_path: Path) -> None:
    handler = handler_for(es, es.url, tmp_path)
    try:
        ids = log(handler, range(300))
    finally:
        handler.close()
    found = predictions_in(es)
    assert found == {i: i for i in ids}
    counters = handler.counters()
    assert (counters.logged, counters.sent, counters.duplicates, counters.rejected) == (
        300,
        300,
        0,
        0,
    )
    (stream,) = es.client.indices.get_data_stream(
        name=stream_name(Dataset.PREDICTION, es.namespace)
    )["data_streams"]
    assert stream["name"] == f"logs-mlmon.prediction-{es.namespace}"


def test_outcomes_are_created_in_the_outcome_stream_once(es: EsTarget, tmp_path: Path) -> None:
    """Predictions and their late outcomes through one handler: each lands in its stream,
    and an outcome logged twice for a prediction is one document (the first wins)."""
    handler = handler_for(es, es.url, tmp_path)
    try:
        ids = log(handler, range(20))
        for prediction_id in [*ids[:10], *ids[:5]]:
            log_outcome(handler, prediction_id=prediction_id, outcome=1)
    finally:
        handler.close()
    outcomes = stream_name(Dataset.OUTCOME, es.namespace)
    es.client.indices.refresh(index=outcomes)
    hits = es.client.search(index=outcomes, size=100)["hits"]["hits"]
    assert sorted(h["_id"] for h in hits) == sorted(ids[:10])
    assert predictions_in(es) == {i: i for i in ids}
    assert handler.counters().duplicates == 5


def test_a_resend_is_acknowledged_as_a_duplicate_not_written_again(
    es: EsTarget, tmp_path: Path
) -> None:
    """The same predictions sent again (a replay from another process's spool, say)."""
    first = handler_for(es, es.url, tmp_path / "a")
    second = handler_for(es, es.url, tmp_path / "b")
    try:
        ids = log(first, range(200))
        first.close()
        log(second, range(100, 300))
    finally:
        first.close()
        second.close()
    assert sorted(predictions_in(es)) == sorted({*ids, *(f"req-{i}" for i in range(200, 300))})
    counters = second.counters()
    assert counters.sent == 200
    assert counters.duplicates == 100


def test_an_outage_with_resends_leaves_exactly_one_document_per_prediction(
    es: EsTarget, tmp_path: Path
) -> None:
    """Answers lost, then the cluster gone, then back: every prediction once, counters add up.

    1. 1,000 predictions delivered normally;
    2. 1,000 more while the answers are lost: the engine writes what it
       receives, the handler times out, keeps it and sends it again (and again);
    3. the proxy stops (connections cut, connections refused): 1,000 more go
       to the spool while the handler backs off;
    4. the proxy is back: the spool is replayed; what the engine already had
       comes back ``409`` and is counted as a duplicate.
    """
    proxy = TcpProxy(es.url)
    proxy.start()
    handler = handler_for(
        es, proxy.url, tmp_path, send_timeout=2.0, batch_bytes=64_000, counters_interval=0.5
    )
    try:
        ids = log(handler, range(1000))
        wait_until("the first predictions", lambda: len(predictions_in(es)) == 1000)

        proxy.lose_answers = True
        ids += log(handler, range(1000, 2000))
        wait_until("an unanswered batch written", lambda: len(predictions_in(es)) > 1000)
        wait_until("the handler to give up waiting", lambda: handler.counters().errors > 0)

        proxy.stop()
        proxy.lose_answers = False
        unanswered = len(predictions_in(es)) - 1000  # written, never acknowledged
        ids += log(handler, range(2000, 3000))
        wait_until("the outage spooled", lambda: handler.counters().spool_records >= 1000)
        proxy.start()

        def delivered() -> bool:
            c = handler.counters()
            return c.queued == 0 and c.spool_records == 0 and c.sent == c.logged

        wait_until("the spool replayed", delivered)
    finally:
        handler.close()
        proxy.stop()

    found = predictions_in(es)
    assert sorted(found.values()) == sorted(ids)  # each prediction id exactly once…
    assert all(doc_id == prediction for doc_id, prediction in found.items())  # …as its _id
    counters = handler.counters()
    assert counters.logged == counters.sent  # nothing dropped, nothing left behind
    assert counters.dropped == counters.rejected == 0
    assert counters.duplicates >= unanswered > 0  # the unanswered batches, sent again
    assert counters.spooled >= 1000
    assert counters.replayed >= 1000
    # Each document is counted as sent once, when the engine answered for it:
    # written then, or (a duplicate) by a request whose answer was lost. The
    # stream holds them all once, the handler's own counters documents included.
    assert documents_in(es) == counters.sent - counters.rejected
    assert documents_in(es) > len(ids)


def test_a_document_the_cluster_refuses_is_counted_and_reported(
    es: EsTarget, caplog: pytest.LogCaptureFixture
) -> None:
    """A mapping rejection is not retried forever nor lost silently: counted as rejected,
    the reason in the diagnostics; the batch's other documents are delivered."""
    event = b'"event":{"dataset":"mlmon.prediction"}'
    good = b'{"@timestamp":"2026-01-01T00:00:00Z",%s,"mlmon":{"prediction_id":"ok-%d"}}\n'
    bad = b'{"@timestamp":"yesterday",%s,"mlmon":{"prediction_id":"bad-1"}}\n' % event
    destination = parse_url(bulk_url(es.url))
    options = TransportOptions(namespace=es.namespace)
    sender = Sender(
        lambda: BulkTransport(destination, options),
        lambda: MemorySpool(max_bytes=1 << 20),
        DeliveryOptions(flush_interval=0.01, counters_interval=0),
    )
    sender.start()
    with caplog.at_level(logging.WARNING, logger="mlmon_elk.shipper"):
        sender.submit(good % (event, 1) + bad + good % (event, 2))
        assert sender.flush(10)
        sender.close()
    counters = sender.counters()
    assert (counters.sent, counters.rejected, counters.duplicates) == (3, 1, 0)
    assert sorted(predictions_in(es)) == ["ok-1", "ok-2"]
    (message,) = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert "1 documents rejected" in message
    assert "_id bad-1" in message
    assert "yesterday" in message or "parse" in message


def test_a_cluster_that_refuses_the_credentials_keeps_the_documents(tmp_path: Path) -> None:
    """401 is no fault of the documents: they stay in the spool, and the message names the
    environment variable to set."""
    from tests.peers import HttpPeer

    with HttpPeer() as peer:
        peer.status = 401
        handler = PredictionHandler(
            bulk_url(peer.url),
            model="m",
            spool_dir=tmp_path,
            counters_interval=0,
            flush_interval=0.01,
            api_key_env="MLMON_TEST_NO_SUCH_KEY",
        )
        messages: list[str] = []
        collect = logging.Handler()
        collect.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
        logging.getLogger("mlmon_elk.shipper").addHandler(collect)
        try:
            log(handler, range(10))
            wait_until("a failed attempt", lambda: handler.counters().errors > 0)
            waiting = handler.counters().spool_records
        finally:
            handler.close()
            logging.getLogger("mlmon_elk.shipper").removeHandler(collect)
    counters = handler.counters()
    assert counters.sent == 0
    assert counters.dropped == 0
    assert counters.spooled == waiting == 10  # on disk, for the next attempt or process
    assert any("HTTP 401" in m and "MLMON_TEST_NO_SUCH_KEY" in m for m in messages)


# -- the whole path, without Logstash ------------------------------------------------


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A baseline profile built from the scenario's training data."""
    _, path = scenario.build(tmp_path_factory.mktemp("baseline"))
    return path


def test_a_serving_app_to_alerts_without_logstash(
    es: EsTarget, baseline: Path, tmp_path: Path
) -> None:
    """A serving function logs through the real handler straight into the engine; the
    analyzer compares each window with the baseline and writes exactly the injected
    drift's alerts to the alert stream."""
    handler = handler_for(
        es,
        es.url,
        tmp_path,
        model=scenario.MODEL,
        model_version=scenario.VERSION,
        text_inputs=["note"],
        counters_interval=0.2,
    )

    def serve(window: int, *, drifted: bool) -> None:
        """What a serving app does: predict, and log the prediction."""
        scenario.log_window(handler, window, injected=drifted)

    try:
        serve(0, drifted=False)
        serve(1, drifted=True)
    finally:
        handler.close()
    assert handler.counters().sent == handler.counters().logged
    # What the analyzer's settle delay gives in production: the documents are searchable.
    es.client.indices.refresh(index=stream_name(Dataset.PREDICTION, es.namespace))

    config = config_from_dict(
        {
            "elasticsearch": {"hosts": [es.url]},
            "namespace": es.namespace,
            "schedule": {"interval": "10m", "window": "10m", "delay": "1m"},
            "analysis": {"history": 3},
            "models": [{"name": scenario.MODEL, "baselines": {scenario.VERSION: str(baseline)}}],
        },
        base=tmp_path,
    )
    analyzer = Analyzer.from_config(config, client=es.client)
    windows = [scenario.window_start(i) for i in range(3)]
    clean = analyzer.run(Window(windows[0], windows[1]))
    drifted = analyzer.run(Window(windows[1], windows[2]))
    assert clean.summary.ok, clean.summary.errors
    assert [w.count for w in clean.results] == [scenario.WINDOW_ROWS, scenario.WINDOW_ROWS]

    alerts = stream_name(Dataset.ALERT, es.namespace)
    es.client.indices.refresh(index=alerts)
    hits = es.client.search(index=alerts, size=100)["hits"]["hits"]
    raised = {(h["_source"]["mlmon"]["check"], h["_source"]["mlmon"].get("feature")) for h in hits}
    assert raised == {(str(c), f) for c, f in scenario.INJECTED}
    assert drifted.summary.ok, drifted.summary.errors
