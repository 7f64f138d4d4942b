"""Logstash ``http`` input: batches as one JSON array per request.

The input's default codec for ``application/json`` turns a JSON array into
one event per element, so no pipeline change is needed. A 2xx answer means
the batch is delivered; anything else (429 when Logstash is back-pressured,
5xx, 401…) keeps the batch for a later retry. Basic-auth credentials come
from environment variables only, read when a connection is opened.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import ssl
import time
from collections.abc import Callable

from mlmon_elk.producer.transports import (
    WAIT_STEP_SECONDS,
    DeliveryError,
    Destination,
    TransportOptions,
    Waiting,
    readable,
)

AuthHeader = Callable[[TransportOptions], dict[str, str]]


def basic_auth(options: TransportOptions) -> dict[str, str]:
    """HTTP basic auth from the variables the options name, if the user is set."""
    user = os.environ.get(options.http_username_env)
    if not user:
        return {}
    password = os.environ.get(options.http_password_env, "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


class KeepAlive:
    """One keep-alive HTTP(S) connection to a destination, opened when needed.

    Credentials are read when a connection is opened, so rotated ones are picked
    up on reconnect. A request on a reused connection that fails is tried once
    more on a new one: servers close idle keep-alive connections.
    """

    def __init__(
        self,
        destination: Destination,
        options: TransportOptions,
        *,
        content_type: str,
        auth: AuthHeader,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.destination = destination
        self._options = options
        self._content_type = content_type
        self._auth = auth
        self._ssl_context = ssl_context
        self._conn: http.client.HTTPConnection | None = None
        self._headers: dict[str, str] = {}

    def post(self, path: str, body: bytes, waiting: Waiting | None = None) -> tuple[int, bytes]:
        """The answer's status and body; ``waiting`` runs every tenth of a second until
        the answer begins (a busy cluster may take seconds over a bulk request).

        Raises:
            DeliveryError: No connection, the request failed on it, or no answer began
                within ``send_timeout``.
        """
        reused = self._conn is not None
        try:
            return self._post(path, body, waiting)
        except DeliveryError:
            if not reused:
                raise
            return self._post(path, body, waiting)

    def _connect(self) -> http.client.HTTPConnection:
        host, port = self.destination.host, self.destination.port
        timeout = self._options.connect_timeout
        conn: http.client.HTTPConnection
        if self._ssl_context is not None:
            conn = http.client.HTTPSConnection(
                host, port, timeout=timeout, context=self._ssl_context
            )
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.connect()
        except OSError as exc:  # certificate verification failures included
            conn.close()
            msg = f"cannot connect to {host}:{port}: {exc}"
            raise DeliveryError(msg) from exc
        if conn.sock is not None:
            conn.sock.settimeout(self._options.send_timeout)
        self._headers = {"Content-Type": self._content_type, **self._auth(self._options)}
        self._conn = conn
        return conn

    def _post(self, path: str, body: bytes, waiting: Waiting | None) -> tuple[int, bytes]:
        conn = self._conn or self._connect()
        try:
            conn.request("POST", path, body=body, headers=self._headers)
            if waiting is not None:
                self._await_answer(conn, waiting)
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.abandon()
            msg = f"HTTP request failed: {exc!r}"
            raise DeliveryError(msg) from exc
        if response.will_close:
            self.abandon()
        return response.status, payload

    def _await_answer(self, conn: http.client.HTTPConnection, waiting: Waiting) -> None:
        """Return once the answer can be read, running ``waiting`` at each step meanwhile.

        Raises:
            TimeoutError: nothing to read after ``send_timeout``, as a blocking read
                would have raised.
        """
        sock = conn.sock
        if sock is None:
            return
        deadline = time.monotonic() + self._options.send_timeout
        # TLS may hold a decrypted answer that polling the socket cannot see.
        while not (isinstance(sock, ssl.SSLSocket) and sock.pending()):
            if readable(sock, WAIT_STEP_SECONDS):
                return
            if time.monotonic() >= deadline:
                msg = f"no answer within {self._options.send_timeout:g} s"
                raise TimeoutError(msg)
            waiting()

    def abandon(self) -> None:
        """Close the connection (the next request opens a new one)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()


class AnsweredTransport:
    """A transport whose every request is answered: an answer is the acknowledgement."""

    resend_window = 0

    def __init__(self, connection: KeepAlive) -> None:
        self.connection = connection

    def unacknowledged(self) -> int:
        """Always 0: an answered request is acknowledged."""
        return 0

    def check(self) -> None:
        """Nothing to check between requests."""

    def close(self, timeout: float) -> bool:
        """Close the connection; every answered batch was already acknowledged."""
        self.connection.abandon()
        return True

    def discard(self) -> None:
        """Forget the connection (after ``fork()``; the parent keeps its own)."""
        self.connection.abandon()


class HttpTransport(AnsweredTransport):
    """One keep-alive connection; a 2xx answer is the acknowledgement."""

    def __init__(
        self,
        destination: Destination,
        options: TransportOptions,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(
            KeepAlive(
                destination,
                options,
                content_type="application/json",
                auth=basic_auth,
                ssl_context=ssl_context,
            )
        )
        self.destination = destination

    def send(self, data: bytes, waiting: Waiting | None = None) -> None:
        """POST the lines as one JSON array; raise unless the answer is 2xx. A blocked
        Logstash answers 429 at once; a peer slow to answer runs ``waiting`` meanwhile."""
        lines = data[:-1] if data.endswith(b"\n") else data
        body = b"[" + lines.replace(b"\n", b",") + b"]"  # JSON lines hold no raw newline
        status, _ = self.connection.post(self.destination.path, body, waiting)
        if not 200 <= status < 300:
            msg = f"{self.destination.host}:{self.destination.port} answered HTTP {status}"
            raise DeliveryError(msg)
