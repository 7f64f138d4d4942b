"""Bounded spools for documents that could not be delivered yet.

When the peer is down or slow, the sender appends batches here and replays
them, oldest first, once it is back. :class:`DiskSpool` survives a crash or
``SIGKILL`` of the process (the next process on the same directory delivers
what is left); :class:`MemorySpool` is the same without persistence.

Disk layout (one directory per destination)::

    <owner>.lock                        held with flock by a living process
    <created_ns:020d>-<owner>.spool     a segment: JSON lines, appended
    <created_ns:020d>-<owner>.spool.pos byte offset up to which it was delivered

``owner`` is ``<pid>-<random>``: every process, including each child after
``fork()``, writes only its own segments, so processes never corrupt each
other's. Segments whose owner is dead (its lock file is not locked, or gone)
are *adopted*: renamed to the adopter and replayed in creation order.

Delivery is at-least-once: a segment's position is saved after each
confirmed batch, so after a crash at most the batches in flight are sent
again. When a spool is full, ``drop_oldest`` (default) deletes the oldest
segment and counts its undelivered documents as dropped (for monitoring,
recent traffic matters most); ``drop_newest`` refuses new batches instead.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, Protocol

from mlmon_elk.errors import ConfigError
from mlmon_elk.producer.locking import try_lock_exclusive

SpoolPolicy = Literal["drop_oldest", "drop_newest"]
POLICIES: Final = ("drop_oldest", "drop_newest")

SEGMENT_SUFFIX: Final = ".spool"
_SAVE_POSITION_EVERY = 0.25  # seconds
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True, slots=True)
class Position:
    """Where a read chunk ends: what :meth:`Spool.confirm` marks delivered."""

    segment: str
    offset: int
    records: int


class Spool(Protocol):
    """What the sender needs from a spool."""

    persistent: bool

    def append(self, data: bytes, count: int) -> tuple[int, int]:
        """Store ``count`` documents (whole lines; large batches are split).

        Returns:
            How many documents were stored, and how many the policy dropped:
            older ones to make room, or new ones it refused.

        Raises:
            OSError: The disk refused a write (nothing of that piece is kept).
        """

    def read(self, max_bytes: int) -> tuple[bytes, int, Position] | None:
        """The next unread whole lines (about ``max_bytes``), or None."""

    def confirm(self, position: Position) -> None:
        """Everything read up to ``position`` was delivered."""

    def rewind(self) -> None:
        """Read again from the first unconfirmed document (the connection broke)."""

    def has_unread(self) -> bool:
        """Whether documents wait to be read."""

    @property
    def pending_records(self) -> int:
        """Documents stored and not yet confirmed."""

    @property
    def pending_bytes(self) -> int:
        """Bytes of the documents stored and not yet confirmed."""

    def adopt(self) -> int:
        """Take over what dead processes left; returns the documents adopted."""

    def close(self) -> None:
        """Release files; what is left is delivered by the next process."""

    def after_fork_in_child(self) -> None:
        """Forget the parent's state without touching its files."""


def check_limits(max_bytes: int, segment_bytes: int, policy: str) -> None:
    """Raise :class:`ConfigError` for unusable spool limits."""
    if policy not in POLICIES:
        msg = f"spool_full: expected one of {', '.join(POLICIES)}, got {policy!r}"
        raise ConfigError(msg)
    if max_bytes < 2 * segment_bytes:
        msg = (
            f"spool_max_bytes: expected at least {2 * segment_bytes} (two segments),"
            f" got {max_bytes}"
        )
        raise ConfigError(msg)


# -- memory --------------------------------------------------------------------------


@dataclass(slots=True)
class _Chunk:
    seq: int
    data: bytes
    count: int


