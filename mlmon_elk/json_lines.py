"""The JSON objects among lines of a JSON-lines file (pure; foundation of the readers)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson


def json_objects(lines: Iterable[bytes]) -> tuple[list[dict[str, Any]], int]:
    """The lines that are JSON objects, decoded whole, and how many lines were not one
    (invalid JSON, or another JSON value)."""
    objects: list[dict[str, Any]] = []
    other = 0
    for line in lines:
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            other += 1
            continue
        if isinstance(value, dict):
            objects.append(value)
        else:
            other += 1
    return objects, other
