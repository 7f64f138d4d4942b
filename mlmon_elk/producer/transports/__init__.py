"""Where documents go, chosen by URL: tcp, tls, http(s), elasticsearch+http(s), file or stdout.

A transport only moves bytes (complete JSON lines) and says whether that
worked; batching, retries, backoff, the spool and the counters are the
sender's (:mod:`mlmon_elk.producer.sender`). Transports run on the sender's thread
only, never on the serving app's.
"""

from __future__ import annotations

import os
import select
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from mlmon_elk.contract import DEFAULT_NAMESPACE
from mlmon_elk.errors import ConfigError, MlmonError

DEFAULT_URL = "file://mlmon-logs/predictions.jsonl"
"""The embedded default: JSON lines in ``./mlmon-logs/``, no Elastic stack needed."""


class DeliveryError(MlmonError):
    """A batch could not be delivered; the sender keeps it and retries later."""


@dataclass(frozen=True)
class Receipt:
    """What a peer that answers per document said about a delivered batch.

    Only the bulk transport has one; the others return ``None`` from ``send``
    (every line of a delivered batch counts as delivered).
    """

    duplicates: int = 0
    """Documents the peer already had (a resend): acknowledged, not written again."""
    rejected: int = 0
    """Documents the peer refused for good (e.g. a mapping conflict): not delivered."""
    first_rejection: str = ""
    """The peer's reason for the first rejected document, for the diagnostics."""


Waiting = Callable[[], None]
"""What a transport calls, on the sender's thread, every :data:`WAIT_STEP_SECONDS` that a
send waits on a peer reading nothing or slow to answer (the sender moves its queue to
the spool then). It never raises."""

WAIT_STEP_SECONDS = 0.1
"""How often a waiting send runs its ``waiting`` callback."""


def readable(sock: socket.socket, timeout: float) -> bool:
    """Whether ``sock`` has something to read (or was closed) within ``timeout`` seconds.

    ``poll``, not ``select``: a serving app with many connections or files open gives
    sockets numbers beyond ``select``'s limit (1,024), where it raises ``ValueError``.
    """
    if not hasattr(select, "poll"):  # pragma: no cover - Windows
        ready, _, _ = select.select([sock], [], [], timeout)
        return bool(ready)
    poller = select.poll()
    poller.register(sock, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(timeout * 1000))


class Transport(Protocol):
    """Moves newline-terminated JSON lines to one destination."""

    resend_window: int
    """Bytes to keep after a successful :meth:`send` and send again if the
    connection later turns out broken (0: a returned ``send`` means delivered)."""

    def send(self, data: bytes, waiting: Waiting | None = None) -> Receipt | None:
        """Deliver complete lines; raise :class:`DeliveryError` if that failed.

        A transport whose sends can wait long on a live peer calls ``waiting``
        meanwhile; the others never do.
        """

    def unacknowledged(self) -> int:
        """Bytes handed over but not yet acknowledged by the peer (0 if unknown)."""

    def check(self) -> None:
        """Raise :class:`DeliveryError` if an idle connection was closed by the peer."""

    def close(self, timeout: float) -> bool:
        """Close within ``timeout`` seconds; True if everything sent was received."""

    def discard(self) -> None:
        """Forget the connection without touching it (the child after ``fork()``)."""


@dataclass(frozen=True)
class TransportOptions:
    """Options of every transport; each uses the ones that concern it."""

    connect_timeout: float = 2.0
    send_timeout: float = 10.0
    resend_window_bytes: int = 8 * 1024 * 1024
    ca_certs: str | None = None
    verify_certs: bool = True
    client_cert: str | None = None
    client_key: str | None = None
    http_username_env: str = "MLMON_HTTP_USERNAME"
    http_password_env: str = "MLMON_HTTP_PASSWORD"  # noqa: S105 - a variable's name
    api_key_env: str = "MLMON_ES_API_KEY"
    namespace: str = DEFAULT_NAMESPACE
    """Data stream namespace: the bulk transport writes ``logs-mlmon.prediction-<namespace>``."""
    file_max_bytes: int = 64 * 1024 * 1024
    file_backups: int = 20
    file_compress: bool = True


@dataclass(frozen=True)
class Destination:
    """A parsed destination URL."""

    scheme: str
    """``tcp``, ``tls``, ``http``, ``https``, ``elasticsearch+http``,
    ``elasticsearch+https``, ``file`` or ``stdout``."""
    host: str = ""
    port: int = 0
    path: str = ""
    """The request path (http), the path prefix of the cluster (bulk) or the file path."""

    @property
    def is_network(self) -> bool:
        """Whether documents leave the machine (and a disk spool is worth having)."""
        return self.scheme in ("tcp", "tls", "http", "https", *BULK_SCHEMES)

    @property
    def uses_tls(self) -> bool:
        """Whether the connection is TLS (so CA and key files must be readable)."""
        return self.scheme in ("tls", "https", "elasticsearch+https")


BULK_SCHEMES = ("elasticsearch+http", "elasticsearch+https")
"""Straight into the cluster with the ``_bulk`` API (Elasticsearch or OpenSearch)."""
_SCHEME_ALIASES = {
    "tcp+tls": "tls",
    "opensearch+http": "elasticsearch+http",
    "opensearch+https": "elasticsearch+https",
}
_DEFAULT_PORTS = {"http": 80, "https": 443, "elasticsearch+http": 9200, "elasticsearch+https": 9200}


