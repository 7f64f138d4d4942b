"""The background sender: backoff, batch sizes, counters."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from mlmon_elk import PredictionHandler
from mlmon_elk.producer.sender import ShipperCounters
from mlmon_elk.producer.spool import DiskSpool
from mlmon_elk.producer.transports import Waiting
from mlmon_elk.producer.transports.http import HttpTransport
from mlmon_elk.retry import backoff_delay
from tests.peers import HttpPeer
from tests.producer.test_handler import wait_until


def test_backoff_doubles_up_to_the_maximum_with_equal_jitter() -> None:
    """Retry n waits between half and all of min(max, initial·2^(n-1)) seconds."""
    rng = random.Random(7)
    for attempt in range(1, 12):
        ceiling = min(30.0, 0.5 * 2 ** (attempt - 1))
        delays = [backoff_delay(attempt, 0.5, 30.0, rng) for _ in range(200)]
        assert min(delays) >= ceiling / 2
        assert max(delays) <= ceiling
        assert max(delays) - min(delays) > ceiling / 4, "jittered, not fixed"


def test_backoff_never_overflows() -> None:
    """A very long outage keeps the delay at the maximum."""
    assert 15.0 <= backoff_delay(10_000, 0.5, 30.0) <= 30.0


def test_requests_stay_near_batch_bytes_whatever_the_call_sizes(tmp_path: Path) -> None:
    """Small calls and whole batches mixed: no request is much larger than batch_bytes."""
    with HttpPeer() as peer:
        peer.delay = 0.3  # let the queue fill while the first request is answered
        handler = PredictionHandler(
            peer.url,
            model="m",
            spool_dir=tmp_path,
            counters_interval=0,
            batch_bytes=20_000,
            flush_interval=0.01,
        )
        handler.log_prediction(inputs={"x": 0})
        for i in range(50):
            handler.log_prediction(inputs={"x": i})
            handler.log_prediction(inputs=[{"x": j} for j in range(100)])  # ~25 kB
        peer.delay = 0.0
        handler.close()
        assert len(peer.prediction_ids()) == 1 + 50 * 101
    largest_call = 101 * 300
    assert max(peer.body_sizes) <= 20_000 + largest_call


def test_counter_increments_and_levels() -> None:
    """Shipper documents carry increments for counters and the current value of levels."""
    before = ShipperCounters(logged=10, sent=8, duplicates=1, queued=2, spool_records=5)
    after = ShipperCounters(logged=15, sent=15, duplicates=3, queued=0, spool_records=1)
    assert after.since(before) == {
        "logged": 5,
        "sent": 7,
        "spooled": 0,
        "replayed": 0,
        "dropped": 0,
        "errors": 0,
        "resent": 0,
        "duplicates": 2,
        "rejected": 0,
        "queued": 0,
        "spool_records": 1,
        "spool_bytes": 0,
    }


@pytest.mark.parametrize("name", ["queue_size", "batch_bytes"])
def test_sizes_must_be_positive(name: str) -> None:
    """Zero-sized queues or batches are configuration errors."""
    from mlmon_elk.errors import ConfigError

    with pytest.raises(ConfigError, match=name):
        PredictionHandler("stdout", model="m", **{name: 0})


def test_a_peer_slower_than_the_app_fills_the_spool_not_the_drops(tmp_path: Path) -> None:
    """Each request answered after 0.4 s while the app logs 1,500 predictions every 0.4 s:
    with batches of 20 kB the queue (4,000) would overflow within seconds; beyond half of
    it the sender moves what is queued into the spool between requests instead, so
    nothing is dropped and every prediction arrives once, in order."""
    with HttpPeer() as peer:
        peer.delay = 0.4
        handler = PredictionHandler(
            peer.url,
            model="m",
            spool_dir=tmp_path,
            counters_interval=0,
            queue_size=4_000,
            batch_bytes=20_000,
            close_timeout=60.0,
        )
        for burst in range(6):
            for i in range(1_500):
                handler.log_prediction(inputs={"x": i}, prediction_id=f"p{burst}-{i}")
            time.sleep(0.4)
        peer.delay = 0.0
        handler.close()
        received = peer.prediction_ids()
    counters = handler.counters()
    assert counters.dropped == 0
    assert counters.spooled > 0, "the slow peer made the sender spool"
    assert received == [f"p{burst}-{i}" for burst in range(6) for i in range(1_500)]


def test_a_bug_in_a_transport_keeps_the_batch_it_was_sending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception other than a delivery failure out of a send (a bug, injected into the
    second) is counted as an error and handled as an outage: the batch is spooled and sent
    after the backoff, so every prediction still arrives, once."""
    send = HttpTransport.send
    calls = []

    def second_fails(transport: HttpTransport, data: bytes, waiting: Waiting | None = None) -> None:
        calls.append(data.count(b"\n"))
        if len(calls) == 2:
            msg = "a bug in the transport"
            raise RuntimeError(msg)
        send(transport, data, waiting)

    monkeypatch.setattr(HttpTransport, "send", second_fails)
    with HttpPeer() as peer:
        handler = PredictionHandler(
            peer.url,
            model="m",
            spool_dir=tmp_path,
            counters_interval=0,
            batch_bytes=2_000,
            backoff_initial=0.05,
        )
        ids = [f"p{i}" for i in range(200)]
        for i, pid in enumerate(ids):
            handler.log_prediction(inputs={"x": i}, prediction_id=pid)
        assert peer.wait_for_ids(set(ids), timeout=10.0), "the batch is sent after the backoff"
        handler.close()
        received = peer.prediction_ids()
    counters = handler.counters()
    assert calls[1] > 0, "the failed send carried predictions"
    assert (counters.errors, counters.dropped) == (1, 0)
    assert sorted(received) == sorted(ids)


def test_a_bug_while_spooling_counts_the_documents_it_held_as_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception the spool should never raise (a bug, injected into its first append,
    made while the peer answers 503) costs the documents the sender held then; they are
    counted as dropped, so what was logged is what was sent plus what was dropped."""
    append = DiskSpool.append
    failed: list[int] = []

    def first_fails(spool: DiskSpool, data: bytes, count: int) -> tuple[int, int]:
        if not failed:
            failed.append(count)
            msg = "a bug in the spool"
            raise RuntimeError(msg)
        return append(spool, data, count)

    monkeypatch.setattr(DiskSpool, "append", first_fails)
    with HttpPeer() as peer:
        peer.status = 503
        handler = PredictionHandler(
            peer.url, model="m", spool_dir=tmp_path, counters_interval=0, backoff_initial=0.05
        )
        ids = [f"p{i}" for i in range(300)]
        for i, pid in enumerate(ids):
            handler.log_prediction(inputs={"x": i}, prediction_id=pid)
            if i == 99:
                assert wait_until(lambda: bool(failed)), "the sender spooled, and failed"
        peer.status = 200
        assert wait_until(lambda: len(peer.prediction_ids()) >= 300 - failed[0])
        handler.close()
        received = peer.prediction_ids()
    counters = handler.counters()
    assert failed[0] > 0
    assert counters.dropped == failed[0]
    assert len(received) == len(set(received)) == 300 - failed[0]
    assert counters.errors >= 2, "the 503s and the bug"
