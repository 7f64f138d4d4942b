"""Real local peers that read what Logstash's inputs read — for tests and benchmarks.

:class:`JsonLinesPeer` is a TCP server decoding newline-delimited JSON the
way Logstash's ``tcp`` input with the ``json_lines`` codec does: one event
per line, a JSON array line gives one event per element, anything else
(bare NaN/Infinity tokens, invalid UTF-8, scalars) is a parse failure
(Logstash tags it ``_jsonparsefailure``); on end of stream the rest of the
buffer is decoded and the connection closed. :class:`HttpPeer` is Logstash's
``http`` input: an ``application/json`` body that is an array gives one
event per element, and it answers a configurable status (only 2xx means
accepted).

Both can be stopped and started again on the same port to simulate outages.
``stop()`` is abrupt like a crashing Logstash: connections are reset and
whatever the peer had not read yet is lost.

Run one as a separate process (benchmarks)::

    python -m tests.peers tcp --port 5000
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import select
import socket
import ssl
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_LINE_BYTES = 20 * 1024 * 1024
"""``decode_size_limit_bytes`` Logstash recommends setting (json_lines 3.2)."""


def _reject_constant(token: str) -> Any:
    msg = f"non-standard JSON token {token}"
    raise ValueError(msg)


def _strict_loads(payload: bytes) -> Any:
    """Strict JSON (no NaN/Infinity tokens, UTF-8 only), as Logstash's parser."""
    return json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)


try:  # the same strictness, several times faster: the peer must outpace the sender
    import orjson

    _loads: Callable[[bytes], Any] = orjson.loads
except ImportError:  # pragma: no cover
    _loads = _strict_loads


def decode_events(payload: bytes) -> list[dict[str, Any]]:
    """Events of one JSON text as Logstash makes them; raises ValueError otherwise."""
    value = _loads(payload)
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return value
    msg = f"not an object or array of objects: {type(value).__name__}"
    raise ValueError(msg)


class _Collector:
    """What a peer received, safe to read from other threads."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.failures: list[bytes] = []
        self.ids: set[str] = set()
        self.counted = 0
        """Lines counted without decoding (``count_only`` peers, for benchmarks)."""
        self._changed = threading.Condition()

    def count(self, lines: int) -> None:
        """Count lines without decoding them."""
        with self._changed:
            self.counted += lines
            self._changed.notify_all()

    def add(self, payloads: list[bytes]) -> None:
        """Decode payloads (lines or request bodies) into events or failures."""
        events: list[dict[str, Any]] = []
        failures: list[bytes] = []
        for payload in payloads:
            try:
                events.extend(decode_events(payload))
            except ValueError:
                failures.append(payload)
        ids = {e["mlmon"]["prediction_id"] for e in events if is_prediction(e)}
        with self._changed:
            self.events.extend(events)
            self.failures.extend(failures)
            self.ids.update(ids)
            self._changed.notify_all()

    def wait(self, timeout: float, done: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not done():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, 0.5))
        return True


def is_prediction(event: dict[str, Any]) -> bool:
    """Whether an event is a prediction document (not a shipper document)."""
    return event.get("event", {}).get("dataset") == "mlmon.prediction"


def prediction_ids(events: list[dict[str, Any]]) -> list[str]:
    """``mlmon.prediction_id`` of every prediction event, in arrival order."""
    return [e["mlmon"]["prediction_id"] for e in events if is_prediction(e)]


class _Peer:
    collector: _Collector

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event decoded so far, in arrival order."""
        return list(self.collector.events)

    @property
    def failures(self) -> list[bytes]:
        """Payloads that did not decode (Logstash: ``_jsonparsefailure``)."""
        return list(self.collector.failures)

    def prediction_ids(self) -> list[str]:
        """Prediction ids received, in arrival order (duplicates included)."""
        return prediction_ids(self.events)

    def wait_for_ids(self, ids: set[str], timeout: float = 30.0) -> bool:
        """Wait until every prediction id in ``ids`` arrived; False on timeout."""
        collector = self.collector
        return collector.wait(timeout, lambda: ids <= collector.ids)

    def wait_for(self, count: int, timeout: float = 30.0) -> bool:
        """Wait until ``count`` events of any kind arrived; False on timeout."""
        collector = self.collector
        return collector.wait(timeout, lambda: len(collector.events) >= count)


