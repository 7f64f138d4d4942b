"""Logstash http input: batches as JSON arrays, 2xx means delivered, the rest is retried."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

import pytest

from mlmon_elk import PredictionHandler
from mlmon_elk.errors import ConfigError
from tests.peers import HttpPeer
from tests.producer.transports.test_tcp import (
    last_json,
    log_in_bursts,
    producer,
    small_queue_handler,
)
from tests.tls import Certificates


def wait_until(condition: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.02)
    return False


def test_batches_arrive_as_events(tmp_path: Path) -> None:
    """Documents are POSTed as JSON arrays that the input splits into one event each."""
    with HttpPeer() as peer:
        handler = PredictionHandler(peer.url, model="m", spool_dir=tmp_path, counters_interval=0)
        for i in range(300):
            handler.log_prediction(inputs={"i": i}, prediction_id=f"h{i}")
        handler.close()
        assert peer.wait_for_ids({f"h{i}" for i in range(300)}, timeout=10)
        assert len(peer.prediction_ids()) == 300
        assert peer.requests < 300, "batched, not one request per document"
        assert peer.failures == []


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_a_peer_slow_to_answer_fills_the_spool_not_the_drops(
    tls: bool, certificates: Certificates, tmp_path: Path
) -> None:
    """A peer that takes seconds to answer (a cluster busy with a bulk request) holds a
    send while the app goes on logging; the queue (2,000) would overflow long before the
    answer. While the send waits for its answer, the sender moves what is queued into
    the spool: nothing is dropped, and every prediction arrives exactly once."""
    with HttpPeer(ssl_context=certificates.server_context() if tls else None) as peer:
        handler = small_queue_handler(peer.url, tmp_path, certificates.ca if tls else None)
        assert peer.wait_for_ids({"first"}, timeout=10.0)
        peer.delay = 3.0
        handler.log_prediction(inputs={"x": 0}, prediction_id="slow")
        assert wait_until(lambda: peer.requests == 2), "the slow request is under way"
        ids = log_in_bursts(handler, 25)
        peer.delay = 0.0
        handler.close()
        received = peer.prediction_ids()
    counters = handler.counters()
    assert counters.dropped == 0
    assert counters.spooled > 0, "the waiting send made the sender spool"
    assert counters.errors == 0, "the answer came (3 s) before the send timeout (10 s)"
    assert sorted(received) == sorted(["first", "slow", *ids])


def test_a_socket_numbered_beyond_selects_limit_waits_like_any_other(
    many_descriptors: int, tmp_path: Path
) -> None:
    """In an app holding more than 1,024 descriptors the handler's socket gets a number
    ``select`` refuses: waiting for a slow answer uses ``poll``, so it works the same."""
    with socket.socket() as probe:
        assert probe.fileno() > 1_024, "the handler's socket comes after the held ones"
    with HttpPeer() as peer:
        peer.delay = 0.3  # each send waits for its answer
        handler = PredictionHandler(peer.url, model="m", spool_dir=tmp_path, counters_interval=0)
        ids = [f"p{i}" for i in range(100)]
        for i, pid in enumerate(ids):
            handler.log_prediction(inputs={"x": i}, prediction_id=pid)
        handler.close()
        received = peer.prediction_ids()
    counters = handler.counters()
    assert counters.errors == 0
    assert sorted(received) == sorted(ids)


def test_non_2xx_keeps_records_for_retry(tmp_path: Path) -> None:
    """A 503 (or 429) answer keeps the batch; once the peer answers 200, it is delivered once."""
    with HttpPeer() as peer:
        peer.status = 503
        handler = PredictionHandler(
            peer.url,
            model="m",
            spool_dir=tmp_path,
            counters_interval=0,
            backoff_initial=0.05,
            backoff_max=0.2,
        )
        for i in range(100):
            handler.log_prediction(inputs={"i": i}, prediction_id=f"r{i}")
        assert wait_until(lambda: peer.refused >= 2)
        assert peer.events == []
        assert handler.counters().spooled == 100
        peer.status = 200
        assert peer.wait_for_ids({f"r{i}" for i in range(100)}, timeout=10)
        handler.close()
        assert sorted(peer.prediction_ids()) == sorted(f"r{i}" for i in range(100))
    counters = handler.counters()
    assert counters.errors >= 2
    assert counters.replayed == 100


def test_credentials_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Basic auth is read from MLMON_HTTP_USERNAME / MLMON_HTTP_PASSWORD."""
    monkeypatch.setenv("MLMON_HTTP_USERNAME", "shipper")
    monkeypatch.setenv("MLMON_HTTP_PASSWORD", "pw")
    with HttpPeer(credentials=("shipper", "pw")) as peer:
        handler = PredictionHandler(peer.url, model="m", spool_dir=tmp_path, counters_interval=0)
        handler.log_prediction(inputs={}, prediction_id="auth")
        assert peer.wait_for_ids({"auth"}, timeout=10)
        handler.close()
        assert peer.refused == 0


def test_wrong_credentials_are_retried_not_lost(tmp_path: Path) -> None:
    """A 401 keeps the documents like any other non-2xx answer."""
    with HttpPeer(credentials=("shipper", "pw")) as peer:
        handler = PredictionHandler(
            peer.url, model="m", spool_dir=tmp_path, counters_interval=0, close_timeout=0.2
        )
        handler.log_prediction(inputs={}, prediction_id="x")
        assert wait_until(lambda: peer.refused >= 1)
        handler.close()
        assert handler.counters().spool_records == 0  # closed: left on disk for the next process
    assert list(tmp_path.glob("*.spool"))


def test_credentials_in_the_url_are_refused() -> None:
    """user:password@ in a URL is a ConfigError: secrets come from the environment."""
    with pytest.raises(ConfigError, match="environment"):
        PredictionHandler("http://user:pw@localhost:8080/", model="m")


def test_spool_survives_sigkill(tmp_path: Path) -> None:
    """Through HTTP too: peer down, producer killed, restarted, everything arrives."""
    count = 3_000
    with HttpPeer() as peer:
        url, port = peer.url, peer.port
    with producer(url, "--count", str(count), "--spool", str(tmp_path), "--then", "hold") as first:
        assert first.stdout is not None
        lines = [first.stdout.readline()]
        while lines[-1] and not lines[-1].startswith("ready"):
            lines.append(first.stdout.readline())
        assert last_json(lines)["spool_records"] == count
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    with HttpPeer(port=port) as peer, producer(url, "--spool", str(tmp_path)) as second:
        assert second.wait(60) == 0
        expected = {f"id{i}" for i in range(count)}
        assert peer.wait_for_ids(expected, timeout=30)
        assert set(peer.prediction_ids()) == expected


def test_https_verified_with_the_given_ca(certificates: Certificates, tmp_path: Path) -> None:
    """https:// verifies the server against ca_certs (and refuses without it)."""
    with HttpPeer(ssl_context=certificates.server_context()) as peer:
        trusted = PredictionHandler(
            peer.url,
            model="m",
            ca_certs=str(certificates.ca),
            spool_dir=tmp_path / "a",
            counters_interval=0,
        )
        trusted.log_prediction(inputs={}, prediction_id="ok")
        assert peer.wait_for_ids({"ok"}, timeout=10)
        trusted.close()
        untrusted = PredictionHandler(
            peer.url, model="m", spool_dir=tmp_path / "b", counters_interval=0, close_timeout=0.2
        )
        untrusted.log_prediction(inputs={}, prediction_id="no")
        assert wait_until(lambda: untrusted.counters().errors > 0)
        untrusted.close()
        assert peer.prediction_ids() == ["ok"]
