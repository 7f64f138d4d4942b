"""Logstash ``tcp`` input with the ``json_lines`` codec, optionally over TLS.

TCP has no acknowledgements a sender can see: a ``send`` that returned only
means the bytes reached the kernel. So the transport declares a *resend
window*: the sender keeps the last ``resend_window_bytes`` sent on a
connection, plus whatever the kernel reports as not yet acknowledged by the
peer (``TIOCOUTQ``), and sends them again if the connection turns out broken.
That makes delivery at-least-once, with duplicates bounded by the window.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import time

from mlmon_elk.producer.transports import (
    WAIT_STEP_SECONDS,
    DeliveryError,
    TransportOptions,
    Waiting,
    readable,
)

try:
    import fcntl
    import termios

    _TIOCOUTQ: int | None = termios.TIOCOUTQ
except (ImportError, AttributeError):  # pragma: no cover - not Linux/BSD
    _TIOCOUTQ = None


_IDLE_CHECK_SECONDS = 0.05
_TLS_PIECE_BYTES = 16 * 1024
"""A TLS send writes all it is given or times out: one record at a time, so progress shows."""


class TcpTransport:
    """One long-lived connection, opened on first use and after every failure."""

    def __init__(
        self,
        host: str,
        port: int,
        options: TransportOptions,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.resend_window = options.resend_window_bytes
        self._options = options
        self._ssl_context = ssl_context
        self._sock: socket.socket | None = None
        self._last_send = 0.0

    def _connect(self) -> socket.socket:
        try:
            raw = socket.create_connection(
                (self.host, self.port), timeout=self._options.connect_timeout
            )
        except OSError as exc:
            msg = f"cannot connect to {self.host}:{self.port}: {exc}"
            raise DeliveryError(msg) from exc
        try:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            sock: socket.socket = raw
            if self._ssl_context is not None:
                sock = self._ssl_context.wrap_socket(raw, server_hostname=self.host)
            sock.settimeout(self._options.send_timeout)
        except (OSError, ssl.SSLError) as exc:
            raw.close()
            msg = f"TLS with {self.host}:{self.port} failed: {exc}"
            raise DeliveryError(msg) from exc
        self._sock = sock
        return sock

    def send(self, data: bytes, waiting: Waiting | None = None) -> None:
        """Write ``data`` on the connection (opening it if needed).

        A peer that keeps the connection but stops reading (Logstash when its
        pipeline is blocked) makes the write wait on full buffers; ``waiting``
        runs every :data:`WAIT_STEP_SECONDS` meanwhile. ``send_timeout`` without
        any progress fails the send, as ``sendall`` would.
        """
        sock = self._sock
        now = time.monotonic()
        if sock is None:
            sock = self._connect()
        elif now - self._last_send > _IDLE_CHECK_SECONDS:
            self.check()  # while busy, a broken connection shows up as a failed send
        self._last_send = now
        try:
            if waiting is None:
                sock.sendall(data)
            else:
                self._send_waiting(sock, data, waiting)
        except OSError as exc:  # includes timeouts and TLS errors
            self._abandon()
            msg = f"sending to {self.host}:{self.port} failed: {exc}"
            raise DeliveryError(msg) from exc

    def _send_waiting(self, sock: socket.socket, data: bytes, waiting: Waiting) -> None:
        view = memoryview(data)
        piece = _TLS_PIECE_BYTES if isinstance(sock, ssl.SSLSocket) else len(view)
        sent = 0
        progress = time.monotonic()
        sock.settimeout(WAIT_STEP_SECONDS)
        try:
            while sent < len(view):
                try:
                    sent += sock.send(view[sent : sent + piece])
                    progress = time.monotonic()
                except TimeoutError:
                    if time.monotonic() - progress >= self._options.send_timeout:
                        raise
                    waiting()
        finally:
            sock.settimeout(self._options.send_timeout)

    def unacknowledged(self) -> int:
        """Bytes in the kernel's send queue that the peer has not acknowledged."""
        sock = self._sock
        return 0 if sock is None else self._outq(sock)

    def check(self) -> None:
        """Notice a peer that closed the connection (Logstash never writes to it)."""
        sock = self._sock
        if sock is None:
            return
        try:
            if not readable(sock, 0):
                return
            sock.settimeout(0)
            try:
                data = sock.recv(65536)
            finally:
                sock.settimeout(self._options.send_timeout)
        except (ssl.SSLWantReadError, BlockingIOError):
            return  # TLS housekeeping (session tickets), not a closed connection
        except (OSError, ValueError) as exc:
            self._abandon()
            msg = f"connection to {self.host}:{self.port} broke: {exc}"
            raise DeliveryError(msg) from exc
        if not data:
            self._abandon()
            msg = f"{self.host}:{self.port} closed the connection"
            raise DeliveryError(msg)

    def close(self, timeout: float) -> bool:
        """Half-close and wait for the peer to close too: then it read everything.

        Returns:
            True if the peer closed after reading all we sent (or, when it does
            not answer within ``timeout``, if the kernel saw every byte
            acknowledged); False if the connection broke.
        """
        sock = self._sock
        if sock is None:
            return True
        self._sock = None
        deadline = time.monotonic() + max(timeout, 0.0)
        try:
            while self._outq(sock) > 0 and time.monotonic() < deadline:
                time.sleep(0.005)
            sock.shutdown(socket.SHUT_WR)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return self._outq(sock) == 0
                sock.settimeout(remaining)
                if not sock.recv(65536):
                    return True
        except TimeoutError:
            return self._outq(sock) == 0
        except (OSError, ValueError):
            return False
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def discard(self) -> None:
        """Close this process's copy of the connection without a FIN or TLS alert.

        After ``fork()`` the parent still uses the connection; closing a copy
        of the descriptor only drops a reference, so the parent is unaffected.
        """
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def _outq(self, sock: socket.socket) -> int:
        if _TIOCOUTQ is None:
            return 0
        try:
            raw = fcntl.ioctl(sock.fileno(), _TIOCOUTQ, b"\0\0\0\0")
        except (OSError, ValueError):
            return 0
        return int(struct.unpack("i", raw)[0])

    def _abandon(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()
