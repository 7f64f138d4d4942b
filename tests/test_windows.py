"""Windows are aligned to the schedule, wait for late documents, and backfill exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mlmon_elk.windows import (
    Schedule,
    Window,
    ceil_time,
    floor_time,
    format_duration,
    format_time,
    parse_duration,
    parse_time,
)


def t(text: str) -> datetime:
    return parse_time(text)


def test_latest_window_ends_on_the_interval_after_the_settle_delay() -> None:
    """At 12:07:30 with a 1-minute delay the latest 5-minute window is [12:00, 12:05)."""
    schedule = Schedule(timedelta(minutes=5), timedelta(minutes=5), timedelta(minutes=1))
    assert schedule.latest(t("2024-05-01T12:07:30Z")) == Window(
        t("2024-05-01T12:00Z"), t("2024-05-01T12:05Z")
    )
    # 30 seconds into the delay the window ending at 12:05 is not due yet.
    assert schedule.latest(t("2024-05-01T12:05:30Z")).end == t("2024-05-01T12:00Z")


def test_sliding_windows_are_longer_than_the_interval() -> None:
    """An hour-long window every 5 minutes ends on each 5-minute tick."""
    schedule = Schedule(timedelta(minutes=5), timedelta(hours=1), timedelta(0))
    assert schedule.latest(t("2024-05-01T12:07Z")) == Window(
        t("2024-05-01T11:05Z"), t("2024-05-01T12:05Z")
    )


def test_daily_windows_align_to_utc_midnight() -> None:
    """Whatever the local zone of the input, a 1-day interval ends at 00:00 UTC."""
    schedule = Schedule(timedelta(days=1), timedelta(days=1), timedelta(hours=2))
    now = datetime(2024, 5, 2, 5, 0, tzinfo=timezone(timedelta(hours=9)))  # 20:00 UTC on the 1st
    assert schedule.latest(now) == Window(t("2024-04-30T00:00Z"), t("2024-05-01T00:00Z"))


def test_backfill_lists_every_window_inside_the_period() -> None:
    """--from 12:02 --to 12:31 with 10-minute windows: the windows ending 12:20 and 12:30."""
    schedule = Schedule(timedelta(minutes=10), timedelta(minutes=10), timedelta(minutes=1))
    windows = schedule.between(t("2024-05-01T12:02Z"), t("2024-05-01T12:31Z"))
    assert [format_time(w.end) for w in windows] == [
        "2024-05-01T12:20:00.000Z",
        "2024-05-01T12:30:00.000Z",
    ]
    assert windows[0].start == t("2024-05-01T12:10Z")
    exact = schedule.between(t("2024-05-01T12:00Z"), t("2024-05-01T12:30Z"))
    assert len(exact) == 3


def test_next_run_is_the_next_window_end_plus_delay() -> None:
    """Runs fire at window end + delay: 12:06 after 12:04, then 12:11."""
    schedule = Schedule(timedelta(minutes=5), timedelta(minutes=5), timedelta(minutes=1))
    assert schedule.next_run(t("2024-05-01T12:04Z")) == t("2024-05-01T12:06Z")
    assert schedule.next_run(t("2024-05-01T12:06Z")) == t("2024-05-01T12:11Z")


def test_preceding_windows_are_oldest_first() -> None:
    """The history of a window is the same-length windows just before it."""
    window = Window(t("2024-05-01T12:00Z"), t("2024-05-01T12:10Z"))
    assert window.preceding(2) == (
        Window(t("2024-05-01T11:40Z"), t("2024-05-01T11:50Z")),
        Window(t("2024-05-01T11:50Z"), t("2024-05-01T12:00Z")),
    )


def test_rounding_is_epoch_aligned() -> None:
    """floor/ceil round to multiples of the step since 1970-01-01 UTC."""
    step = timedelta(minutes=15)
    assert floor_time(t("2024-05-01T12:14:59Z"), step) == t("2024-05-01T12:00Z")
    assert ceil_time(t("2024-05-01T12:00:01Z"), step) == t("2024-05-01T12:15Z")
    assert ceil_time(t("2024-05-01T12:15Z"), step) == t("2024-05-01T12:15Z")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("5m", 300),
        ("1h", 3600),
        ("1d", 86400),
        ("2w", 1209600),
        ("250ms", 0.25),
        (30, 30),
        ("1.5h", 5400),
    ],
)
def test_durations_parse(text: object, seconds: float) -> None:
    """Durations read as Elasticsearch-style units or plain seconds."""
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["5 minutes", "-5m", "", True, "1y"])
def test_bad_durations_say_what_is_expected(text: object) -> None:
    """A wrong duration names the accepted spellings."""
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_durations_format_back_to_their_shortest_spelling() -> None:
    """format_duration and parse_duration round-trip."""
    for text in ("5m", "1h", "90s", "1d", "250ms"):
        assert format_duration(parse_duration(text)) == text


def test_times_without_zone_are_utc_and_bad_times_are_refused() -> None:
    """A date alone is midnight UTC; garbage names the expected format."""
    assert parse_time("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_time("2024-05-01T14:00+02:00") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_time("yesterday")


def test_windows_must_be_aware_and_non_empty() -> None:
    """Naive or empty windows are programming errors, caught at once."""
    with pytest.raises(ValueError, match="timezone-aware"):
        Window(datetime(2024, 5, 1), datetime(2024, 5, 2))
    with pytest.raises(ValueError, match="not after"):
        Window(t("2024-05-01T12:00Z"), t("2024-05-01T12:00Z"))
