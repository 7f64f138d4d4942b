"""JSON lines: valid JSON always, one line, UTF-8."""

from __future__ import annotations

import json

import pytest

from mlmon_elk.producer import encoding


def test_one_newline_terminated_line() -> None:
    """Each document is one line ending in a newline; newlines in values are escaped."""
    line = encoding.encode_line({"a": "x\ny", "b": [1, 2]})
    assert line.count(b"\n") == 1
    assert line.endswith(b"\n")
    assert json.loads(line) == {"a": "x\ny", "b": [1, 2]}


def test_non_ascii_stays_utf8() -> None:
    """Text is written as UTF-8, not escaped."""
    assert "é☃".encode() in encoding.encode_line({"a": "é☃"})


@pytest.mark.parametrize("dumps", [encoding._dumps, encoding._stdlib_dumps], ids=["orjson", "json"])
def test_both_encoders_agree(dumps: object) -> None:
    """The standard-library fallback writes the same JSON as orjson."""
    doc = {"a": 1.5, "b": "é", "c": [True, None], "d": {"e": 1}}
    assert json.loads(dumps(doc)) == doc  # type: ignore[operator]


def test_the_fallback_refuses_nan_tokens() -> None:
    """Even the fallback never writes NaN or Infinity tokens."""
    with pytest.raises(ValueError, match="JSON compliant"):
        encoding._stdlib_dumps({"a": float("nan")})


def test_surrogates_are_repaired() -> None:
    """A lone surrogate does not fail the document."""
    assert json.loads(encoding.encode_line({"k\udc80": "v\ud800"})) == {"k\ufffd": "v\ufffd"}
