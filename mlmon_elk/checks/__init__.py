"""The checks: pure statistics over a window's counts and a baseline (DESIGN.md §5).

The analyzer calls :func:`check_run` with one :class:`ModelJob` per model and
writes the returned :class:`WindowResult` objects; every default is in
:class:`CheckSettings`, and ``docs/checks.md`` describes each check.
"""

from __future__ import annotations

from mlmon_elk.checks.job import ModelJob
from mlmon_elk.checks.result import CheckResult, WindowResult
from mlmon_elk.checks.run import check_run
from mlmon_elk.checks.settings import CheckSettings

__all__ = ["CheckResult", "CheckSettings", "ModelJob", "WindowResult", "check_run"]
