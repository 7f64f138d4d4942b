"""Advisory file locks (``flock``), or nothing where the platform has none.

On Windows every lock "succeeds": one process per spool directory and per
log file is then the rule there.
"""

from __future__ import annotations

import sys

if sys.platform == "win32":  # pragma: no cover - no flock on Windows

    def lock_shared(fd: int) -> None:
        """No-op on Windows."""

    def lock_exclusive(fd: int) -> None:
        """No-op on Windows."""

    def try_lock_exclusive(fd: int) -> bool:
        """Always succeeds on Windows."""
        return True

    def unlock(fd: int) -> None:
        """No-op on Windows."""

else:
    import fcntl

    def lock_shared(fd: int) -> None:
        """Block until a shared lock on ``fd`` is held."""
        fcntl.flock(fd, fcntl.LOCK_SH)

    def lock_exclusive(fd: int) -> None:
        """Block until an exclusive lock on ``fd`` is held."""
        fcntl.flock(fd, fcntl.LOCK_EX)

    def try_lock_exclusive(fd: int) -> bool:
        """Take an exclusive lock on ``fd`` if nobody holds one; never blocks."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def unlock(fd: int) -> None:
        """Release the lock on ``fd``."""
        fcntl.flock(fd, fcntl.LOCK_UN)
