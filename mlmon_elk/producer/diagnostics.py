"""The handler's own messages: rate-limited, and never through the handler itself.

They go to the ``mlmon_elk.shipper`` logger, which ``PredictionHandler``
refuses, so a handler attached to the root logger cannot log into itself;
during shutdown (when logging's own handlers may already be closed) they go
straight to standard error.
"""

from __future__ import annotations

import logging
import sys
import time

LOGGER_NAME = "mlmon_elk.shipper"


class Diagnostics:
    """At most one message per ``key`` every ``interval`` seconds; the rest are counted."""

    def __init__(self, interval: float = 60.0, *, logger_name: str = LOGGER_NAME) -> None:
        self.interval = interval
        self.to_stderr = False
        self._logger = logging.getLogger(logger_name)
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, key: str, message: str, *args: object) -> None:
        """Report a problem the handler works around (peer down, spool full…)."""
        self._emit(logging.WARNING, key, message, args)

    def info(self, key: str, message: str, *args: object) -> None:
        """Report a recovery (peer back, spool replayed)."""
        self._emit(logging.INFO, key, message, args)

    def _emit(self, level: int, key: str, message: str, args: tuple[object, ...]) -> None:
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        self._last[key] = now
        suppressed = self._suppressed.pop(key, 0)
        if suppressed:
            message += " (%d similar messages suppressed)"
            args = (*args, suppressed)
        try:
            if self.to_stderr:
                print(f"mlmon-elk: {message % args}", file=sys.stderr)
            else:
                self._logger.log(level, message, *args)
        except Exception:  # diagnostics must never break the sender
            return
