"""Rotating JSON-lines files: the embedded default, and what Filebeat or Logstash can ship.

Several processes (gunicorn workers) may write the same file. Each batch is
one ``O_APPEND`` write under a shared ``flock`` on a hidden lock file; a
rotation takes the lock exclusively, so no write is ever split across two
files, and every writer notices the rename (a new inode) before its next
write. Names (also in ``docs/handler.md``; the analyzer's file source reads
them)::

    predictions.jsonl                                  the active file
    predictions-20261122T221533.123456Z.jsonl          rotated (UTC time of rotation)
    predictions-20261122T221533.123456Z.jsonl.gz       rotated and compressed
    .predictions.jsonl.lock                            coordination, never data

Rotated names sort chronologically. A rotated file is complete and never
written again; while it is being compressed both forms exist for a moment,
and readers take the uncompressed one (``*.gz.tmp`` files are unfinished).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from mlmon_elk.producer.locking import lock_exclusive, lock_shared, try_lock_exclusive, unlock
from mlmon_elk.producer.transports import DeliveryError, TransportOptions, Waiting

_STALE_TMP_SECONDS = 600.0


def rotated_name(active: Path, when: dt.datetime) -> Path:
    """Name of the file ``active`` becomes when rotated at ``when`` (UTC)."""
    stamp = when.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return active.with_name(f"{_stem(active)}-{stamp}{_suffix(active)}")


def rotated_files(active: Path) -> list[Path]:
    """Rotated files of ``active`` in chronological order, one path per rotation.

    Where a rotation exists both uncompressed and compressed (compression in
    progress), the uncompressed file is listed.
    """
    stem, suffix = _stem(active), _suffix(active)
    found: dict[str, Path] = {}
    for path in active.parent.glob(f"{stem}-*{suffix}.gz"):
        found[path.name[: -len(".gz")]] = path
    for path in _uncompressed_rotations(active):
        found[path.name] = path
    return [found[name] for name in sorted(found)]


def _uncompressed_rotations(active: Path) -> Iterator[Path]:
    for path in active.parent.glob(f"{_stem(active)}-*{_suffix(active)}"):
        if not path.name.endswith((".gz", ".gz.tmp")):
            yield path


def _stem(active: Path) -> str:
    return active.name[: -len(active.suffix)] if active.suffix else active.name


def _suffix(active: Path) -> str:
    return active.suffix


class FileTransport:
    """Appends batches to ``path``; rotates past ``file_max_bytes``, keeps ``file_backups``."""

    resend_window = 0

    def __init__(self, path: Path, options: TransportOptions) -> None:
        self.path = path
        self.max_bytes = options.file_max_bytes
        self.backups = options.file_backups
        self.compress = options.file_compress
        self._lock_path = path.with_name(f".{path.name}.lock")
        self._fd: int | None = None
        self._identity: tuple[int, int] | None = None
        self._lock_fd: int | None = None
        self._compressor: threading.Thread | None = None
        self._compress_lock = threading.Lock()
        self._compress_pending = False

    def send(self, data: bytes, waiting: Waiting | None = None) -> None:
        """Append whole lines; rotate afterwards if the file is full (``waiting``: unused)."""
        try:
            with self._locked(exclusive=False):
                fd = self._current()
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                size = os.fstat(fd).st_size
            if size >= self.max_bytes:
                self._rotate()
        except OSError as exc:
            msg = f"writing {self.path} failed: {exc}"
            raise DeliveryError(msg) from exc

    def _current(self) -> int:
        try:
            stat = os.stat(self.path)
            identity: tuple[int, int] | None = (stat.st_dev, stat.st_ino)
        except FileNotFoundError:
            identity = None
        if self._fd is not None and identity == self._identity:
            return self._fd
        self._close_file()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self.path, flags, 0o644)
        stat = os.fstat(fd)
        self._fd, self._identity = fd, (stat.st_dev, stat.st_ino)
        return fd

    @contextlib.contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        if self._lock_fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
            self._lock_fd = os.open(self._lock_path, flags, 0o644)
        (lock_exclusive if exclusive else lock_shared)(self._lock_fd)
        try:
            yield
        finally:
            unlock(self._lock_fd)

    def _rotate(self) -> None:
        with self._locked(exclusive=True):
            try:
                if os.stat(self.path).st_size < self.max_bytes:
                    return  # another process rotated it already
            except FileNotFoundError:
                return
            target = rotated_name(self.path, dt.datetime.now(dt.UTC))
            while target.exists() or target.with_name(target.name + ".gz").exists():
                time.sleep(1e-6)
                target = rotated_name(self.path, dt.datetime.now(dt.UTC))
            os.rename(self.path, target)
        self._close_file()
        if self.compress:
            self._start_compressing()
        self._prune()

    def _start_compressing(self) -> None:
        with self._compress_lock:
            self._compress_pending = True
            if self._compressor is None:
                self._compressor = threading.Thread(
                    target=self._compress_all, name="mlmon-elk-compress", daemon=True
                )
                self._compressor.start()

    def _compress_all(self) -> None:
        """Compress every uncompressed rotation nobody else is compressing, until none is new."""
        while True:
            with self._compress_lock:
                if not self._compress_pending:
                    self._compressor = None  # the next rotation starts a new thread
                    return
                self._compress_pending = False
            with contextlib.suppress(OSError):
                for path in _uncompressed_rotations(self.path):
                    _compress(path)
                now = time.time()
                for tmp in self.path.parent.glob(f"{_stem(self.path)}-*.gz.tmp"):
                    if now - tmp.stat().st_mtime > _STALE_TMP_SECONDS:
                        tmp.unlink(missing_ok=True)

    def _prune(self) -> None:
        if self.backups <= 0:
            return
        with contextlib.suppress(OSError):
            for path in rotated_files(self.path)[: -self.backups]:
                path.unlink(missing_ok=True)
                Path(f"{path}.gz").unlink(missing_ok=True)

    def unacknowledged(self) -> int:
        """Always 0: a written batch is delivered."""
        return 0

    def check(self) -> None:
        """Nothing to check."""

    def close(self, timeout: float) -> bool:
        """Close the file (a running compression finishes on its own or on the next start)."""
        self._close_file()
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = None
        compressor = self._compressor
        if compressor is not None:  # unfinished work is picked up by the next rotation
            compressor.join(max(timeout, 0.0))
        return True

    def discard(self) -> None:
        """Forget the parent's descriptors after ``fork()`` (the child reopens its own)."""
        self._close_file()
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)  # flock is per open file: the parent keeps its lock
            self._lock_fd = None
        self._compressor = None
        self._compress_lock = threading.Lock()
        self._compress_pending = False

    def _close_file(self) -> None:
        fd, self._fd, self._identity = self._fd, None, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


def _compress(path: Path) -> None:
    """gzip ``path`` to ``path.gz`` and remove it, unless another process is on it."""
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return
    with os.fdopen(fd, "rb") as source:
        if not try_lock_exclusive(source.fileno()):
            return  # another process compresses it
        if not path.exists():
            return  # compressed and removed while we waited
        tmp = path.with_name(path.name + ".gz.tmp")
        with gzip.open(tmp, "wb", compresslevel=1) as target:
            shutil.copyfileobj(source, target, 1024 * 1024)
        os.replace(tmp, path.with_name(path.name + ".gz"))
        path.unlink(missing_ok=True)
