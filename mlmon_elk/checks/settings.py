"""Check settings: every default in one place, each with the reason for it.

A model's YAML config overrides any field by name (``checks:`` section), and the
analyzer builds one :class:`CheckSettings` per model with
``dataclasses.replace``. Add a field here and it is configurable everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mlmon_elk.contract import Check


@dataclass(frozen=True, slots=True)
class CheckSettings:
    """Thresholds and switches for one model's checks."""

    family_alpha: float = 0.01
    """Probability that a whole run raises any false alarm from sampling noise
    (Bonferroni-corrected over every check of the run)."""
    min_rows: int = 200
    """Windows (or features) with fewer rows give ``insufficient_data``."""
    critical_factor: float = 2.0
    """A firing check is ``critical`` when its effect is at least this many
    times its threshold, ``warning`` otherwise."""
    disabled: frozenset[Check] = frozenset()
    """Checks not to run for this model."""

    latency_sla_ms: Mapping[float, float] = field(default_factory=dict)
    """Percentile → limit in milliseconds, e.g. ``{95: 250, 99: 800}``; empty
    disables the ``latency`` check."""
    max_error_rate: float = 0.01
    """Share of predictions that may fail (``event.outcome: failure``)."""
    expected_versions: frozenset[str] = frozenset()
    """Model versions allowed in traffic; empty means the versions that have a
    baseline."""
    min_volume_ratio: float = 0.5
    """``volume`` fires when a window has less than this share of the median of
    the preceding windows."""
