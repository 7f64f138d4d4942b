"""``@timestamp`` text and the caller's timestamps (docs/handler.md, Timestamps)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from mlmon_elk.producer.call import CallError
from mlmon_elk.producer.timestamps import TimestampFormatter, epoch_seconds

FIXED = dt.datetime(2026, 5, 4, 3, 2, 1, 987_654, tzinfo=dt.UTC).timestamp()


def test_timestamp_format() -> None:
    """ISO-8601 UTC with exactly three fraction digits and Z, cached per second."""
    fmt = TimestampFormatter()
    assert fmt(0.0) == "1970-01-01T00:00:00.000Z"
    assert fmt(FIXED) == "2026-05-04T03:02:01.987Z"
    assert fmt(FIXED + 0.0123) == "2026-05-04T03:02:01.999Z"
    assert fmt(-0.5) == "1969-12-31T23:59:59.500Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", fmt(1e11))  # beyond 9999: now


def test_epoch_seconds_of_the_accepted_forms() -> None:
    """Numbers, datetimes (naive is UTC) and ISO-8601 strings give the same instant."""
    aware = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    assert epoch_seconds(aware.timestamp()) == aware.timestamp()
    assert epoch_seconds(aware.replace(tzinfo=None)) == aware.timestamp()
    assert epoch_seconds("2026-01-01T13:00:00+01:00") == aware.timestamp()


def test_epoch_seconds_names_the_argument_it_refuses() -> None:
    """An unparsable string is a CallError naming ``timestamp``."""
    with pytest.raises(CallError, match="timestamp: not an ISO-8601") as caught:
        epoch_seconds("yesterday")
    assert caught.value.argument == "timestamp"
