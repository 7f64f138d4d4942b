"""The checks: pure statistics over a window's counts and a baseline (DESIGN.md §5).

The analyzer calls :func:`check_run` with one :class:`ModelJob` per model and
writes the returned :class:`WindowResult` objects; every default is in
:class:`CheckSettings`, and ``docs/checks.md`` describes each check.

:func:`check_run` is imported on first use: the checks load SciPy, and reading a
configuration (which names ``CheckSettings``) or a result must not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlmon_elk.checks.job import ModelJob
from mlmon_elk.checks.result import CheckResult, WindowResult
from mlmon_elk.checks.settings import CheckSettings

if TYPE_CHECKING:
    from mlmon_elk.checks.run import check_run

__all__ = ["CheckResult", "CheckSettings", "ModelJob", "WindowResult", "check_run"]


def __getattr__(name: str) -> Any:
    if name == "check_run":
        from mlmon_elk.checks import run

        return run.check_run
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
