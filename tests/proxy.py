"""A real TCP proxy in front of Elasticsearch: outages on demand, bytes counted.

``TcpProxy`` forwards raw bytes (so TLS passes through untouched) between a
local port and the server. ``stop()`` closes the port and every open
connection — to the client exactly like a server going away — and ``start()``
listens on the same port again. It counts the bytes in each direction, which
the benchmarks report.

``observing_node`` wraps the client's real transport node class so a test can
act between two requests (e.g. take the server away after the searches and
before the writes of a run) without touching the code under test.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from elastic_transport import Urllib3HttpNode

from mlmon_elk.engine.client import EsConnection, connect
from tests.conftest import EsTarget, real_cluster_connection

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch


class TcpProxy:
    """Forward ``127.0.0.1:<port>`` to ``target_url``'s host and port."""

    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        self.scheme = parts.scheme or "http"
        self.target = (parts.hostname or "127.0.0.1", parts.port or 9200)
        self.port = 0
        self.bytes_up = 0
        """Bytes from the client to the server."""
        self.bytes_down = 0
        """Bytes from the server to the client."""
        self.lose_answers = False
        """Drop what the server answers: it still receives and does every request, and
        the client never hears back (an answer lost in the network)."""
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()

    @property
    def url(self) -> str:
        # A cluster's TLS certificate more likely names "localhost" than the address.
        host = "localhost" if self.scheme == "https" else "127.0.0.1"
        return f"{self.scheme}://{host}:{self.port}"

    def start(self) -> TcpProxy:
        """Listen (again) on the same port as before, or a free one the first time."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Close the listening port and every open connection."""
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, set()
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def reset_counts(self) -> None:
        with self._lock:
            self.bytes_up = self.bytes_down = 0

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    server.close()
                    return
                self._sockets.update((client, server))
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, up: bool) -> None:
        try:
            while data := source.recv(65536):
                with self._lock:
                    if up:
                        self.bytes_up += len(data)
                    else:
                        self.bytes_down += len(data)
                if up or not self.lose_answers:
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def observing_node(
    base: type[Urllib3HttpNode], after: Callable[[str, str], None]
) -> type[Urllib3HttpNode]:
    """A subclass of the transport node ``base`` calling ``after(method, path)`` per request."""

    class ObservingNode(base):  # type: ignore[valid-type,misc]
        def perform_request(self, method: str, target: str, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().perform_request(method, target, *args, **kwargs)
            finally:
                after(method, target)

    return ObservingNode


def free_port() -> int:
    """A local port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def connect_via(
    es: EsTarget, url: str, *, after: Callable[[str, str], None] | None = None, **extra: Any
) -> Elasticsearch:
    """A client for ``es``'s cluster (same credentials) at another URL, e.g. a proxy.

    ``after(method, path)`` is called after every request the client makes.
    """
    connection = real_cluster_connection() or EsConnection()
    # The engine is named, not probed: a probe would pass through the proxy and the observer.
    target = replace(connection, hosts=(url,), distribution=es.engine)
    node = observing_node(Urllib3HttpNode, after) if after else Urllib3HttpNode
    return connect(target, node_class=node, **extra)
