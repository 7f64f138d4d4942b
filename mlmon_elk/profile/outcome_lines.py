"""Decode JSON lines into only the fields the performance counts read (pure).

The handler writes outcomes into the same files as predictions, and a window's
prediction documents are needed there too (their scores, for the estimated
performance). Decoded whole, a 50-feature prediction costs about ten times what
these few fields do: reading a window's outcomes took five times as long as
counting its predictions. msgspec passes over every other field undecoded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypedDict, cast

import msgspec

from mlmon_elk.json_lines import json_objects


class _Mlmon(TypedDict, total=False):
    """The ``mlmon`` fields of outcomes and predictions the performance counts read."""

    model: Any
    prediction_time: Any
    actual: Any
    predicted: Any
    score: Any
    residual: Any
    outputs: Any


_Document = TypedDict("_Document", {"@timestamp": Any, "event": Any, "mlmon": _Mlmon}, total=False)

_DECODER = msgspec.json.Decoder(_Document)


def performance_objects(lines: Iterable[bytes]) -> tuple[list[dict[str, Any]], int]:
    """The lines that are JSON objects, with only the fields the performance counts read
    (``@timestamp``, ``event``, and ``mlmon``'s model, times, labels, score, residual and
    outputs), and how many lines were not an object.

    A line whose ``mlmon`` is not an object is decoded whole, as any reader would.
    """
    objects: list[dict[str, Any]] = []
    odd: list[bytes] = []
    other = 0
    for line in lines:
        try:
            objects.append(cast("dict[str, Any]", _DECODER.decode(line)))
        except msgspec.ValidationError:  # valid so far, not shaped as expected
            odd.append(line)
        except msgspec.DecodeError:
            other += 1
    whole, broken = json_objects(odd)
    return objects + whole, other + broken
