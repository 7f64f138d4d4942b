"""Items of an iterator made ahead on a thread of their own, while the caller uses the last.

For stages that wait on something other than the interpreter — reading and
gunzipping a file, a native decoder that runs without the GIL — so that they
overlap with the caller's own work instead of taking turns with it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

_POLL_SECONDS = 0.05
"""How often a producer blocked on a full queue looks whether the consumer left."""


@dataclass(frozen=True, slots=True)
class _End:
    """The last entry of the queue: the items ran out, or raised ``error``."""

    error: BaseException | None = None


def ahead(items: Iterable[T], *, depth: int = 1, name: str = "mlmon-elk-ahead") -> Generator[T]:
    """``items`` in order, each made on a background thread up to ``depth`` ahead of use.

    An exception raised by ``items`` is raised here, in its place in the order.
    Leaving the loop early (``break``, an exception, closing this generator)
    stops the thread at its next item and closes ``items`` on it — so files
    opened there are closed there — before this generator returns.
    """
    made: queue.Queue[tuple[T] | _End] = queue.Queue(maxsize=depth)
    left = threading.Event()

    def put(entry: tuple[T] | _End) -> bool:
        while not left.is_set():
            try:
                made.put(entry, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False

    def produce() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not put((item,)):
                    return
            put(_End())
        except BaseException as exc:  # handed to the consumer, raised there
            put(_End(exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            entry = made.get()
            if isinstance(entry, _End):
                if entry.error is not None:
                    raise entry.error
                return
            yield entry[0]
    finally:
        left.set()
        thread.join()
