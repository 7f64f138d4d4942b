"""Logstash tcp input with json_lines: delivery, outages, crashes, TLS."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlmon_elk import PredictionHandler
from mlmon_elk.producer.sender import Sender
from mlmon_elk.producer.transports import DeliveryError, TransportOptions
from mlmon_elk.producer.transports.tcp import TcpTransport
from tests.peers import JsonLinesPeer
from tests.tls import Certificates

REPO = Path(__file__).resolve().parents[3]


@contextlib.contextmanager
def producer(url: str, *args: str) -> Iterator[subprocess.Popen[str]]:
    """A real serving process (tests/producer.py) logging through the handler."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.serving_process", url, *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def last_json(lines: list[str]) -> dict[str, int]:
    return json.loads(next(line for line in reversed(lines) if line.startswith("{")))


def small_queue_handler(url: str, spool: Path, ca: Path | None) -> PredictionHandler:
    """A handler whose queue (2,000) overflows within a second of a send that waits,
    unless the sender moves it into the spool; its first prediction delivered."""
    handler = PredictionHandler(
        url,
        model="m",
        spool_dir=spool,
        counters_interval=0,
        queue_size=2_000,
        close_timeout=60.0,
        ca_certs=str(ca) if ca else None,
    )
    handler.log_prediction(inputs={"x": 0}, prediction_id="first")
    return handler


def log_in_bursts(handler: PredictionHandler, bursts: int, note: str = "") -> list[str]:
    """Bursts of 1,000 predictions a tenth of a second apart (10,000 a second, far more than
    a queue of 2,000 holds while a send waits); their ids, in order."""
    ids = [f"p{burst}-{i}" for burst in range(bursts) for i in range(1_000)]
    inputs: dict[str, object] = {"note": note} if note else {}
    for burst in range(bursts):
        for i in range(1_000):
            handler.log_prediction(inputs={"x": i, **inputs}, prediction_id=ids[burst * 1_000 + i])
        time.sleep(0.1)
    return ids


def test_documents_arrive_as_json_lines(tmp_path: Path) -> None:
    """Every logged prediction arrives once, decodes as JSON, and close() confirms it."""
    with JsonLinesPeer() as peer:
        handler = PredictionHandler(peer.url, model="m", spool_dir=tmp_path, counters_interval=0)
        for i in range(500):
            handler.log_prediction(inputs={"i": i}, prediction_id=f"p{i}")
        handler.close()
        assert peer.wait_for_ids({f"p{i}" for i in range(500)}, timeout=10)
        assert sorted(peer.prediction_ids()) == sorted(f"p{i}" for i in range(500))
        assert peer.failures == []
    counters = handler.counters()
    assert (counters.logged, counters.sent, counters.resent, counters.errors) == (500, 500, 0, 0)
    assert not list(tmp_path.glob("*.spool")), "everything confirmed: the spool is empty"


@pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])
def test_a_peer_that_stops_reading_fills_the_spool_not_the_drops(
    tls: bool, certificates: Certificates, tmp_path: Path
) -> None:
    """Logstash under backpressure keeps the connection but reads nothing: a send waits,
    for seconds, on full buffers while the app goes on logging. The queue (2,000) would
    overflow in a fraction of that (18,000 of these 30,000 were dropped before); while
    the send waits, the sender moves what is queued into the spool, so nothing is
    dropped, and once the peer reads again every prediction arrives exactly once."""
    context = certificates.server_context() if tls else None
    with JsonLinesPeer(ssl_context=context) as peer:
        handler = small_queue_handler(peer.url, tmp_path, certificates.ca if tls else None)
        assert peer.wait_for_ids({"first"}, timeout=10.0)
        peer.reading.clear()
        ids = log_in_bursts(handler, 30, note="y" * 200)
        peer.reading.set()
        handler.close()
        received = peer.prediction_ids()
    counters = handler.counters()
    assert counters.dropped == 0
    assert counters.spooled > 0, "the waiting send made the sender spool"
    assert counters.errors == 0, "the send waited (3 s); it did not time out (10 s)"
    assert sorted(received) == sorted(["first", *ids])


