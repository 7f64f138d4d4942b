"""The background sender: the only thread that touches the network, the spool or files.

The serving app's thread calls :meth:`Sender.submit` with finished JSON lines;
that appends to a bounded in-memory queue and returns. The sender thread
takes batches from the queue and hands them to the transport. When delivery
fails it backs off (exponential, with jitter) and, meanwhile, moves
everything into the spool; once the peer answers again it replays the spool
oldest first, and new documents queue up behind the spool so order holds.

Delivery is at-least-once. A transport with a resend window (TCP) keeps the
last bytes it sent and, if the connection turns out broken, they are sent
again: such documents may arrive twice and are counted as ``resent``. A
transport whose peer answers per document (bulk ``create`` with fixed ids)
turns a resend into an acknowledged ``duplicate`` instead of a second copy.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Final, NamedTuple

from mlmon_elk.errors import ConfigError
from mlmon_elk.producer.diagnostics import Diagnostics
from mlmon_elk.producer.spool import MemorySpool, Position, Spool, SpoolPolicy, check_limits
from mlmon_elk.producer.transports import DeliveryError, LazyTransport, Receipt, Transport
from mlmon_elk.retry import backoff_delay

_ADOPT_EVERY = 30.0  # seconds between looks for dead processes' spool segments
_SPOOL_TAKE_BYTES = 32 * 1024 * 1024


AUTO: Final = "auto"
"""``spool_dir`` default: a disk spool for network destinations, memory otherwise."""

_MiB = 1024 * 1024


@dataclass(frozen=True)
class DeliveryOptions:
    """How documents are queued, batched, retried, spooled and flushed at shutdown."""

    queue_size: int = 50_000
    """Log calls waiting in memory; beyond this new ones are dropped and counted."""
    batch_bytes: int = 4 * _MiB
    """Bytes per send (one TCP write, one HTTP request)."""
    flush_interval: float = 0.2
    """Seconds the sender sleeps when idle; documents wait at most about this long."""
    close_timeout: float = 5.0
    """Seconds ``close()`` may take to deliver or spool what is left."""
    counters_interval: float = 60.0
    """Seconds between shipper documents (0 turns them off)."""
    backoff_initial: float = 0.5
    """First retry delay in seconds, doubled per failure…"""
    backoff_max: float = 30.0
    """…up to this, with jitter."""
    spool_dir: str | os.PathLike[str] | None = AUTO
    """Directory of the on-disk spool; ``"auto"`` uses a per-user directory under
    the system temporary directory for network destinations and memory for
    ``file://``/``stdout``; ``None`` keeps the spool in memory (lost on exit)."""
    spool_max_bytes: int = 256 * _MiB
    """Size limit of the spool."""
    spool_full: SpoolPolicy = "drop_oldest"
    """``"drop_oldest"`` or ``"drop_newest"``."""

    def __post_init__(self) -> None:
        for name in ("queue_size", "batch_bytes"):
            if getattr(self, name) < 1:
                msg = f"{name}: expected a positive number, got {getattr(self, name)!r}"
                raise ConfigError(msg)
        for name in ("flush_interval", "close_timeout", "counters_interval", "backoff_initial"):
            if getattr(self, name) < 0:
                msg = f"{name}: expected a number ≥ 0, got {getattr(self, name)!r}"
                raise ConfigError(msg)
        if self.backoff_max < self.backoff_initial:
            msg = f"backoff_max: expected at least backoff_initial ({self.backoff_initial})"
            raise ConfigError(msg)
        check_limits(self.spool_max_bytes, self.spool_segment_bytes, self.spool_full)

    @property
    def spool_segment_bytes(self) -> int:
        """Segments of 4 MiB, smaller for small spools (at least two segments fit)."""
        return max(min(4 * _MiB, self.spool_max_bytes // 8), 1)


@dataclass(frozen=True)
class ShipperCounters:
    """Delivery counters of one handler in one process (documents, not log calls).

    ``logged`` counts documents the sender has taken from the queue (plus any
    dropped because the queue was full); ``sent`` every document handed to
    the peer, including replays and resends; ``spooled`` those written to the
    spool; ``replayed`` those sent from the spool; ``dropped`` those discarded
    by policy (full queue, full spool, shutdown without a disk spool);
    ``errors`` failed delivery attempts and internal errors; ``resent``
    documents sent again after a broken connection (possible duplicates).
    A peer that answers per document (the bulk transport) also says, of the
    documents counted in ``sent``: ``duplicates`` it already had (a resend,
    acknowledged and not written again) and ``rejected`` it refused for good
    (not delivered; the reason is in the diagnostics).
    ``queued``, ``spool_records`` and ``spool_bytes`` are current levels.
    """

    logged: int = 0
    sent: int = 0
    spooled: int = 0
    replayed: int = 0
    dropped: int = 0
    errors: int = 0
    resent: int = 0
    duplicates: int = 0
    rejected: int = 0
    queued: int = 0
    spool_records: int = 0
    spool_bytes: int = 0

    GAUGES = ("queued", "spool_records", "spool_bytes")

    def as_dict(self) -> dict[str, int]:
        """Field name → value."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def since(self, earlier: ShipperCounters) -> dict[str, int]:
        """Counter increments since ``earlier``; levels as they are now."""
        now, before = self.as_dict(), earlier.as_dict()
        return {k: val if k in self.GAUGES else val - before[k] for k, val in now.items()}


class _Sent(NamedTuple):
    """A batch handed to a transport with a resend window, not yet known received."""

    end: int
    data: bytes
    records: int
    position: Position | None


class Sender:
    """Queue, background thread, transport, spool and counters of one handler."""

    def __init__(
        self,
        transport_factory: Callable[[], Transport],
        spool_factory: Callable[[], Spool],
        settings: DeliveryOptions,
        *,
        shipper_document: Callable[[dict[str, int]], bytes] | None = None,
        diagnostics: Diagnostics | None = None,
        name: str = "mlmon-elk-sender",
    ) -> None:
        self.settings = settings
        self._transport_factory = transport_factory
        self._spool_factory = spool_factory
        self._shipper_document = shipper_document
        self.diagnostics = diagnostics or Diagnostics()
        self._name = name
        self._reset()

    def _reset(self) -> None:
        """Fresh state: at construction and in the child after ``fork()``."""
        self._pid = os.getpid()
        self._queue: deque[bytes] = deque()
        self._queue_size = self.settings.queue_size
        self._spill_at = self.settings.queue_size // 2
        # Woken by the callers every few thousand documents (or by its own timer):
        # each wake-up takes the GIL from the serving threads once.
        self._wake_at = max(1, min(4096, self.settings.queue_size // 4))
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._flush_waiters: list[threading.Event] = []
        self._thread: threading.Thread | None = None
        self._closed = False
        self.thread_ident: int | None = None
        self._transport: Transport | None = None
        self._spool: Spool | None = None
        self._window: deque[_Sent] = deque()
        self._sent_bytes = 0
        self._attempt = 0
        self._retry_at = 0.0
        self._logged = self._sent = self._spooled = self._replayed = 0
        self._dropped = self._errors = self._resent = 0
        # Taken from the queue and not yet sent, spooled or counted as dropped: what an
        # internal error would otherwise lose uncounted.
        self._in_hand = 0
        self._duplicates = self._rejected = 0
        self._caller_dropped = self._caller_errors = 0
        self._reported = ShipperCounters()
        self._next_counters = time.monotonic() + self.settings.counters_interval
        self._next_adopt = time.monotonic() + _ADOPT_EVERY

    # -- the caller's side -----------------------------------------------------------

    def submit(self, data: bytes) -> None:
        """Queue finished lines for delivery; O(1), never blocks, never raises."""
        queue = self._queue
        if len(queue) < self._queue_size and self._thread is not None:
            queue.append(data)
            if len(queue) == self._wake_at:
                self._wake_sender()
            return
        self._submit_slow(data)

    def _wake_sender(self) -> None:
        if self._pid != os.getpid():
            self._forked_without_hook()
        self._wake.set()

    def _forked_without_hook(self) -> None:
        """A child whose at-fork hook did not run (fork from C): take over what is queued.

        The queue may still hold what the parent had queued: sent twice then.
        """
        queued = self._queue
        self.after_fork_in_child()
        self._queue.extend(queued)
        self.start()

    def _submit_slow(self, data: bytes) -> None:
        if self._pid != os.getpid():
            self._forked_without_hook()
        if self._closed:
            self.drop(data.count(b"\n"), "closed", "the handler is closed; documents are dropped")
            return
        if self._thread is None:
            self.start()
        if len(self._queue) < self._queue_size:
            self._queue.append(data)
            return
        self._wake.set()
        self.drop(
            data.count(b"\n"),
            "queue-full",
            "queue full (%d log calls waiting): documents dropped; raise queue_size"
            " or find out why delivery is slow",
            self._queue_size,
        )

    def drop(self, count: int, key: str, message: str, *args: object) -> None:
        """Count documents lost on the caller's side and say why (rate-limited)."""
        with self._lock:
            self._caller_dropped += count
        self.diagnostics.warning(key, message, *args)

    def error(self, key: str, message: str, *args: object) -> None:
        """Count an internal error on the caller's side and say what it was (rate-limited)."""
        with self._lock:
            self._caller_errors += 1
        self.diagnostics.warning(key, message, *args)

    def counters(self) -> ShipperCounters:
        """A snapshot of the counters (the sender updates them as it works)."""
        spool = self._spool
        return ShipperCounters(
            logged=self._logged + self._caller_dropped,
            sent=self._sent,
            spooled=self._spooled,
            replayed=self._replayed,
            dropped=self._dropped + self._caller_dropped,
            errors=self._errors + self._caller_errors,
            resent=self._resent,
            duplicates=self._duplicates,
            rejected=self._rejected,
            queued=len(self._queue),
            spool_records=spool.pending_records if spool is not None else 0,
            spool_bytes=spool.pending_bytes if spool is not None else 0,
        )

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the thread (idempotent; also restarts it in a forked child)."""
        with self._lock:
            if self._thread is not None or self._closed:
                return
            thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            thread.start()
            self._thread = thread

    def flush(self, timeout: float) -> bool:
        """Wait until everything submitted so far was delivered or spooled."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return not self._queue
        done = threading.Event()
        with self._lock:
            self._flush_waiters.append(done)
        self._wake.set()
        return done.wait(timeout)

    def close(self) -> None:
        """Deliver or spool what is left within ``close_timeout``; stop the thread."""
        if self._pid != os.getpid():
            self._forked_without_hook()
        with self._lock:
            self._closed = True
            self._queue_size = 0  # every later submit takes the slow path, which drops it
            thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        self._wake.set()
        if thread is not threading.current_thread():
            thread.join(self.settings.close_timeout + 2.0)

    def after_fork_in_child(self) -> None:
        """Give the child its own queue, thread, connection and spool segments.

        What the parent had queued stays the parent's to deliver; the child's
        copy of the connection is closed without disturbing the parent's.
        """
        transport, spool = self._transport, self._spool
        self._reset()
        with contextlib.suppress(Exception):
            if transport is not None:
                transport.discard()
        with contextlib.suppress(Exception):
            if spool is not None:
                spool.after_fork_in_child()

    # -- the sender thread -----------------------------------------------------------

    def _run(self) -> None:
        self.thread_ident = threading.get_ident()
        self._open()
        interval = self.settings.flush_interval
        while not self._stopping.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            self._guarded_cycle()
        self._finish()

    def _open(self) -> None:
        self._transport = LazyTransport(self._transport_factory)
        try:
            self._spool = self._spool_factory()
            adopted = self._spool.adopt()
        except Exception as exc:  # e.g. the spool directory is not writable
            self._errors += 1
            self._spool = MemorySpool(max_bytes=64 * 1024 * 1024)
            self.diagnostics.warning(
                "spool-open",
                "cannot use the disk spool (%s); spooling in memory instead",
                exc,
            )
            return
        if adopted:
            self.diagnostics.info(
                "adopted", "found %d undelivered documents from an earlier process", adopted
            )

    def _guarded_cycle(self) -> None:
        try:
            self._cycle()
        except Exception as exc:  # a bug must not kill the only thread that delivers
            self._errors += 1
            lost, self._in_hand = self._in_hand, 0
            self._dropped += lost
            self._schedule_retry()
            self.diagnostics.warning(
                "internal", "internal error in the sender: %d documents dropped: %r", lost, exc
            )
        self._notify_flushers()

    def _cycle(self) -> None:
        now = time.monotonic()
        spool, transport = self._spool, self._transport
        assert spool is not None  # noqa: S101 - set by _open
        assert transport is not None  # noqa: S101 - set by _open
        if spool.persistent and now >= self._next_adopt:
            self._next_adopt = now + _ADOPT_EVERY
            if spool.adopt():
                self.diagnostics.info("adopted", "adopted documents left by a dead process")
        if self.settings.counters_interval and now >= self._next_counters:
            self._next_counters = now + self.settings.counters_interval
            self._queue_shipper_document()
        self._pump()
        if self._window and not self._queue and now >= self._retry_at:
            try:
                transport.check()
            except DeliveryError as exc:
                self._failed(exc, None)

    def _pump(self, deadline: float | None = None) -> None:
        """Move everything queued to the peer (or, while it is unreachable, the spool)."""
        spool = self._spool
        assert spool is not None  # noqa: S101 - set by _open
        batch_bytes = self.settings.batch_bytes
        while not self._must_stop(deadline):
            backing_off = time.monotonic() < self._retry_at
            # Behind a backlog, or with the queue half full (the peer is slower than the
            # app), everything queued goes to the spool at each turn: the queue overflows
            # (and drops) only if one send outlasts filling it, not while a replay or a
            # slow peer keeps the sender busy.
            backlog = spool.has_unread() or len(self._queue) > self._spill_at
            # Spooling takes everything at once: each system call costs this thread
            # a wait for the GIL while the serving threads run.
            spooling = backing_off or backlog
            data, count = self._take(_SPOOL_TAKE_BYTES if spooling else batch_bytes)
            if backing_off:
                if count:
                    self._spool_taken(data, count)
                if not self._queue:
                    return
            elif backlog:
                if count:
                    self._spool_taken(data, count)  # behind the backlog, to keep order
                chunk = spool.read(batch_bytes)
                if chunk is not None:
                    self._deliver(*chunk)
            elif count:
                self._deliver(data, count, None)
            elif not self._queue:
                return

    def _must_stop(self, deadline: float | None) -> bool:
        """Past the closing deadline, or (outside closing) asked to close: ``_finish`` goes on."""
        if deadline is not None:
            return time.monotonic() >= deadline
        return self._stopping.is_set()

    def _take(self, max_bytes: int) -> tuple[bytes, int]:
        """Up to about ``max_bytes`` from the queue, joined; and its number of documents."""
        queue = self._queue
        if not queue:
            return b"", 0
        # Guess the item count from the first item, check it (batches of rows make
        # items of very different sizes), then pop at C speed (map over
        # deque.popleft): the serving threads wait as little as possible for the GIL.
        items = min(len(queue), max(1, max_bytes // max(len(queue[0]), 1)))
        while items > 1 and sum(map(len, itertools.islice(queue, items))) > max_bytes:
            items //= 2
        data = b"".join(map(deque.popleft, itertools.repeat(queue, items)))
        count = data.count(b"\n")
        self._logged += count
        self._in_hand += count
        return data, count

    def _spool_taken(self, data: bytes, count: int) -> None:
        """Documents taken from the queue into the spool (or counted as dropped there)."""
        self._to_spool(data, count)
        self._in_hand -= count

    def _deliver(self, data: bytes, count: int, position: Position | None) -> bool:
        transport, spool = self._transport, self._spool
        assert transport is not None  # noqa: S101 - set by _open
        assert spool is not None  # noqa: S101 - set by _open
        taken = count if position is None else 0  # from the queue, not the spool
        try:
            receipt = transport.send(data, self._spill_while_waiting)
        except Exception as exc:  # a bug in a transport too: the batch is kept, as for an outage
            if not isinstance(exc, DeliveryError):
                self.diagnostics.warning("internal", "internal error in the transport: %r", exc)
            self._failed(exc, _Sent(0, data, count, position))
            self._in_hand -= taken
            return False
        self._sent += count
        self._in_hand -= taken
        if receipt is not None:
            self._count_receipt(receipt)
        if position is not None:
            self._replayed += count
        if self._attempt:
            self._attempt = 0
            self.diagnostics.info("recovered", "delivering again")
        if not transport.resend_window:
            if position is not None:
                spool.confirm(position)
            return True
        self._sent_bytes += len(data)
        window = self._window
        window.append(_Sent(self._sent_bytes, data, count, position))
        oldest_start = window[0].end - len(window[0].data)
        if self._sent_bytes - oldest_start > transport.resend_window:  # ask the kernel only then
            limit = self._sent_bytes - transport.unacknowledged() - transport.resend_window
            while window and window[0].end <= limit:
                done = window.popleft()
                if done.position is not None:
                    spool.confirm(done.position)
        return True

    def _spill_while_waiting(self) -> None:
        """A send waits on a peer that reads nothing (Logstash under backpressure): what
        is queued goes to the spool meanwhile, as behind a backlog, so the queue keeps
        room for the app instead of filling and dropping; the spool is sent after.

        Nothing raised here may reach the transport: it would break off the send
        under way, half a line written.
        """
        if len(self._queue) <= self._spill_at:
            return
        data, count = self._take(_SPOOL_TAKE_BYTES)
        try:
            self._spool_taken(data, count)
        except Exception as exc:  # a bug: counted, the send goes on
            self._errors += 1
            self._dropped += count
            self._in_hand -= count
            self.diagnostics.warning(
                "internal", "internal error while spooling: %d documents dropped: %r", count, exc
            )

    def _count_receipt(self, receipt: Receipt) -> None:
        self._duplicates += receipt.duplicates
        if receipt.rejected:
            self._rejected += receipt.rejected
            self.diagnostics.warning(
                "rejected",
                "%d documents rejected by the cluster and not delivered (first: %s)",
                receipt.rejected,
                receipt.first_rejection,
            )

    def _failed(self, exc: Exception, current: _Sent | None) -> None:
        """Keep what may not have arrived: rewind the spool, spool the rest, back off."""
        spool = self._spool
        assert spool is not None  # noqa: S101 - set by _open
        self._errors += 1
        unsure = list(self._window)
        self._window.clear()
        self._resent += sum(entry.records for entry in unsure)
        if current is not None:
            unsure.append(current)
        if any(entry.position is not None for entry in unsure):
            spool.rewind()
        for entry in unsure:
            if entry.position is None:
                self._to_spool(entry.data, entry.records)
        self._schedule_retry()
        self.diagnostics.warning(
            "delivery",
            "delivery failed (%s); retrying in %.1f s, %d documents spooled",
            exc,
            max(self._retry_at - time.monotonic(), 0.0),
            spool.pending_records,
        )

    def _schedule_retry(self) -> None:
        self._attempt += 1
        delay = backoff_delay(
            self._attempt, self.settings.backoff_initial, self.settings.backoff_max
        )
        self._retry_at = time.monotonic() + delay

    def _to_spool(self, data: bytes, count: int) -> None:
        spool = self._spool
        assert spool is not None  # noqa: S101 - set by _open
        try:
            stored, dropped = spool.append(data, count)
        except OSError as exc:
            self._errors += 1
            self._dropped += count
            self.diagnostics.warning("spool-write", "cannot write the spool (%s): dropped", exc)
            return
        self._spooled += stored
        if dropped:
            self._dropped += dropped
            self.diagnostics.warning(
                "spool-full",
                "spool full: %d documents dropped (policy %s)",
                dropped,
                getattr(spool, "policy", "drop_oldest"),
            )

    def _queue_shipper_document(self) -> None:
        if self._shipper_document is None:
            return
        counters = self.counters()
        try:
            self._queue.append(self._shipper_document(counters.since(self._reported)))
        except Exception as exc:
            self._errors += 1
            self.diagnostics.warning("shipper-doc", "cannot build the shipper document: %r", exc)
        self._reported = counters

    def _notify_flushers(self) -> None:
        if self._queue or not self._flush_waiters:
            return
        with self._lock:
            waiters, self._flush_waiters = self._flush_waiters, []
        for waiter in waiters:
            waiter.set()

    def _finish(self) -> None:
        """Last delivery attempts within ``close_timeout``; the rest to the spool."""
        self.diagnostics.to_stderr = True  # logging may be shutting down around us
        spool, transport = self._spool, self._transport
        assert spool is not None  # noqa: S101 - set by _open
        assert transport is not None  # noqa: S101 - set by _open
        deadline = time.monotonic() + self.settings.close_timeout
        # The last counters: with a disk spool they wait there for the next process like
        # the rest; with a memory spool they are sent only once the user's documents are,
        # so that what is reported lost at shutdown is what the user logged.
        last_counters = bool(self.settings.counters_interval)
        if last_counters and spool.persistent:
            self._queue_shipper_document()
            last_counters = False
        counters_only = False
        try:
            while True:  # the user's documents; then, if they all went, the last counters
                while time.monotonic() < deadline and (self._queue or spool.has_unread()):
                    if time.monotonic() < self._retry_at:
                        if spool.persistent or self._retry_at >= deadline:
                            break  # the next process delivers the spool
                        time.sleep(min(self._retry_at, deadline) - time.monotonic())
                        continue
                    self._pump(deadline)
                if not last_counters or self._queue or spool.has_unread():
                    break
                self._queue_shipper_document()
                last_counters, counters_only = False, True
            while self._queue:
                self._spool_taken(*self._take(self.settings.batch_bytes))
            received = transport.close(max(deadline - time.monotonic(), 0.5))
            if received:
                for entry in self._window:
                    if entry.position is not None:
                        spool.confirm(entry.position)
                self._window.clear()
            elif self._window:
                self._failed(DeliveryError("the peer did not confirm the last bytes"), None)
        except Exception as exc:
            self._errors += 1
            lost, self._in_hand = self._in_hand, 0
            self._dropped += lost
            self.diagnostics.warning(
                "internal", "internal error while closing: %d documents dropped: %r", lost, exc
            )
        if counters_only and spool.pending_records:  # only the handler's own counters
            self._dropped += spool.pending_records
        elif not spool.persistent and spool.pending_records:
            self._dropped += spool.pending_records
            self.diagnostics.warning(
                "lost-at-close",
                "%d documents could not be delivered before shutdown and are lost"
                " (configure spool_dir to keep them on disk)",
                spool.pending_records,
            )
        elif spool.pending_records:
            self.diagnostics.warning(
                "spooled-at-close",
                "%d documents stay in the spool; the next process delivers them",
                spool.pending_records,
            )
        spool.close()
        self._notify_flushers()