def parse_url(url: str) -> Destination:
    """Parse a destination URL.

    ``tcp://host:port`` (Logstash ``tcp`` input, ``json_lines`` codec),
    ``tls://host:port`` (the same over TLS, also ``tcp+tls://``),
    ``http://host:port/path`` and ``https://…`` (Logstash ``http`` input),
    ``elasticsearch+https://host:9200`` and ``elasticsearch+http://…`` (the
    cluster's ``_bulk`` API, also ``opensearch+https://``; a path is a prefix
    for a cluster behind a reverse proxy), ``file://path`` (relative:
    ``file://logs/p.jsonl``; absolute: ``file:///var/log/p.jsonl``), ``stdout``.

    Raises:
        ConfigError: The URL is malformed, has no port where one is needed, or
            carries credentials (those come from environment variables only).
    """
    if url in ("stdout", "stdout://", "-"):
        return Destination("stdout")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    scheme = _SCHEME_ALIASES.get(scheme, scheme)
    if scheme == "file":
        path = os.path.expanduser(parts.netloc + parts.path)
        if not path or path.endswith("/"):
            msg = f"url {url!r}: name a file, e.g. file://mlmon-logs/predictions.jsonl"
            raise ConfigError(msg)
        return Destination("file", path=path)
    if scheme not in ("tcp", "tls", "http", "https", *BULK_SCHEMES):
        msg = (
            f"url {url!r}: expected tcp://, tls://, http://, https://,"
            " elasticsearch+https://, elasticsearch+http://, file:// or stdout"
        )
        raise ConfigError(msg)
    if parts.username or parts.password:
        where = "MLMON_ES_API_KEY or " if scheme in BULK_SCHEMES else ""
        msg = (
            f"url for {parts.hostname}: credentials do not belong in a URL; set"
            f" {where}MLMON_HTTP_USERNAME / MLMON_HTTP_PASSWORD in the environment"
        )
        raise ConfigError(msg)
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError as exc:
        msg_0 = f"url {url!r}: {exc}"
        raise ConfigError(msg_0) from exc
    if not parts.hostname or not port:
        msg = f"url {url!r}: expected {scheme}://host:port"
        raise ConfigError(msg)
    if scheme in BULK_SCHEMES:
        return Destination(scheme, host=parts.hostname, port=port, path=parts.path.rstrip("/"))
    return Destination(scheme, host=parts.hostname, port=port, path=parts.path or "/")


def tls_context(options: TransportOptions) -> ssl.SSLContext:
    """A client TLS context: CA verification and host name checks on unless disabled.

    Raises:
        ConfigError: A CA, certificate or key file cannot be loaded.
    """
    try:
        context = ssl.create_default_context(cafile=options.ca_certs)
        if options.client_cert:
            context.load_cert_chain(options.client_cert, options.client_key)
    except (OSError, ssl.SSLError) as exc:
        msg = f"TLS files: {exc}"
        raise ConfigError(msg) from exc
    if not options.verify_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def transport_factory(
    destination: Destination, options: TransportOptions
) -> Callable[[], Transport]:
    """A function that makes the transport for ``destination`` (nothing connects yet).

    Call this where the handler is made: the transport's module is imported
    here, never on the sender thread — an import in progress on another thread
    during ``fork()`` would leave the child a half-imported module.
    """
    if destination.scheme in ("tcp", "tls"):
        from mlmon_elk.producer.transports.tcp import TcpTransport

        def tcp() -> Transport:
            context = tls_context(options) if destination.scheme == "tls" else None
            return TcpTransport(destination.host, destination.port, options, ssl_context=context)

        return tcp
    if destination.scheme in ("http", "https"):
        from mlmon_elk.producer.transports.http import HttpTransport

        def http() -> Transport:
            context = tls_context(options) if destination.scheme == "https" else None
            return HttpTransport(destination, options, ssl_context=context)

        return http
    if destination.scheme in BULK_SCHEMES:
        from mlmon_elk.producer.transports.bulk import BulkTransport

        def bulk() -> Transport:
            context = tls_context(options) if destination.uses_tls else None
            return BulkTransport(destination, options, ssl_context=context)

        return bulk
    if destination.scheme == "file":
        from mlmon_elk.producer.transports.file import FileTransport

        return lambda: FileTransport(Path(destination.path), options)
    from mlmon_elk.producer.transports.stdout import StdoutTransport

    return StdoutTransport


class LazyTransport:
    """Makes its transport on first use; a failure to make it is a delivery failure.

    The sender always has a transport this way: if, say, a CA file vanished,
    documents are spooled and retried with backoff instead of the sender
    thread dying.
    """

    def __init__(self, factory: Callable[[], Transport]) -> None:
        self._factory = factory
        self._inner: Transport | None = None
        self.resend_window = 0

    def _transport(self) -> Transport:
        if self._inner is None:
            try:
                self._inner = self._factory()
            except Exception as exc:
                msg = f"cannot set up the transport: {exc!r}"
                raise DeliveryError(msg) from exc
            self.resend_window = self._inner.resend_window
        return self._inner

    def send(self, data: bytes, waiting: Waiting | None = None) -> Receipt | None:
        """Send through the transport, making it first if needed."""
        return self._transport().send(data, waiting)

    def unacknowledged(self) -> int:
        """As the transport says (0 before it exists)."""
        return 0 if self._inner is None else self._inner.unacknowledged()

    def check(self) -> None:
        """As the transport does (nothing before it exists)."""
        if self._inner is not None:
            self._inner.check()

    def close(self, timeout: float) -> bool:
        """Close the transport if it was made."""
        return True if self._inner is None else self._inner.close(timeout)

    def discard(self) -> None:
        """Discard the transport if it was made."""
        if self._inner is not None:
            self._inner.discard()
