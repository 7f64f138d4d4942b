"""Time windows: fixed, aligned to the schedule, analysed after a settle delay.

Window ends fall on multiples of the schedule interval counted from the Unix
epoch in UTC (a 5-minute interval gives ``:00, :05, …``; a day gives midnight
UTC), so every analyzer — the scheduler, a cron job, a backfill, a second
replica — cuts time into the same windows and writes the same deterministic
document ids. A window is analysed only once ``delay`` has passed after its
end, so documents that arrive late (Logstash batching, spooled handler
retries) are counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True, slots=True)
class Window:
    """The half-open time range ``[start, end)`` of one analysis."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            msg = "window bounds must be timezone-aware (UTC)"
            raise ValueError(msg)
        if self.end <= self.start:
            msg = f"window end {self.end.isoformat()} is not after its start"
            msg += f" {self.start.isoformat()}"
            raise ValueError(msg)

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    def preceding(self, count: int) -> tuple[Window, ...]:
        """The ``count`` windows of the same length just before this one, oldest first."""
        step = self.length
        return tuple(
            Window(self.start - step * i, self.start - step * (i - 1)) for i in range(count, 0, -1)
        )

    def __str__(self) -> str:
        return f"[{format_time(self.start)}, {format_time(self.end)})"


@dataclass(frozen=True, slots=True)
class Schedule:
    """How often the analyzer runs, over how long a window, after which delay."""

    interval: timedelta = timedelta(minutes=5)
    """Time between runs; window ends are multiples of it since the epoch."""
    window: timedelta = timedelta(minutes=5)
    """Length of each analysed window (longer than ``interval``: sliding windows)."""
    delay: timedelta = timedelta(minutes=1)
    """Settle time after a window's end before it is analysed (late documents)."""

    def __post_init__(self) -> None:
        if self.interval <= timedelta(0) or self.window <= timedelta(0):
            msg = "schedule interval and window must be positive"
            raise ValueError(msg)
        if self.delay < timedelta(0):
            msg = "schedule delay must not be negative"
            raise ValueError(msg)

    def window_ending(self, end: datetime) -> Window:
        return Window(end - self.window, end)

    def latest(self, now: datetime) -> Window:
        """The most recent window whose settle delay has passed at ``now``."""
        return self.window_ending(floor_time(now - self.delay, self.interval))

    def between(self, start: datetime, end: datetime) -> list[Window]:
        """Every scheduled window lying entirely inside ``[start, end]``, oldest first.

        This is what a backfill (``analyze --from … --to …``) analyses.
        """
        first_end = ceil_time(start + self.window, self.interval)
        last_end = floor_time(end, self.interval)
        windows: list[Window] = []
        tick = first_end
        while tick <= last_end:
            windows.append(self.window_ending(tick))
            tick += self.interval
        return windows

    def next_run(self, now: datetime) -> datetime:
        """When the next window becomes due (its end plus the delay) after ``now``."""
        due = floor_time(now - self.delay, self.interval) + self.delay
        return due if due > now else due + self.interval


def floor_time(t: datetime, step: timedelta) -> datetime:
    """``t`` rounded down to a multiple of ``step`` since the epoch (UTC)."""
    micros = _micros(t - EPOCH)
    return EPOCH + timedelta(microseconds=micros - micros % _micros(step))


def ceil_time(t: datetime, step: timedelta) -> datetime:
    """``t`` rounded up to a multiple of ``step`` since the epoch (UTC)."""
    floor = floor_time(t, step)
    return floor if floor == t else floor + step


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def parse_duration(text: object) -> timedelta:
    """``"90s"``, ``"5m"``, ``"1h"``, ``"1d"``, ``"2w"``, ``"250ms"`` or a number of seconds.

    Raises:
        ValueError: the text is not a non-negative duration.
    """
    if isinstance(text, bool):
        msg = f"expected a duration such as '5m', got {text!r}"
        raise ValueError(msg)
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        match = _DURATION.match(str(text))
        if match is None:
            msg = f"expected a duration such as '30s', '5m', '1h' or '1d', got {text!r}"
            raise ValueError(msg)
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
    if seconds < 0:
        msg = f"expected a non-negative duration, got {text!r}"
        raise ValueError(msg)
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The shortest exact spelling of ``delta`` in the units :func:`parse_duration` reads."""
    micros = _micros(delta)
    if micros == 0:
        return "0s"
    for unit, seconds in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if micros and micros % (seconds * 1_000_000) == 0:
            return f"{micros // (seconds * 1_000_000)}{unit}"
    return f"{micros / 1000:g}ms"


def parse_time(text: str) -> datetime:
    """An ISO-8601 date or time; without a zone it is UTC.

    Raises:
        ValueError: the text is not an ISO-8601 date or time.
    """
    raw = text.strip()
    try:
        t = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        msg = f"expected an ISO-8601 time such as 2024-05-01T12:00Z, got {text!r}"
        raise ValueError(msg) from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def format_time(t: datetime) -> str:
    """ISO-8601 UTC with milliseconds and ``Z`` (the documents' ``@timestamp`` format)."""
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now() -> datetime:
    return datetime.now(UTC)