def test_a_failure_while_spooling_during_a_wait_does_not_break_the_send_under_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug (injected) in the first spill made while a send waits is counted — its
    documents as dropped — and the send under way completes: no half line reaches the
    peer, and nothing else is lost."""
    spool = Sender._spool_taken
    calls = []

    def first_fails(sender: Sender, data: bytes, count: int) -> None:
        if sys._getframe(1).f_code.co_name == "_spill_while_waiting":
            calls.append(count)
            if len(calls) == 1:
                msg = "a bug in the spool"
                raise RuntimeError(msg)
        spool(sender, data, count)

    monkeypatch.setattr(Sender, "_spool_taken", first_fails)
    with JsonLinesPeer() as peer:
        handler = PredictionHandler(
            peer.url, model="m", spool_dir=tmp_path, counters_interval=0, queue_size=2_000
        )
        handler.log_prediction(inputs={"x": 0}, prediction_id="first")
        assert peer.wait_for_ids({"first"}, timeout=10.0)
        peer.reading.clear()
        ids = [f"p{i}" for i in range(20_000)]  # 20 MB: beyond the kernels' buffers
        for i, pid in enumerate(ids):
            handler.log_prediction(inputs={"x": i, "note": "y" * 1_000}, prediction_id=pid)
            if i % 1_000 == 999:
                time.sleep(0.1)
        peer.reading.set()
        handler.close()
        received = peer.prediction_ids()
        assert peer.failures == []
    counters = handler.counters()
    assert (counters.errors, counters.dropped) == (1, calls[0])
    assert len(received) == len(set(received)) == 1 + len(ids) - calls[0]


def test_a_socket_numbered_beyond_selects_limit_is_checked_like_any_other(
    many_descriptors: int, tmp_path: Path
) -> None:
    """In an app holding more than 1,024 descriptors the handler's socket gets a number
    ``select`` refuses (ValueError): the idle check between batches then failed, and each
    failure resent the unacknowledged batches. Checked with ``poll``: no error, no
    resend, every prediction once."""
    with socket.socket() as probe:
        assert probe.fileno() > 1_024, "the handler's socket comes after the held ones"
    with JsonLinesPeer() as peer:
        handler = PredictionHandler(peer.url, model="m", spool_dir=tmp_path, counters_interval=0)
        ids = [f"p{i}" for i in range(200)]
        for i, pid in enumerate(ids):
            handler.log_prediction(inputs={"x": i}, prediction_id=pid)
            if i % 50 == 49:
                time.sleep(0.3)  # idle: the sender checks the connection
        assert peer.wait_for_ids(set(ids), timeout=10.0)
        handler.close()
        received = peer.prediction_ids()
    counters = handler.counters()
    assert (counters.errors, counters.resent) == (0, 0)
    assert sorted(received) == sorted(ids)


def test_a_send_to_a_peer_that_never_reads_again_fails_after_the_send_timeout() -> None:
    """Waiting in steps keeps ``sendall``'s limit: no progress for ``send_timeout`` fails
    the send (the sender then spools and backs off), with ``waiting`` run meanwhile."""
    with JsonLinesPeer() as peer:
        peer.reading.clear()
        transport = TcpTransport(peer.host, peer.port, TransportOptions(send_timeout=0.6))
        calls: list[float] = []
        line = b"x" * (64 << 20) + b"\n"  # far beyond any kernel's buffers
        started = time.monotonic()
        with pytest.raises(DeliveryError, match="timed out"):
            transport.send(line, lambda: calls.append(time.monotonic()))
        waited = time.monotonic() - started
    assert 0.6 <= waited < 5.0
    assert len(calls) >= 4, "waiting ran every tenth of a second while the send waited"


def test_100k_records_through_an_outage(tmp_path: Path) -> None:
    """100,000 predictions while the peer is stopped for part of the run and restarted:
    every id arrives; duplicates only from documented resends after broken connections.

    The serving process settles before it closes (a handler closed while it backs off
    leaves its disk spool to the next process): this test reads the progress lines late
    on a loaded machine, and the peer may come back only once the logging is done.
    Its queue holds the whole run: the app logs as fast as it can, and while a send is
    stalled on the stopping peer (until the reset, up to ``send_timeout``) nothing can
    leave the queue — 50,000 calls fill in half a second here, and the stopping peer
    took longer than that in three full runs of the suite over two rounds (documented:
    the queue overflows when one request outlasts filling it). Spooling, replay and
    resends are what this test is about.
    """
    count = 100_000
    with JsonLinesPeer() as peer:
        lines = []
        args = ("--count", str(count), "--spool", str(tmp_path), "--settle", "60")
        with producer(peer.url, *args, "--queue-size", str(count)) as process:
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line)
                if line.startswith("progress 30000"):
                    peer.stop()
                elif line.startswith("progress 60000"):
                    peer.start()
            assert process.wait(60) == 0
        expected = {f"id{i}" for i in range(count)}
        arrived = peer.wait_for_ids(expected, timeout=60)
        received = peer.prediction_ids()
    counters = last_json(lines)
    missing = expected - set(received)
    assert arrived, f"{len(missing)} ids never arrived (e.g. {sorted(missing)[:3]}); {counters}"
    assert counters["errors"] > 0, "the outage hit the run"
    assert counters["spooled"] > 0
    assert counters["dropped"] == 0
    assert set(received) == expected
    duplicates = len(received) - len(expected)
    assert duplicates <= counters["resent"]  # documented: only what was resent
    assert peer.failures == []


def test_spool_survives_sigkill(tmp_path: Path) -> None:
    """Peer down, producer SIGKILLed, started again: the spooled records arrive."""
    count = 5_000
    with JsonLinesPeer() as peer:
        url = peer.url
    args = ("--count", str(count), "--spool", str(tmp_path), "--then", "hold")
    with producer(url, *args) as first:
        assert first.stdout is not None
        lines = [first.stdout.readline()]
        while lines[-1] and not lines[-1].startswith("ready"):
            lines.append(first.stdout.readline())
        assert last_json(lines)["spool_records"] == count
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
    assert list(tmp_path.glob("*.spool")), "the dead process left its spool"
    with JsonLinesPeer(port=int(url.rsplit(":", 1)[1])) as peer:
        with producer(url, "--spool", str(tmp_path)) as second:
            assert second.wait(60) == 0
        expected = {f"id{i}" for i in range(count)}
        assert peer.wait_for_ids(expected, timeout=30)
        assert set(peer.prediction_ids()) == expected
    assert not list(tmp_path.glob("*.spool"))


def test_idle_connection_closed_by_the_peer(tmp_path: Path) -> None:
    """A peer restart while the handler is idle is noticed; later documents arrive."""
    with JsonLinesPeer() as peer:
        handler = PredictionHandler(
            peer.url, model="m", spool_dir=tmp_path, counters_interval=0, backoff_initial=0.05
        )
        handler.log_prediction(inputs={}, prediction_id="before")
        assert peer.wait_for_ids({"before"}, timeout=10)
        peer.restart()
        time.sleep(0.3)
        handler.log_prediction(inputs={}, prediction_id="after")
        assert peer.wait_for_ids({"after"}, timeout=10)
        handler.close()


class TestTls:
    def test_verified_with_the_given_ca(self, certificates: Certificates, tmp_path: Path) -> None:
        """tls:// with ca_certs delivers to a server whose certificate that CA signed."""
        with JsonLinesPeer(ssl_context=certificates.server_context()) as peer:
            handler = PredictionHandler(
                peer.url,
                model="m",
                ca_certs=str(certificates.ca),
                spool_dir=tmp_path,
                counters_interval=0,
            )
            handler.log_prediction(inputs={"x": 1}, prediction_id="tls")
            assert peer.wait_for_ids({"tls"}, timeout=10)
            handler.close()

    def test_verification_is_on_by_default(
        self, certificates: Certificates, tmp_path: Path
    ) -> None:
        """Without the CA, the server is not trusted: nothing is sent, errors are counted."""
        with JsonLinesPeer(ssl_context=certificates.server_context()) as peer:
            handler = PredictionHandler(
                peer.url, model="m", spool_dir=tmp_path, counters_interval=0, close_timeout=0.5
            )
            handler.log_prediction(inputs={"x": 1}, prediction_id="untrusted")
            deadline = time.monotonic() + 10
            while handler.counters().errors == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            handler.close()
            assert handler.counters().errors > 0
            assert handler.counters().sent == 0
            assert peer.events == []

    def test_a_vanished_ca_file_delays_documents_but_loses_none(
        self, certificates: Certificates, tmp_path: Path
    ) -> None:
        """If the transport cannot be set up (its CA file is gone), documents are spooled
        and retried; once the file is back they are delivered."""
        ca = tmp_path / "ca.pem"
        ca.write_bytes(certificates.ca.read_bytes())
        with JsonLinesPeer(ssl_context=certificates.server_context()) as peer:
            handler = PredictionHandler(
                peer.url,
                model="m",
                ca_certs=str(ca),
                spool_dir=tmp_path / "spool",
                counters_interval=0,
                backoff_initial=0.05,
                backoff_max=0.2,
            )
            ca.rename(tmp_path / "away.pem")
            handler.log_prediction(inputs={"x": 1}, prediction_id="later")
            deadline = time.monotonic() + 10
            while handler.counters().errors < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert handler.counters().spooled == 1
            (tmp_path / "away.pem").rename(ca)
            assert peer.wait_for_ids({"later"}, timeout=10)
            handler.close()

    def test_host_name_is_checked(self, certificates: Certificates, tmp_path: Path) -> None:
        """A certificate for another host name is refused even from a trusted CA."""
        with JsonLinesPeer(ssl_context=certificates.server_context(other_host=True)) as peer:
            handler = PredictionHandler(
                peer.url,
                model="m",
                ca_certs=str(certificates.ca),
                spool_dir=tmp_path,
                counters_interval=0,
                close_timeout=0.5,
            )
            handler.log_prediction(inputs={"x": 1})
            deadline = time.monotonic() + 10
            while handler.counters().errors == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            handler.close()
            assert peer.events == []


