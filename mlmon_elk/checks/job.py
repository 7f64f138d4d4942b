"""What the analyzer hands to the checks: one model's window and its baselines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mlmon_elk.checks.settings import CheckSettings
from mlmon_elk.profile.baseline import Baseline
from mlmon_elk.profile.performance import PerformanceWindow
from mlmon_elk.profile.window import ModelWindow


@dataclass(frozen=True, slots=True)
class ModelJob:
    """Everything needed to check one model in one window.

    ``mlmon_elk.checks.check_run(jobs)`` evaluates a whole analyzer run at once
    so that the correction for the number of checks covers the run.
    """

    window: ModelWindow
    baselines: Mapping[str, Baseline]
    """Version → the baseline its window is compared with. The analyzer decides
    which baseline a version without its own uses (the model's default)."""
    settings: CheckSettings = field(default_factory=CheckSettings)
    performance: Mapping[str, PerformanceWindow] = field(default_factory=dict)
    """Version → its outcomes and score histogram (versions whose baseline
    records performance); empty when no outcome source is configured."""
