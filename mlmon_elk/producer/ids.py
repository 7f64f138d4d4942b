"""Prediction ids: unique across processes, without a system call per id."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator
from typing import Final

_BLOCK_DIGITS: Final = 2
_BLOCK: Final = 16**_BLOCK_DIGITS
# The counter's low hex digits: as they are in the first block, zero-padded after it.
_LOW: Final = tuple(format(low, "x") for low in range(_BLOCK))
_LOW_PADDED: Final = tuple(format(low, f"0{_BLOCK_DIGITS}x") for low in range(_BLOCK))


class IdGenerator:
    """Prediction ids unique across processes: a random 64-bit prefix, ``-`` and a
    hexadecimal counter from 1.

    Cheaper than ``uuid4()`` (no system call per id), and cheaper than formatting
    the counter for each id: ids are made a block of 256 at a time, by joining
    the block's text to its low digits, and drawn from :attr:`pool` (the builder's
    usual line draws inline). :meth:`reset` after ``fork()`` gives the child its own
    prefix, so parent and child never produce the same id. Threads drawing at
    once never get the same id: a block is made from its own count, and a block
    replaced while another thread refilled is skipped, never reused.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Draw a new prefix and restart the counter."""
        self.prefix = secrets.token_hex(8) + "-"
        self._blocks = itertools.count()
        self.pool: Iterator[str] = iter(())

    def __call__(self) -> str:
        return next(self.pool, None) or self.refill()

    def refill(self) -> str:
        """Make the next block of ids, the pool's from now on; returns its first."""
        block = next(self._blocks)
        if block:
            head = f"{self.prefix}{block:x}"
            ids = [head + low for low in _LOW_PADDED]
        else:
            prefix = self.prefix
            ids = [prefix + low for low in _LOW[1:]]  # the counter starts at 1
        pool = iter(ids)
        self.pool = pool
        return next(pool)
