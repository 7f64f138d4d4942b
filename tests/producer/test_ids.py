"""Prediction ids: unique per process and after ``fork()``."""

from __future__ import annotations

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
