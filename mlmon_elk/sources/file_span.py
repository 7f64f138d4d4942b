"""Which period prediction files hold, read cheaply from their first and last lines.

Used for the hint after an empty ``analyze --once``: the files are usually
appended in time order, so the first and last line of each file bound its
period without reading it all (a gzipped file is read through, once).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson

from mlmon_elk.contract import Dataset
from mlmon_elk.sources.files import open_lines
from mlmon_elk.windows import parse_time

_TAIL_BYTES = 256 * 1024
"""Read from the end of a plain file to find its last prediction lines."""

_EDGE_LINES = 20
"""Lines looked at from each end (counters documents may sit between predictions)."""

_GZIP_MAGIC = b"\x1f\x8b"

PREDICTION = str(Dataset.PREDICTION)


@dataclass(frozen=True, slots=True)
class FileSpan:
    """The earliest and latest ``@timestamp`` found, and in how many files."""

    first: datetime
    last: datetime
    files: int


def file_span(paths: Iterable[Path]) -> FileSpan | None:
    """The period the files' first and last lines cover; ``None`` without a timestamp."""
    stamps: list[datetime] = []
    files = 0
    for path in paths:
        head, tail = _edge_lines(path)
        first = next((t for t in map(_timestamp, head) if t is not None), None)
        last = next((t for t in map(_timestamp, reversed(tail)) if t is not None), None)
        found = [t for t in (first, last) if t is not None]
        if found:
            files += 1
            stamps.extend(found)
    if not stamps:
        return None
    return FileSpan(first=min(stamps), last=max(stamps), files=files)


def _edge_lines(path: Path) -> tuple[list[bytes], list[bytes]]:
    """The first and the last lines of a file (up to ``_EDGE_LINES`` of each)."""
    try:
        with path.open("rb") as raw:
            gzipped = raw.read(2) == _GZIP_MAGIC
        with open_lines(path) as stream:
            head = [line for _, line in zip(range(_EDGE_LINES), stream, strict=False)]
            if gzipped:
                tail = deque(stream, maxlen=_EDGE_LINES)
                return head, list(tail) or head
        with path.open("rb") as raw:
            raw.seek(0, os.SEEK_END)
            raw.seek(max(0, raw.tell() - _TAIL_BYTES))
            tail = deque(raw.read().splitlines(), maxlen=_EDGE_LINES)
        return head, list(tail)
    except OSError:
        return [], []


def _timestamp(line: bytes) -> datetime | None:
    """The ``@timestamp`` of a prediction document (shipper counters have the real time)."""
    try:
        doc = orjson.loads(line)
        if not isinstance(doc, dict) or doc.get("event", {}).get("dataset") != PREDICTION:
            return None
        return parse_time(str(doc["@timestamp"]))
    except (orjson.JSONDecodeError, KeyError, ValueError, AttributeError):
        return None
