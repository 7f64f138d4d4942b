"""Disk and memory spools: order, bounds, persistence, adoption, fork."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from mlmon_elk.errors import ConfigError
from mlmon_elk.producer.spool import DiskSpool, MemorySpool, Spool

REPO = Path(__file__).resolve().parents[2]


def lines(*ids: str) -> bytes:
    return b"".join(b'{"id":"%s"}\n' % i.encode() for i in ids)


def drain(spool: Spool, max_bytes: int = 1 << 20) -> list[bytes]:
    """Read everything, confirming as we go; the documents in order."""
    out: list[bytes] = []
    while (chunk := spool.read(max_bytes)) is not None:
        data, count, position = chunk
        assert data.count(b"\n") == count
        out.extend(data.splitlines())
        spool.confirm(position)
    return out


def disk(path: Path, **options: object) -> DiskSpool:
    spool = DiskSpool(path, **options)  # type: ignore[arg-type]
    spool.open()
    return spool


@pytest.fixture(params=["disk", "memory"])
def spool(request: pytest.FixtureRequest, tmp_path: Path) -> Spool:
    if request.param == "disk":
        return disk(tmp_path, max_bytes=1 << 20, segment_bytes=100)
    return MemorySpool(max_bytes=1 << 20)


def test_replays_in_order(spool: Spool) -> None:
    """What goes in comes out oldest first, across segments."""
    for i in range(50):
        assert spool.append(lines(f"a{i}", f"b{i}"), 2) == (2, 0)
    assert spool.pending_records == 100
    out = drain(spool, max_bytes=64)
    assert out == [b'{"id":"%s%d"}' % (k, i) for i in range(50) for k in (b"a", b"b")]
    assert spool.pending_records == 0
    assert not spool.has_unread()


def test_rewind_reads_unconfirmed_again(spool: Spool) -> None:
    """After a broken connection, everything read but not confirmed is read again."""
    spool.append(lines("1", "2"), 2)
    spool.append(lines("3"), 1)
    first = spool.read(1 << 20)
    assert first is not None
    spool.rewind()
    assert drain(spool) == [b'{"id":"1"}', b'{"id":"2"}', b'{"id":"3"}']


def test_drop_oldest_when_full(tmp_path: Path) -> None:
    """Full spool, drop_oldest: the oldest segment goes and its documents are counted."""
    spool = disk(tmp_path, max_bytes=400, segment_bytes=100)
    dropped = 0
    for i in range(40):
        stored, lost = spool.append(lines(f"{i:03d}"), 1)
        assert stored == 1
        dropped += lost
    out = drain(spool)
    assert dropped + len(out) == 40
    assert dropped > 0
    assert out[-1] == b'{"id":"039"}'  # the newest survive


def test_drop_newest_when_full() -> None:
    """Full spool, drop_newest: new batches are refused and counted."""
    spool = MemorySpool(max_bytes=30, policy="drop_newest")
    assert spool.append(lines("1"), 1) == (1, 0)
    assert spool.append(lines("2"), 1) == (1, 0)
    assert spool.append(lines("3"), 1) == (0, 1)
    assert drain(spool) == [b'{"id":"1"}', b'{"id":"2"}']


def test_bad_limits_are_config_errors(tmp_path: Path) -> None:
    """An unknown policy or a spool smaller than two segments is refused."""
    with pytest.raises(ConfigError, match="spool_full"):
        DiskSpool(tmp_path, policy="keep_all")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="spool_max_bytes"):
        DiskSpool(tmp_path, max_bytes=100, segment_bytes=100)


def test_delivered_segments_are_deleted(tmp_path: Path) -> None:
    """Confirmed segments leave no file behind."""
    spool = disk(tmp_path, max_bytes=1 << 20, segment_bytes=50)
    for i in range(10):
        spool.append(lines(str(i)), 1)
    assert len(list(tmp_path.glob("*.spool"))) > 1
    drain(spool)
    assert list(tmp_path.glob("*.spool")) == []


def test_the_next_process_resumes_where_delivery_stopped(tmp_path: Path) -> None:
    """After close, a new spool on the directory replays only what was not confirmed."""
    first = disk(tmp_path, max_bytes=1 << 20, segment_bytes=1 << 10)
    first.append(lines("1", "2"), 2)
    first.append(lines("3", "4"), 2)
    chunk = first.read(20)  # the first line only
    assert chunk is not None
    first.confirm(chunk[2])
    first.close()
    second = disk(tmp_path)
    assert second.pending_records == 3
    assert drain(second) == [b'{"id":"2"}', b'{"id":"3"}', b'{"id":"4"}']


def test_a_partial_last_line_is_not_a_document(tmp_path: Path) -> None:
    """A crash in the middle of a write leaves a partial line: it is ignored."""
    name = tmp_path / f"{1:020d}-1-dead.spool"
    name.write_bytes(lines("1") + b'{"id":"2')
    spool = disk(tmp_path)
    assert drain(spool) == [b'{"id":"1"}']


def _spool_in_subprocess(path: Path, count: int) -> subprocess.Popen[str]:
    code = (
        "import sys, time\n"
        "from mlmon_elk.producer.spool import DiskSpool\n"
        f"s = DiskSpool({str(path)!r}); s.open()\n"
        f'for i in range({count}): s.append(b\'{{"id":"%d"}}\\n\' % i, 1)\n'
        "print('ready', flush=True)\n"
        "time.sleep(600)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def test_segments_of_a_killed_process_are_adopted(tmp_path: Path) -> None:
    """A live owner's segments are left alone; after SIGKILL they are adopted and replayed."""
    process = _spool_in_subprocess(tmp_path, 100)
    try:
        spool = disk(tmp_path)
        assert spool.pending_records == 0, "its owner is alive"
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        assert spool.adopt() == 100
        assert drain(spool) == [b'{"id":"%d"}' % i for i in range(100)]
        assert not list(tmp_path.glob("*.lock"))[1:], "the dead owner's lock is gone"
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        assert process.stdout is not None
        process.stdout.close()


