"""Prediction ids: unique per process and after ``fork()``."""

from __future__ import annotations

import sys
import threading

from mlmon_elk.producer.ids import IdGenerator


def test_ids_count_up_under_one_prefix() -> None:
    """One random prefix, then a hexadecimal counter."""
    ids = IdGenerator()
    first, second = ids(), ids()
    assert first.split("-")[0] == second.split("-")[0]
    assert (first.split("-")[1], second.split("-")[1]) == ("1", "2")


def test_id_generator_reset_changes_the_prefix() -> None:
    """After reset (fork), ids cannot repeat the parent's."""
    ids = IdGenerator()
    before = ids()
    ids.reset()
    after = ids()
    assert before.split("-")[0] != after.split("-")[0]
    assert after.endswith("-1")


def test_ids_are_the_prefix_and_the_count_in_hex_across_blocks() -> None:
    """Made a block at a time, the ids are still the prefix and the plain hex count."""
    ids = IdGenerator()
    drawn = [ids() for _ in range(70_000)]
    assert drawn == [f"{ids.prefix}{count:x}" for count in range(1, 70_001)]


def test_threads_drawing_at_once_never_share_an_id() -> None:
    """Threads switching every microsecond, refilling the pool over each other: no id twice."""
    ids = IdGenerator()
    drawn: list[list[str]] = [[] for _ in range(4)]

    def draw(into: list[str]) -> None:
        into.extend(ids() for _ in range(20_000))

    threads = [threading.Thread(target=draw, args=(into,)) for into in drawn]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    every = [ident for into in drawn for ident in into]
    assert len(set(every)) == len(every) == 80_000
