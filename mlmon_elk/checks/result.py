"""What a check returns, and the sentence it renders for people."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlmon_elk.contract import Check, Role, Status


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check on one feature (or on the model) in one window.

    ``expected`` and ``observed`` are always plain numbers (the headline rate or
    statistic) so their Elasticsearch mapping never changes; details such as the
    categories that moved most or the top unseen values go in ``context``.
    """

    check: Check
    status: Status
    metric: str
    """Name of the metric in ``value``, e.g. ``psi``, ``presence``, ``p95_ms``."""
    value: float | None = None
    threshold: float | None = None
    """The value at which the check fires (after calibration)."""
    p_value: float | None = None
    """Raw (uncorrected) p-value where a test applies."""
    count: int = 0
    """Rows of the window the check looked at (``mlmon.window.count``)."""
    sample_rate: float | None = None
    """Set when those rows were a random sample of the window's predictions, with
    the probability each was kept (``mlmon.window.sample_rate``)."""
    expected: float | None = None
    observed: float | None = None
    feature: str | None = None
    """Sanitised feature name; ``None`` for model-level checks."""
    role: Role | None = None
    summary: str = ""
    """The check-specific part of the message, e.g.
    ``PSI 0.31 ≥ 0.10 (n=5,000); "divorced" 12% → 31%``."""
    context: Mapping[str, Any] = field(default_factory=dict)
    """JSON-ready details (stored, not indexed)."""

    def message(self, model: str, version: str | None) -> str:
        """One sentence a person can act on.

        >>> r = CheckResult(Check.MISSING_SPIKE, Status.WARNING, "null_rate",
        ...                 feature="income", summary="NA 2.0% → 12.1% (n=5,000)")
        >>> r.message("credit-risk", "1.2.0")
        'credit-risk 1.2.0 · income · missing_spike: NA 2.0% → 12.1% (n=5,000)'
        """
        parts = [f"{model} {version}" if version else model]
        if self.feature is not None:
            parts.append(self.feature)
        head = " · ".join([*parts, str(self.check)])
        return f"{head}: {self.summary}" if self.summary else f"{head}: {self.status}"


@dataclass(frozen=True, slots=True)
class WindowResult:
    """All check results of one model (and version) in one window."""

    model: str
    version: str | None
    """``None`` for model-level results (``volume``)."""
    start: datetime
    end: datetime
    count: int
    results: tuple[CheckResult, ...]