class TestClientCertificates:
    """Logstash's tcp input with ``ssl_client_authentication => "required"`` (the compose
    stack's default): only a client with a certificate from the stack's CA gets in."""

    def test_a_client_certificate_from_the_ca_is_let_in(
        self, certificates: Certificates, tmp_path: Path
    ) -> None:
        with JsonLinesPeer(
            ssl_context=certificates.server_context(require_client_cert=True)
        ) as peer:
            handler = PredictionHandler(
                peer.url,
                model="m",
                ca_certs=str(certificates.ca),
                client_cert=str(certificates.client_cert),
                client_key=str(certificates.client_key),
                spool_dir=tmp_path,
                counters_interval=0,
            )
            handler.log_prediction(inputs={"x": 1}, prediction_id="mutual")
            assert peer.wait_for_ids({"mutual"}, timeout=10)
            handler.close()
        assert handler.counters().errors == 0
        assert not list(tmp_path.glob("*.spool"))

    def test_without_a_certificate_or_with_a_stranger_nothing_gets_in_and_nothing_is_lost(
        self, certificates: Certificates, tmp_path: Path
    ) -> None:
        """The server refuses the handshake; the handler counts errors and keeps the
        document in its spool for a later process (TLS 1.3 reports the refusal only
        after the client's first write, so "sent" alone proves nothing here)."""
        stranger = (str(certificates.stranger_cert), str(certificates.stranger_key))
        clients: dict[str, tuple[str | None, str | None]] = {
            "none": (None, None),
            "stranger": stranger,
        }
        for name, (client_cert, client_key) in clients.items():
            spool = tmp_path / name
            with JsonLinesPeer(
                ssl_context=certificates.server_context(require_client_cert=True)
            ) as peer:
                handler = PredictionHandler(
                    peer.url,
                    model="m",
                    ca_certs=str(certificates.ca),
                    spool_dir=spool,
                    counters_interval=0,
                    close_timeout=0.5,
                    backoff_initial=0.05,
                    client_cert=client_cert,
                    client_key=client_key,
                )
                handler.log_prediction(inputs={"x": 1}, prediction_id=name)
                deadline = time.monotonic() + 10
                while handler.counters().errors < 2 and time.monotonic() < deadline:
                    time.sleep(0.02)
                handler.close()
                assert peer.events == [], name
            assert handler.counters().errors >= 2, name
            assert list(spool.glob("*.spool")), f"{name}: the refused document stays spooled"
