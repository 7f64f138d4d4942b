"""What one analyzer run did: the record that lets a silent analyzer be alerted on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from mlmon_elk.contract import Status, Transition
from mlmon_elk.windows import Window


@dataclass(frozen=True, slots=True)
class RunSummary:
    """The outcome of analysing one window (``event.dataset: mlmon.run``)."""

    window: Window
    started: datetime
    finished: datetime
    models: tuple[str, ...]
    statuses: Mapping[Status, int] = field(default_factory=dict)
    """Check results per status."""
    alerts: Mapping[Transition, int] = field(default_factory=dict)
    """Alert documents per transition."""
    errors: tuple[str, ...] = ()
    """One line per failure (a model's source or baseline, the sink…); empty on success."""
    notes: tuple[str, ...] = ()
    """Limits hit and other things worth a look, none of them failures."""
    requests: int = 0
    """Requests made to the source (searches, or files read)."""
    written: int = 0
    """Documents written by this run."""
    existing: int = 0
    """Documents already written by an earlier run of the same window (not duplicated)."""

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def checks(self) -> int:
        return sum(self.statuses.values())

    @property
    def duration_seconds(self) -> float:
        return (self.finished - self.started).total_seconds()

    def line(self) -> str:
        """One line for people and logs."""
        status = "ok" if self.ok else f"FAILED ({len(self.errors)} errors)"
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items()) if n)
        alerts = ", ".join(f"{n} {t}" for t, n in sorted(self.alerts.items()) if n)
        parts = [
            f"window {self.window}: {status}",
            f"{len(self.models)} models, {self.checks} checks" + (f" ({counts})" if counts else ""),
            f"alerts: {alerts or 'none'}",
            f"{self.written} documents written, {self.existing} already there",
            f"{self.duration_seconds:.2f} s",
        ]
        return "; ".join(parts)