class MemorySpool:
    """A bounded in-memory spool: the same rules as on disk, lost with the process."""

    persistent = False

    def __init__(self, *, max_bytes: int, policy: SpoolPolicy = "drop_oldest") -> None:
        check_limits(max_bytes, 0, policy)
        self.max_bytes = max_bytes
        self.policy = policy
        self._chunks: deque[_Chunk] = deque()
        self._read = 0  # index of the first unread chunk
        self._seq = 0
        self._bytes = 0
        self._records = 0

    def append(self, data: bytes, count: int) -> tuple[int, int]:
        """Store a batch, dropping by policy when full."""
        if len(data) > self.max_bytes // 4:
            return _append_pieces(self._append, data, self.max_bytes // 4)
        return self._append(data, count)

    def _append(self, data: bytes, count: int) -> tuple[int, int]:
        if len(data) > self.max_bytes or (
            self.policy == "drop_newest" and self._bytes + len(data) > self.max_bytes
        ):
            return 0, count
        dropped = 0
        while self._bytes + len(data) > self.max_bytes:
            oldest = self._chunks.popleft()
            self._read = max(self._read - 1, 0)
            self._bytes -= len(oldest.data)
            self._records -= oldest.count
            dropped += oldest.count
        self._seq += 1
        self._chunks.append(_Chunk(self._seq, data, count))
        self._bytes += len(data)
        self._records += count
        return count, dropped

    def read(self, max_bytes: int) -> tuple[bytes, int, Position] | None:
        """Whole chunks up to about ``max_bytes``."""
        if self._read >= len(self._chunks):
            return None
        parts: list[bytes] = []
        size = count = 0
        last = self._chunks[self._read]
        while self._read < len(self._chunks) and (not parts or size < max_bytes):
            last = self._chunks[self._read]
            parts.append(last.data)
            size += len(last.data)
            count += last.count
            self._read += 1
        return b"".join(parts), count, Position("memory", last.seq, count)

    def confirm(self, position: Position) -> None:
        """Forget chunks up to the confirmed one."""
        while self._chunks and self._chunks[0].seq <= position.offset:
            done = self._chunks.popleft()
            self._read = max(self._read - 1, 0)
            self._bytes -= len(done.data)
            self._records -= done.count

    def rewind(self) -> None:
        """Unconfirmed chunks are read again."""
        self._read = 0

    def has_unread(self) -> bool:
        """Whether chunks wait to be read."""
        return self._read < len(self._chunks)

    @property
    def pending_records(self) -> int:
        """Documents held."""
        return self._records

    @property
    def pending_bytes(self) -> int:
        """Bytes held."""
        return self._bytes

    def adopt(self) -> int:
        """Nothing to adopt in memory."""
        return 0

    def close(self) -> None:
        """Nothing to release."""

    def after_fork_in_child(self) -> None:
        """The parent's chunks are the parent's to deliver."""
        self._chunks.clear()
        self._read = self._bytes = self._records = 0


# -- disk ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Segment:
    path: Path
    size: int = 0
    records: int = 0
    confirmed: int = 0
    confirmed_records: int = 0
    read_offset: int = 0
    read_records: int = 0
    write_fd: int | None = None
    read_fd: int | None = None
    pos_fd: int | None = None
    sealed: bool = False
    saved_at: float = 0.0

    @property
    def name(self) -> str:
        return self.path.name


class DiskSpool:
    """Segments of JSON lines in a directory, per process, bounded in total size."""

    persistent = True

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        max_bytes: int = 256 * 1024 * 1024,
        segment_bytes: int = 4 * 1024 * 1024,
        policy: SpoolPolicy = "drop_oldest",
    ) -> None:
        check_limits(max_bytes, segment_bytes, policy)
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.policy = policy
        self.owner = ""
        self._lock_fd: int | None = None
        self._segments: list[_Segment] = []
        self._by_name: dict[str, _Segment] = {}

    # -- ownership -----------------------------------------------------------------

    def open(self) -> int:
        """Create the directory, take ownership, adopt dead processes' segments.

        Returns:
            The number of documents adopted.

        Raises:
            OSError: The directory cannot be created or written.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        self._claim_owner()
        return self.adopt()

    def _claim_owner(self) -> None:
        self.owner = f"{os.getpid()}-{secrets.token_hex(4)}"
        final = self.directory / f"{self.owner}.lock"
        # Lock under a temporary name first: nobody may see the final name unlocked.
        tmp = self.directory / f".{self.owner}.lock.tmp"
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | _CLOEXEC, 0o600)
        try_lock_exclusive(fd)
        os.replace(tmp, final)
        self._lock_fd = fd

    def adopt(self) -> int:
        """Rename the segments of dead owners to this owner and queue them for replay."""
        if not self.owner:
            return 0
        adopted = 0
        dead: list[str] = []
        for lock in self.directory.glob("*.lock"):
            owner = lock.name[: -len(".lock")]
            if owner != self.owner and _owner_is_dead(lock):
                dead.append(owner)
        live_locks = {p.name[: -len(".lock")] for p in self.directory.glob("*.lock")}
        for path in sorted(self.directory.glob(f"*{SEGMENT_SUFFIX}")):
            created, owner = _parse_segment(path.name)
            if not owner or owner == self.owner or (owner in live_locks and owner not in dead):
                continue
            adopted += self._adopt_segment(path, created)
        for owner in dead:
            with contextlib.suppress(OSError):
                (self.directory / f"{owner}.lock").unlink()
        if adopted:
            self._seal_active()  # our next appends must sort after what we adopted
            self._segments.sort(key=lambda s: s.name)
        return adopted

    def _adopt_segment(self, path: Path, created: str) -> int:
        target = self.directory / f"{created}-{self.owner}{SEGMENT_SUFFIX}"
        pos = Path(f"{path}.pos")
        try:
            if pos.exists():
                os.replace(pos, f"{target}.pos")
            os.replace(path, target)
        except FileNotFoundError:
            return 0  # another process adopted it first
        segment = _Segment(target, sealed=True)
        data = target.read_bytes()
        confirmed = _read_position(Path(f"{target}.pos"))
        # A crash mid-write can leave a partial last line: it is not a document.
        complete = data.rfind(b"\n") + 1
        segment.size = complete
        segment.records = data.count(b"\n")
        segment.confirmed = segment.read_offset = min(confirmed, complete)
        segment.confirmed_records = segment.read_records = data.count(b"\n", 0, segment.confirmed)
        if segment.confirmed >= segment.size:
            self._delete(segment)
            return 0
        self._segments.append(segment)
        self._by_name[segment.name] = segment
        return segment.records - segment.confirmed_records

    # -- writing -------------------------------------------------------------------

    def append(self, data: bytes, count: int) -> tuple[int, int]:
        """Append a batch to this process's newest segment, dropping by policy when full."""
        if len(data) > self.segment_bytes:
            return _append_pieces(self._append, data, self.segment_bytes)
        return self._append(data, count)

    def _append(self, data: bytes, count: int) -> tuple[int, int]:
        if len(data) > self.max_bytes - self.segment_bytes:  # one line larger than the spool
            return 0, count
        if self.policy == "drop_newest" and self._disk_bytes() + len(data) > self.max_bytes:
            return 0, count
        dropped = 0
        while self._disk_bytes() + len(data) > self.max_bytes and self._segments:
            dropped += self._drop_oldest()
        segment = self._active_segment()
        assert segment.write_fd is not None  # noqa: S101 - opened by _active_segment
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(segment.write_fd, view) :]
        except OSError:
            # Disk full or gone: cut the partial batch off so offsets stay right.
            with contextlib.suppress(OSError):
                os.ftruncate(segment.write_fd, segment.size)
            self._seal(segment)
            raise
        segment.size += len(data)
        segment.records += count
        return count, dropped

    def _active_segment(self) -> _Segment:
        last = self._segments[-1] if self._segments else None
        if last is not None and not last.sealed and last.size < self.segment_bytes:
            return last
        if last is not None and not last.sealed:
            self._seal(last)
        if not self.owner:
            self.open()
        name = f"{time.time_ns():020d}-{self.owner}{SEGMENT_SUFFIX}"
        path = self.directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | _CLOEXEC, 0o600)
        segment = _Segment(path, write_fd=fd)
        self._segments.append(segment)
        self._by_name[name] = segment
        return segment

    def _seal_active(self) -> None:
        for segment in self._segments:
            if not segment.sealed:
                self._seal(segment)

    def _seal(self, segment: _Segment) -> None:
        segment.sealed = True
        if segment.write_fd is not None:
            _close(segment.write_fd)
            segment.write_fd = None

    def _drop_oldest(self) -> int:
        oldest = self._segments[0]
        dropped = oldest.records - oldest.confirmed_records
        self._delete(oldest)
        return dropped

    def _disk_bytes(self) -> int:
        return sum(segment.size for segment in self._segments)

    # -- reading -------------------------------------------------------------------

    def read(self, max_bytes: int) -> tuple[bytes, int, Position] | None:
        """The next whole lines of the oldest segment with unread data."""
        for segment in self._segments:
            if segment.read_offset < segment.size:
                break
        else:
            return None
        if segment.read_fd is None:
            segment.read_fd = os.open(segment.path, os.O_RDONLY | _CLOEXEC)
        want = min(max(max_bytes, 1), segment.size - segment.read_offset)
        while True:
            chunk = _pread(segment.read_fd, want, segment.read_offset)
            end = chunk.rfind(b"\n") + 1
            if end or segment.read_offset + len(chunk) >= segment.size:
                break
            want *= 2  # one line longer than max_bytes
        if not end:  # cannot happen for our own segments; adopted ones are cut to whole lines
            segment.read_offset = segment.size
            return None
        chunk = chunk[:end]
        count = chunk.count(b"\n")
        segment.read_offset += end
        segment.read_records += count
        return chunk, count, Position(segment.name, segment.read_offset, count)

    def confirm(self, position: Position) -> None:
        """Record delivery up to ``position``; delete segments delivered in full."""
        segment = self._by_name.get(position.segment)
        if segment is None:
            return  # dropped by the policy while in flight
        segment.confirmed = max(segment.confirmed, position.offset)
        segment.confirmed_records += position.records
        if segment.confirmed >= segment.size:
            self._delete(segment)  # the next append starts a new segment
            return
        now = time.monotonic()
        if now - segment.saved_at < _SAVE_POSITION_EVERY:
            return  # a crash now re-sends at most this many seconds of documents
        segment.saved_at = now
        self._save_position(segment)

    def _save_position(self, segment: _Segment) -> None:
        if segment.pos_fd is None:
            flags = os.O_WRONLY | os.O_CREAT | _CLOEXEC
            segment.pos_fd = os.open(f"{segment.path}.pos", flags, 0o600)
        _pwrite(segment.pos_fd, f"{segment.confirmed:020d}".encode(), 0)

    def rewind(self) -> None:
        """Unconfirmed documents are read again."""
        for segment in self._segments:
            segment.read_offset = segment.confirmed
            segment.read_records = segment.confirmed_records

    def has_unread(self) -> bool:
        """Whether any segment has unread lines."""
        return any(s.read_offset < s.size for s in self._segments)

    @property
    def pending_records(self) -> int:
        """Documents stored and not yet confirmed."""
        return sum(s.records - s.confirmed_records for s in self._segments)

    @property
    def pending_bytes(self) -> int:
        """Bytes stored and not yet confirmed."""
        return sum(s.size - s.confirmed for s in self._segments)

    # -- lifecycle -----------------------------------------------------------------

    def _delete(self, segment: _Segment) -> None:
        for fd in (segment.write_fd, segment.read_fd, segment.pos_fd):
            if fd is not None:
                _close(fd)
        segment.write_fd = segment.read_fd = segment.pos_fd = None
        with contextlib.suppress(OSError):
            segment.path.unlink()
        with contextlib.suppress(OSError):
            Path(f"{segment.path}.pos").unlink()
        with contextlib.suppress(ValueError):
            self._segments.remove(segment)
        self._by_name.pop(segment.name, None)

    def close(self) -> None:
        """Close every file and give up ownership: leftovers become adoptable."""
        for segment in self._segments:
            if segment.confirmed:
                with contextlib.suppress(OSError):
                    self._save_position(segment)
            for fd in (segment.write_fd, segment.read_fd, segment.pos_fd):
                if fd is not None:
                    _close(fd)
            segment.write_fd = segment.read_fd = segment.pos_fd = None
            segment.sealed = True
        self._segments.clear()
        self._by_name.clear()
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                (self.directory / f"{self.owner}.lock").unlink()
            _close(self._lock_fd)
            self._lock_fd = None
        self.owner = ""

    def after_fork_in_child(self) -> None:
        """Drop the parent's descriptors (its lock stays held by the parent) and segments."""
        for segment in self._segments:
            for fd in (segment.write_fd, segment.read_fd, segment.pos_fd):
                if fd is not None:
                    _close(fd)
        self._segments.clear()
        self._by_name.clear()
        if self._lock_fd is not None:
            _close(self._lock_fd)  # flock belongs to the open file: the parent keeps it
            self._lock_fd = None
        self.owner = ""  # claimed again on the first append or adoption