def test_new_segments_sort_after_adopted_ones(tmp_path: Path) -> None:
    """Our own writes after an adoption are replayed after what was adopted."""
    spool = disk(tmp_path)
    spool.append(lines("mine-1"), 1)
    (tmp_path / f"{1:020d}-1-dead.spool").write_bytes(lines("old"))
    assert spool.adopt() == 1
    spool.append(lines("mine-2"), 1)
    assert drain(spool) == [b'{"id":"old"}', b'{"id":"mine-1"}', b'{"id":"mine-2"}']


def test_child_after_fork_writes_its_own_segments(tmp_path: Path) -> None:
    """After fork the child owns new segments; the parent's files are untouched."""
    spool = disk(tmp_path)
    spool.append(lines("parent"), 1)
    parent_files = sorted(p.name for p in tmp_path.glob("*.spool"))
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.close(read)
            spool.after_fork_in_child()
            spool.append(lines("child"), 1)
            os.write(write, spool.owner.encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    child_owner = os.read(read, 100).decode()
    os.close(read)
    assert os.waitpid(pid, 0)[1] == 0
    assert child_owner.startswith(f"{pid}-")
    assert sorted(p.name for p in tmp_path.glob(f"*-{spool.owner}.spool")) == parent_files
    assert list(tmp_path.glob(f"*-{child_owner}.spool"))
    assert drain(spool) == [b'{"id":"parent"}']
    spool.adopt()  # the child is dead (exited without closing): its segment is adopted
    assert drain(spool) == [b'{"id":"child"}']


def test_a_batch_larger_than_a_segment_is_split_on_lines(tmp_path: Path) -> None:
    """A batch bigger than a segment (or a quarter of a memory spool) is stored in pieces of
    whole lines, so a small spool still takes it, in order."""
    for spool in (disk(tmp_path, max_bytes=4_000, segment_bytes=500), MemorySpool(max_bytes=4_000)):
        data = lines(*(f"{i:04d}" for i in range(200)))  # 2,800 bytes
        assert spool.append(data, 200) == (200, 0)
        assert drain(spool, max_bytes=333) == data.splitlines()
