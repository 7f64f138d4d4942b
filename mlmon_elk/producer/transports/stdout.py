"""Standard output, for containers whose log collector ships stdout.

Batches of whole lines are written to ``sys.stdout``'s binary buffer (looked
up at each write, so redirections are honoured) and flushed. Keep stdout for
these lines: anything else printed there is interleaved line by line.
"""

from __future__ import annotations

import sys

from mlmon_elk.producer.transports import DeliveryError, Waiting


class StdoutTransport:
    """Writes JSON lines to standard output."""

    resend_window = 0

    def send(self, data: bytes, waiting: Waiting | None = None) -> None:
        """Write and flush; a closed or broken stdout is a delivery error (``waiting``: unused)."""
        stream = sys.stdout
        try:
            buffer = getattr(stream, "buffer", None)
            if buffer is not None:
                buffer.write(data)
                buffer.flush()
            else:  # a text-only stream (e.g. replaced by io.StringIO)
                stream.write(data.decode("utf-8"))
                stream.flush()
        except (OSError, ValueError, AttributeError) as exc:
            msg = f"writing to stdout failed: {exc}"
            raise DeliveryError(msg) from exc

    def unacknowledged(self) -> int:
        """Always 0."""
        return 0

    def check(self) -> None:
        """Nothing to check."""

    def close(self, timeout: float) -> bool:
        """Nothing to close: stdout belongs to the process."""
        return True

    def discard(self) -> None:
        """Nothing to forget."""