def _append_pieces(
    append: Callable[[bytes, int], tuple[int, int]], data: bytes, size: int
) -> tuple[int, int]:
    """Append ``data`` in pieces of whole lines of about ``size`` bytes each."""
    stored = dropped = start = 0
    while start < len(data):
        end = data.rfind(b"\n", start, start + size) + 1 or data.find(b"\n", start) + 1
        end = end or len(data)
        piece = data[start:end]
        kept, lost = append(piece, piece.count(b"\n"))
        stored += kept
        dropped += lost
        start = end
    return stored, dropped


def _owner_is_dead(lock: Path) -> bool:
    """Whether nobody holds ``lock``: its owner died (locks die with their process)."""
    if sys.platform == "win32":  # pragma: no cover - no flock: never adopt a live process's
        return False
    try:
        fd = os.open(lock, os.O_RDWR | _CLOEXEC)
    except OSError:
        return False
    try:
        return try_lock_exclusive(fd)
    finally:
        _close(fd)


def _parse_segment(name: str) -> tuple[str, str]:
    """``(created, owner)`` of a segment file name, or ``("", "")``."""
    stem = name[: -len(SEGMENT_SUFFIX)]
    created, _, owner = stem.partition("-")
    if len(created) != 20 or not created.isdigit():
        return "", ""
    return created, owner


def _read_position(path: Path) -> int:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeError):
        return 0
    return int(text) if text.isdigit() else 0


def _pread(fd: int, size: int, offset: int) -> bytes:
    """``os.pread``, or seek and read where it is missing (Windows; one thread reads)."""
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)  # pragma: no cover - Windows
    return os.read(fd, size)  # pragma: no cover - Windows


def _pwrite(fd: int, data: bytes, offset: int) -> None:
    if hasattr(os, "pwrite"):
        os.pwrite(fd, data, offset)
        return
    os.lseek(fd, offset, os.SEEK_SET)  # pragma: no cover - Windows
    os.write(fd, data)  # pragma: no cover - Windows


def _close(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
