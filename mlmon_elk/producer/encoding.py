"""JSON lines out of documents: always valid JSON, always UTF-8, one line each.

orjson is used when it is installed (a dependency of the light install: it is
what keeps the caller's cost of a prediction under ten microseconds); the
standard library's encoder is the fallback. Both refuse ``NaN``/``Infinity``
tokens: the document builder never puts non-finite floats in a document, and
orjson would write them as ``null`` if one slipped through.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

_stdlib_encoder = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(",", ":"), check_circular=False
)


def _stdlib_dumps(doc: Any) -> bytes:
    return (_stdlib_encoder.encode(doc) + "\n").encode("utf-8")


_dumps: Callable[[Any], bytes]
dumps_bare: Callable[[Any], bytes] | None
"""orjson's compact JSON without the newline (None without orjson): the document
builder's byte templates are spliced with it, so they exist only with orjson."""
try:
    import orjson
except ImportError:  # pragma: no cover - exercised only without orjson
    _dumps = _stdlib_dumps
    dumps_bare = None
    BACKEND = "json"
else:
    _OPTIONS = orjson.OPT_APPEND_NEWLINE

    def _orjson_dumps(doc: Any) -> bytes:
        return orjson.dumps(doc, option=_OPTIONS)

    _dumps = _orjson_dumps
    dumps_bare = orjson.dumps
    BACKEND = "orjson"


def encode_line(doc: Any) -> bytes:
    """``doc`` as one UTF-8 JSON line ending in ``\\n``.

    Strings that are not valid Unicode (lone surrogates, e.g. from
    ``os.fsdecode`` of undecodable bytes) are repaired with U+FFFD instead of
    failing the whole document.

    Raises:
        TypeError, ValueError: ``doc`` holds something that is not JSON (the
            document builder never produces that).
    """
    try:
        return _dumps(doc)
    except (TypeError, ValueError, UnicodeError):
        return _dumps(_repair_strings(doc))


def encode_part(value: Any) -> bytes:
    """``value`` as compact JSON without the newline, strings repaired as by :func:`encode_line`."""
    return encode_line(value)[:-1]


def _repair_strings(value: Any) -> Any:
    if isinstance(value, str):
        # UTF-16 with surrogatepass joins valid pairs; lone halves become U+FFFD.
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {_repair_strings(k): _repair_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_repair_strings(v) for v in value]
    return value
