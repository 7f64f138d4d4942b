"""``@timestamp`` text and the caller's timestamps as epoch seconds."""

from __future__ import annotations

import datetime as dt
import math
import time
from typing import Final

from mlmon_elk.producer import values as v
from mlmon_elk.producer.call import CallError

MILLIS: Final = tuple(f".{ms:03d}Z" for ms in range(1000))
MILLIS_BYTES: Final = tuple(millis.encode("ascii") for millis in MILLIS)


class TimestampFormatter:
    """``@timestamp`` strings (ISO-8601 UTC, milliseconds, ``Z``), one strftime per second."""

    def __init__(self) -> None:
        self.cached: tuple[int, str] = (-1, "")
        """The last second formatted and its text (read by the document builder)."""

    def __call__(self, epoch: float) -> str:
        second = int(epoch) if epoch >= 0.0 else math.floor(epoch)
        cached = self.cached
        if cached[0] != second:
            try:
                when = dt.datetime.fromtimestamp(second, dt.UTC)
            except (OverflowError, OSError, ValueError):  # beyond year 9999: log it as now
                return self(time.time())
            cached = self.cached = (second, when.strftime("%Y-%m-%dT%H:%M:%S"))
        return cached[1] + MILLIS[int((epoch - second) * 1000.0)]


_TIMESTAMP: Final = "timestamp"


def epoch_seconds(timestamp: object) -> float:
    """Seconds since the epoch of a caller's timestamp.

    Accepts epoch seconds (int or float), a ``datetime`` (pandas ``Timestamp``
    included), a numpy ``datetime64`` or an ISO-8601 string
    (``2026-11-22T22:15:33.5Z``, ``2026-11-22 23:15:33+01:00``). Naive
    datetimes and strings without an offset are taken as UTC. A non-finite
    number is now.

    Raises:
        CallError: Anything else (a list on a single prediction, an unparsable string…).
    """
    if timestamp is None:
        return time.time()
    kind = type(timestamp)
    if kind is float or kind is int:
        seconds = float(timestamp)  # type: ignore[arg-type]
        return seconds if math.isfinite(seconds) else time.time()
    if isinstance(timestamp, str):
        text = timestamp
        try:
            timestamp = dt.datetime.fromisoformat(text.strip())
        except ValueError:
            raise CallError(_TIMESTAMP, f"not an ISO-8601 date and time: {text[:64]!r}") from None
    elif type(timestamp).__name__ == "datetime64":  # numpy, recognised without importing it
        item = v.classify(timestamp)
        if item[0] != v.CAT:
            raise CallError(_TIMESTAMP, f"not a date and time: {timestamp!r}")
        timestamp = dt.datetime.fromisoformat(item[1])
    if isinstance(timestamp, dt.datetime):
        if timestamp != timestamp:  # noqa: PLR0124 - NaT
            raise CallError(_TIMESTAMP, "NaT is not a time")
        if timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=dt.UTC)
        return timestamp.timestamp()
    try:
        if isinstance(timestamp, bool):
            raise TypeError
        seconds = float(timestamp)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        msg = (
            "expected epoch seconds, a datetime or an ISO-8601 string"
            f" (one per row for a batch), got {type(timestamp).__name__}"
        )
        raise CallError(_TIMESTAMP, msg) from None
    return seconds if math.isfinite(seconds) else time.time()
