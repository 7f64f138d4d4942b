"""Items made ahead on a background thread: order, errors, bounds, and leaving early."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from mlmon_elk.background import ahead


class Source:
    """Numbers made one by one, noting on which thread, how far ahead, and when closed."""

    def __init__(self, n: int, *, fail_at: int | None = None) -> None:
        self.n = n
        self.fail_at = fail_at
        self.made = 0
        self.threads: set[str] = set()
        self.closed_on: str | None = None

    def __iter__(self) -> Iterator[int]:
        try:
            for i in range(self.n):
                if i == self.fail_at:
                    msg = f"item {i} cannot be made"
                    raise OSError(msg)
                self.threads.add(threading.current_thread().name)
                self.made += 1
                yield i
        finally:
            self.closed_on = threading.current_thread().name


def _alive(name: str) -> bool:
    return any(t.name == name for t in threading.enumerate())


def test_items_come_in_order_made_on_a_thread_of_their_own() -> None:
    source = Source(50)
    assert list(ahead(source, name="test-maker")) == list(range(50))
    assert source.threads == {"test-maker"}
    assert not _alive("test-maker")


def test_no_more_than_depth_items_wait_beyond_the_one_being_made() -> None:
    source = Source(30)
    leads = []
    for i in ahead(source, depth=2):
        threading.Event().wait(0.002)  # the maker gets time to run ahead
        leads.append(source.made - (i + 1))
    # Taken: i + 1; waiting in the queue: up to 2; made and waiting to be queued: 1.
    assert max(leads) <= 3
    assert max(leads) >= 1  # it did run ahead


def test_an_error_making_an_item_is_raised_in_its_place() -> None:
    items = ahead(Source(10, fail_at=3))
    assert [next(items) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(OSError, match="item 3 cannot be made"):
        next(items)


def test_leaving_early_closes_the_source_on_its_thread_and_ends_the_thread() -> None:
    source = Source(1000)
    for i in ahead(source, name="test-early"):
        if i == 2:
            break
    assert source.closed_on == "test-early"
    assert not _alive("test-early")
    assert source.made < 10


def test_an_error_in_the_caller_also_stops_the_maker() -> None:
    source = Source(1000)

    def use() -> None:
        for i in ahead(source, name="test-caller-error"):
            _ = 1 / (3 - i)

    with pytest.raises(ZeroDivisionError):
        use()
    assert source.closed_on == "test-caller-error"
    assert not _alive("test-caller-error")
