"""ECS ``labels`` from the caller's values: flat keyword strings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlmon_elk.producer import values as v
from mlmon_elk.producer.names import safe_name


def label_values(labels: Mapping[Any, object]) -> dict[str, str]:
    """ECS ``labels``: flat, keyword values; keys sanitised like feature names.

    Strings, bools (``"true"``/``"false"``), integers, finite floats, enums and
    dates become strings; ``None`` and anything else is left out.
    """
    out: dict[str, str] = {}
    for key, value in labels.items():
        if isinstance(value, bool):
            text: str | None = "true" if value else "false"
        elif isinstance(value, int):
            text = str(value)
        else:
            kind, logged = v.classify(value)
            text = logged if kind == v.CAT else repr(logged) if kind == v.NUM else None
        if text is not None:
            out[safe_name(key)] = text
    return out
