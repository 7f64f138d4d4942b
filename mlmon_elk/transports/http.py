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

from mlmon_elk.transports import DeliveryError, Destination, TransportOptions


class HttpTransport:
    """One keep-alive connection; a 2xx answer is the acknowledgement."""

    resend_window = 0

    def __init__(
        self,
        destination: Destination,
        options: TransportOptions,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.destination = destination
        self._options = options
        self._ssl_context = ssl_context
        self._conn: http.client.HTTPConnection | None = None
        self._headers: dict[str, str] = {}

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
        except OSError as exc:
            conn.close()
            msg = f"cannot connect to {host}:{port}: {exc}"
            raise DeliveryError(msg) from exc
        if conn.sock is not None:
            conn.sock.settimeout(self._options.send_timeout)
        self._headers = {"Content-Type": "application/json", **self._auth_header()}
        self._conn = conn
        return conn

    def _auth_header(self) -> dict[str, str]:
        user = os.environ.get(self._options.http_username_env)
        if not user:
            return {}
        password = os.environ.get(self._options.http_password_env, "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return {"Authorization": f"Basic {token}"}

    def send(self, data: bytes) -> None:
        """POST the lines as one JSON array; raise unless the answer is 2xx."""
        lines = data[:-1] if data.endswith(b"\n") else data
        body = b"[" + lines.replace(b"\n", b",") + b"]"  # JSON lines hold no raw newline
        reused = self._conn is not None
        try:
            status = self._post(body)
        except DeliveryError:
            if not reused:
                raise
            status = self._post(body)  # the server closed an idle keep-alive connection
        if not 200 <= status < 300:
            msg = f"{self.destination.host}:{self.destination.port} answered HTTP {status}"
            raise DeliveryError(msg)

    def _post(self, body: bytes) -> int:
        conn = self._conn or self._connect()
        try:
            conn.request("POST", self.destination.path, body=body, headers=self._headers)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            self._abandon()
            msg = f"HTTP request failed: {exc!r}"
            raise DeliveryError(msg) from exc
        if response.will_close:
            self._abandon()
        return response.status

    def unacknowledged(self) -> int:
        """Always 0: an answered request is acknowledged."""
        return 0

    def check(self) -> None:
        """Nothing to check between requests."""

    def close(self, timeout: float) -> bool:
        """Close the connection; every answered batch was already acknowledged."""
        self._abandon()
        return True

    def discard(self) -> None:
        """Forget the connection (after ``fork()``; the parent keeps its own)."""
        self._abandon()

    def _abandon(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()
