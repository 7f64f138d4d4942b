"""Prediction ids: unique across processes, without a system call per id."""

from __future__ import annotations

import itertools
import secrets


class IdGenerator:
    """Prediction ids unique across processes: a random 64-bit prefix and a counter.

    Cheaper than ``uuid4()`` (no system call per id). :meth:`reset` after
    ``fork()`` gives the child its own prefix, so parent and child never
    produce the same id.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Draw a new prefix and restart the counter."""
        # Public for the builder's usual line, which writes ``prefix`` and the next
        # count inline (a call less); both are replaced together, only after fork.
        self.prefix = secrets.token_hex(8) + "-"
        self.counter = itertools.count(1)

    def __call__(self) -> str:
        return f"{self.prefix}{next(self.counter):x}"
