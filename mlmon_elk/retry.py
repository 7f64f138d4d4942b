"""How long to wait before trying again: one backoff for every retry in the package.

The handler's sender (a lost Logstash or Elasticsearch) and the analyzer's
requests (a busy cluster) both back off exponentially with jitter, so many
processes never retry in step.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

_RANDOM = random.Random()  # noqa: S311 - jitter, not secrets


def backoff_delay(
    attempt: int, initial: float, maximum: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait before retry number ``attempt`` (1, 2, …).

    Exponential (``initial`` doubled per attempt, at most ``maximum``) with
    "equal jitter": uniformly drawn from the upper half, so a retry never comes
    at once and many processes never retry in step.
    """
    ceiling = min(maximum, initial * 2.0 ** min(attempt - 1, 60))
    draw = (rng or _RANDOM).uniform(0.0, ceiling / 2.0)
    return ceiling / 2.0 + draw


@dataclass(frozen=True, slots=True)
class Retry:
    """How often and how patiently a request is retried."""

    attempts: int = 4
    """Tries in all (1 = no retry)."""
    initial: float = 1.0
    """Seconds before the first retry; doubles each time (with jitter)."""
    maximum: float = 30.0
    """Longest wait between two tries, in seconds."""

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed try number ``attempt`` (0-based)."""
        return backoff_delay(attempt + 1, self.initial, self.maximum)
