"""The console's time ranges say the date and year of both ends when they differ."""

from __future__ import annotations

from datetime import UTC, datetime

from mlmon_elk.results.console import time_range


def test_a_range_within_a_day_gives_the_date_once() -> None:
    start = datetime(2018, 11, 1, 0, 0, tzinfo=UTC)
    assert time_range(start, start.replace(minute=5)) == "2018-11-01 00:00 → 00:05"


def test_a_range_over_midnight_gives_both_dates() -> None:
    start = datetime(2018, 11, 1, 0, 0, tzinfo=UTC)
    end = datetime(2026, 12, 3, 0, 0, tzinfo=UTC)
    assert time_range(start, end) == "2018-11-01 00:00 → 2026-12-03 00:00"