def _readable(sock: socket.socket, timeout: float) -> bool:
    """``poll``, not ``select``: sockets numbered beyond 1,024 (tests hold that many)."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(timeout * 1000))


class JsonLinesPeer(_Peer):
    """Logstash ``tcp`` input with ``codec => json_lines`` (optionally ``ssl_enabled``)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_line_bytes: int = MAX_LINE_BYTES,
        count_only: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.max_line_bytes = max_line_bytes
        self.count_only = count_only
        """Count lines instead of decoding them (a benchmark's peer must not be the bottleneck)."""
        self.reading = threading.Event()
        """Cleared: connections are kept open but not read, as Logstash does when its
        pipeline is blocked (backpressure): the sender's kernel buffers fill and its
        sends wait."""
        self.reading.set()
        self.collector = _Collector()
        self.connections = 0
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        """The handler URL of this peer."""
        return f"{'tls' if self.ssl_context else 'tcp'}://{self.host}:{self.port}"

    def start(self) -> JsonLinesPeer:
        """Listen (on the same port as before, after a stop)."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # A crashed peer loses what its kernel acknowledged but it had not read: the
        # handler's resend window (8 MiB) covers a default Linux receive buffer (at
        # most 6 MiB), but this machine lets one grow to 32 MiB, which a peer slowed
        # by a whole test suite fills. Cap it like a default host (Linux doubles it).
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        listener.bind((self.host, self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._accept, args=(listener, self._stopping), daemon=True)
        ]
        self._threads[0].start()
        return self

    def stop(self) -> None:
        """Crash: stop listening and reset every connection; unread data is lost."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(5.0)
        self._threads = []
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def restart(self) -> None:
        """Start again on the same port."""
        self.stop()
        self.start()

    def __enter__(self) -> JsonLinesPeer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept(self, listener: socket.socket, stopping: threading.Event) -> None:
        while not stopping.is_set():
            if not _readable(listener, 0.02):
                continue
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn, stopping), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket, stopping: threading.Event) -> None:
        sock: socket.socket = conn
        buffer = b""
        try:
            if self.ssl_context is not None:
                conn.settimeout(5.0)
                sock = self.ssl_context.wrap_socket(conn, server_side=True)
            sock.setblocking(False)
            while not stopping.is_set():
                if not self.reading.wait(0.02):
                    continue
                try:
                    data = sock.recv(1 << 20)
                except (BlockingIOError, ssl.SSLWantReadError):
                    _readable(sock, 0.02)
                    continue
                if not data:  # the client closed: decode the rest, close like Logstash
                    if buffer:
                        self.collector.add([buffer])
                    sock.close()
                    return
                buffer += data
                if b"\n" not in data:
                    if len(buffer) > self.max_line_bytes:
                        self.collector.failures.append(buffer[:1000])
                        buffer = b""
                    continue
                if self.count_only:
                    self.collector.count(buffer.count(b"\n"))
                    buffer = buffer[buffer.rfind(b"\n") + 1 :]
                    continue
                *lines, buffer = buffer.split(b"\n")
                self.collector.add(lines)
        except (OSError, ssl.SSLError):
            pass
        # Stopped: reset the connection (SO_LINGER 0) so unread data is lost, as in a crash.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()


class HttpPeer(_Peer):
    """Logstash ``http`` input: JSON arrays are split into events; the status is configurable."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        ssl_context: ssl.SSLContext | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.credentials = credentials
        self.status = 200
        """Status of every answer; non-2xx answers do not accept the events."""
        self.delay = 0.0
        """Seconds to wait before answering (a slow, back-pressured Logstash)."""
        self.collector = _Collector()
        self.requests = 0
        self.refused = 0
        self.body_sizes: list[int] = []
        """Size of every request body, in arrival order."""
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._open: set[socket.socket] = set()

    @property
    def url(self) -> str:
        """The handler URL of this peer."""
        return f"{'https' if self.ssl_context else 'http'}://{self.host}:{self.port}/"

    def start(self) -> HttpPeer:
        """Listen (on the same port as before, after a stop)."""
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                peer._open.add(self.connection)

            def finish(self) -> None:
                peer._open.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                peer.requests += 1
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                peer.body_sizes.append(len(body))
                if peer.delay:
                    time.sleep(peer.delay)
                status = peer.status
                if peer.credentials is not None and not peer._authorized(self.headers):
                    status = 401
                if 200 <= status < 300:
                    if self.headers.get_content_type() == "application/json":
                        peer.collector.add([body])
                    else:  # Logstash's plain codec: one event per request body
                        peer.collector.failures.append(body)
                else:
                    peer.refused += 1
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        if self.ssl_context is not None:
            server.socket = self.ssl_context.wrap_socket(server.socket, server_side=True)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        return self

    def _authorized(self, headers: Any) -> bool:
        assert self.credentials is not None
        expected = base64.b64encode(":".join(self.credentials).encode()).decode()
        return bool(headers.get("Authorization") == f"Basic {expected}")

    def stop(self) -> None:
        """Crash: stop listening and reset open keep-alive connections."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        for conn in list(self._open):
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.shutdown(socket.SHUT_RDWR)
        self._server = None
        if self._thread is not None:
            self._thread.join(5.0)

    def restart(self) -> None:
        """Start again on the same port."""
        self.stop()
        self.start()

    def __enter__(self) -> HttpPeer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _serve_cli(argv: list[str] | None = None) -> int:
    """Run a peer in this process; print the number of events on each line read from stdin."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=("tcp", "http"))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--count-only", action="store_true", help="count lines, do not decode")
    args = parser.parse_args(argv)
    peer: JsonLinesPeer | HttpPeer
    if args.kind == "tcp":
        peer = JsonLinesPeer(port=args.port, count_only=args.count_only)
    else:
        peer = HttpPeer(port=args.port)
    with peer:
        print(peer.port, flush=True)
        for _ in _lines(sys.stdin):
            collector = peer.collector
            received = collector.counted + len(collector.events)
            print(received, len(collector.failures), flush=True)
    return 0


def _lines(stream: Any) -> Iterator[str]:
    yield from stream


if __name__ == "__main__":
    raise SystemExit(_serve_cli())
