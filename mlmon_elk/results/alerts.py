"""Alert transitions from the previous state, with hysteresis (pure).

An alert is identified by its key — model, version, check, role, feature —
and is *open* when the latest alert document written for that key, in an
earlier window, was ``new``, ``ongoing``, ``escalated`` or ``recovering``.
Given the check results of a window and the open alerts before it:

=============================  ==================  ==========================
this window's status           alert open before   alert written
=============================  ==================  ==========================
warning / critical             no                  ``new``
critical                       yes, as warning     ``escalated``
warning / critical             yes                 ``ongoing``
clear (see below)              yes                 ``recovering``, and
                                                   ``resolved`` at the
                                                   ``resolve_after``-th clear
                                                   window in a row
ok / notice, not clear         yes                 ``ongoing`` (still open)
insufficient_data, error       yes                 none: stays open
anything not alerting          no                  none
=============================  ==================  ==========================

A window is *clear* when the check is ``ok`` or ``notice`` with its effect
under ``resolve_below`` × threshold. Requiring ``resolve_after`` clear windows
in a row (default 3) and a margin under the threshold is the hysteresis: a
value that comes and goes, or an effect hovering at the threshold, keeps one
alert open instead of paging ``new`` every other window. A ``recovering``
alert that fires again is ``ongoing``, not ``new``. ``resolve_after`` = 1 and
``resolve_below`` = 1 give the plain rule (resolve at the first ``ok``).

The severity of an alert is the worst it reached while open, so a warning
that was critical an hour ago still reads critical until it resolves; an
escalation warning → critical is a transition of its own (``escalated``) so a
Kibana rule can page on it.

A window without a decisive result (too few rows, an error, no traffic for
the version) neither resolves nor re-raises an alert: a data gap is not a
recovery, and the ``volume``/``model_version`` checks report the gap itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mlmon_elk.checks.result import CheckResult, WindowResult
from mlmon_elk.checks.settings import CheckSettings
from mlmon_elk.contract import Status, Transition

OPEN_TRANSITIONS = frozenset(
    {Transition.NEW, Transition.ONGOING, Transition.ESCALATED, Transition.RECOVERING}
)
"""Transitions after which an alert is still open."""


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


@dataclass(frozen=True, slots=True)
class OpenAlert:
    """An open alert's state: its severity and how many clear windows it has seen."""

    severity: Status
    """``warning`` or ``critical``: the worst reached while open."""
    clear_windows: int = 0
    """Consecutive clear windows so far (``mlmon.clear_windows``; 0 unless recovering)."""


@dataclass(frozen=True, slots=True)
class AlertState:
    """One alert document's state, read back: key, transition and open state."""

    key: AlertKey
    transition: Transition
    open: OpenAlert


def alert_state(mlmon: Mapping[str, object]) -> AlertState:
    """Key, transition, severity and clear windows read back from an alert document's ``mlmon``."""
    model = mlmon.get("model")
    model = model if isinstance(model, Mapping) else {}
    key = AlertKey(
        model=str(model.get("name")),
        version=_optional(model.get("version")),
        check=str(mlmon.get("check")),
        role=_optional(mlmon.get("role")),
        feature=_optional(mlmon.get("feature")),
    )
    clear = mlmon.get("clear_windows")
    return AlertState(
        key,
        Transition(str(mlmon["transition"])),
        OpenAlert(Status(str(mlmon["severity"])), clear if isinstance(clear, int) else 0),
    )


def _optional(value: object) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One alert document to write."""

    key: AlertKey
    transition: Transition
    window: WindowResult
    result: CheckResult
    severity: Status
    """``warning`` or ``critical``: the current one; for ``recovering`` and
    ``resolved`` the one the alert had."""
    clear_windows: int = 0
    """For ``recovering`` / ``resolved``: the clear windows in a row so far."""

    @property
    def open(self) -> OpenAlert | None:
        """The alert's state after this event (``None`` once resolved)."""
        if self.transition is Transition.RESOLVED:
            return None
        return OpenAlert(self.severity, self.clear_windows)


def is_clear(result: CheckResult, settings: CheckSettings) -> bool:
    """Clearly back: ok or notice, with the effect under ``resolve_below`` × threshold."""
    if result.status not in (Status.OK, Status.NOTICE):
        return False
    if result.value is None or result.threshold is None:
        return result.status is Status.OK
    return result.value < settings.resolve_below * result.threshold


def transitions(
    windows: Iterable[WindowResult],
    open_alerts: Mapping[AlertKey, OpenAlert],
    settings: Mapping[str, CheckSettings] | None = None,
) -> list[AlertEvent]:
    """The alert events of ``windows`` given the alerts open before them.

    Args:
        windows: the check results of one analyzer run.
        open_alerts: key → state of every alert open before this window.
        settings: model name → its check settings (``resolve_after``,
            ``resolve_below``); models not in it use the defaults.
    """
    default = CheckSettings()
    events: list[AlertEvent] = []
    for window in windows:
        rules = (settings or {}).get(window.model, default)
        for result in window.results:
            key = AlertKey.of(window, result)
            was = open_alerts.get(key)
            status = result.status
            if status.is_alert:
                if was is None:
                    events.append(AlertEvent(key, Transition.NEW, window, result, status))
                elif status is Status.CRITICAL and was.severity is Status.WARNING:
                    events.append(AlertEvent(key, Transition.ESCALATED, window, result, status))
                else:
                    worst = Status.CRITICAL if Status.CRITICAL in (status, was.severity) else status
                    events.append(AlertEvent(key, Transition.ONGOING, window, result, worst))
            elif was is not None and status in (Status.OK, Status.NOTICE):
                if not is_clear(result, rules):
                    events.append(AlertEvent(key, Transition.ONGOING, window, result, was.severity))
                    continue
                clear = was.clear_windows + 1
                done = clear >= rules.resolve_after
                transition = Transition.RESOLVED if done else Transition.RECOVERING
                events.append(AlertEvent(key, transition, window, result, was.severity, clear))
    return events


def fold_latest(latest: Iterable[AlertState]) -> dict[AlertKey, OpenAlert]:
    """Open alerts from each key's latest alert document."""
    return {s.key: s.open for s in latest if s.transition in OPEN_TRANSITIONS}
