"""Alert transitions: ``new`` / ``ongoing`` / ``resolved`` from the previous state (pure).

An alert is identified by its key — model, version, check, role, feature —
and is *open* when the latest alert document written for that key, in an
earlier window, was ``new`` or ``ongoing``. Given the check results of a
window and the open alerts before it:

========================  ==================  ===============
this window's status      alert open before   alert written
========================  ==================  ===============
warning / critical        no                  ``new``
warning / critical        yes                 ``ongoing``
ok                        yes                 ``resolved``
insufficient_data, error  yes                 none: stays open
ok / insufficient / err   no                  none
========================  ==================  ===============

A window without a decisive result (too few rows, an error, no traffic for
the version) neither resolves nor re-raises an alert: a data gap is not a
recovery, and the ``volume``/``model_version`` checks report the gap itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mlmon_elk.checks.result import CheckResult, WindowResult
from mlmon_elk.contract import Status, Transition


@dataclass(frozen=True, slots=True)
class AlertKey:
    """What an alert is about: one check of one feature of one model version."""

    model: str
    version: str | None
    check: str
    role: str | None
    feature: str | None

    def __str__(self) -> str:
        """The key as stored in ``mlmon.key``: a JSON array, unambiguous whatever the names."""
        return json.dumps(self.as_tuple(), ensure_ascii=False, separators=(",", ":"))

    def as_tuple(self) -> tuple[str, str | None, str, str | None, str | None]:
        return (self.model, self.version, self.check, self.role, self.feature)

    @classmethod
    def of(cls, window: WindowResult, result: CheckResult) -> AlertKey:
        return cls(
            model=window.model,
            version=window.version,
            check=str(result.check),
            role=str(result.role) if result.role is not None else None,
            feature=result.feature,
        )


def alert_state(mlmon: Mapping[str, Any]) -> tuple[AlertKey, Transition, Status]:
    """Key, transition and severity read back from an alert document's ``mlmon`` object."""
    model = mlmon.get("model") or {}
    key = AlertKey(
        model=str(model.get("name")),
        version=model.get("version"),
        check=str(mlmon.get("check")),
        role=mlmon.get("role"),
        feature=mlmon.get("feature"),
    )
    return key, Transition(mlmon["transition"]), Status(mlmon["severity"])


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One alert document to write."""

    key: AlertKey
    transition: Transition
    window: WindowResult
    result: CheckResult
    severity: Status
    """``warning`` or ``critical``: the current one, or for ``resolved`` the one that ended."""


def transitions(
    windows: Iterable[WindowResult], open_alerts: Mapping[AlertKey, Status]
) -> list[AlertEvent]:
    """The alert events of ``windows`` given the alerts open before them.

    Args:
        windows: the check results of one analyzer run.
        open_alerts: key → severity of every alert open before this window.
    """
    events: list[AlertEvent] = []
    for window in windows:
        for result in window.results:
            key = AlertKey.of(window, result)
            was = open_alerts.get(key)
            if result.status.is_alert:
                transition = Transition.ONGOING if was is not None else Transition.NEW
                events.append(AlertEvent(key, transition, window, result, result.status))
            elif result.status is Status.OK and was is not None:
                events.append(AlertEvent(key, Transition.RESOLVED, window, result, was))
    return events


def fold_latest(
    latest: Iterable[tuple[AlertKey, Transition, Status]],
) -> dict[AlertKey, Status]:
    """Open alerts from each key's latest alert document (transition, severity)."""
    return {
        key: severity
        for key, transition, severity in latest
        if transition in (Transition.NEW, Transition.ONGOING)
    }
