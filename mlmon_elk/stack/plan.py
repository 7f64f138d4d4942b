"""What setup does to one asset, so a plan can be printed before (or instead of) acting."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    """What setup does (or would do) to an asset."""

    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    UNKNOWN = "unknown"
    """Dry run without a reachable service: created or updated as needed."""
    SKIPPED = "skipped"
    """Cannot be installed on this server (the detail says why and what follows)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One asset and what happens to it.

    Attributes:
        service: ``elasticsearch`` or ``kibana``.
        kind: The asset type, e.g. ``index template`` or ``rule``.
        name: The asset's name or id.
        action: Create, update or leave unchanged.
        detail: Why, when it is not obvious (e.g. which part differs).
    """

    service: str
    kind: str
    name: str
    action: Action
    detail: str = ""

    @property
    def changes(self) -> bool:
        """Whether carrying out this step writes anything."""
        return self.action not in (Action.UNCHANGED, Action.SKIPPED)

    def __str__(self) -> str:
        line = f"{self.action:<9} {self.service} {self.kind} {self.name}"
        return f"{line} ({self.detail})" if self.detail else line
