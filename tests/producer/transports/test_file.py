"""Rotating JSON-lines files: naming, rotation, compression, several writing processes."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlmon_elk import PredictionHandler
from mlmon_elk.producer.transports import TransportOptions
from mlmon_elk.producer.transports.file import FileTransport, rotated_files, rotated_name

REPO = Path(__file__).resolve().parents[3]


def read_all(active: Path) -> list[bytes]:
    """Every line of the rotated files (plain or gzip) and the active file, in order."""
    out: list[bytes] = []
    for path in [*rotated_files(active), active]:
        if not path.exists():
            continue
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        out.extend(data.splitlines())
    return out


def wait_compressed(active: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(p.suffix == ".gz" for p in rotated_files(active)):
            return
        time.sleep(0.02)


def test_rotated_names_sort_chronologically(tmp_path: Path) -> None:
    """<stem>-<UTC yyyymmddThhmmss.ffffff>Z<suffix>; names sort by time."""
    active = tmp_path / "predictions.jsonl"
    when = dt.datetime(2026, 11, 22, 22, 15, 33, 123456, tzinfo=dt.UTC)
    assert rotated_name(active, when).name == "predictions-20261122T221533.123456Z.jsonl"
    later = rotated_name(active, when + dt.timedelta(microseconds=1))
    assert (
        sorted([later.name, rotated_name(active, when).name])[0] == rotated_name(active, when).name
    )


def test_rotated_files_prefers_the_uncompressed_copy(tmp_path: Path) -> None:
    """While compression runs both copies exist: the listing names the plain one, once."""
    active = tmp_path / "p.jsonl"
    (tmp_path / "p-20260101T000000.000000Z.jsonl.gz").write_bytes(b"")
    (tmp_path / "p-20260101T000001.000000Z.jsonl").write_bytes(b"")
    (tmp_path / "p-20260101T000001.000000Z.jsonl.gz").write_bytes(b"")
    (tmp_path / "p-20260101T000002.000000Z.jsonl.gz.tmp").write_bytes(b"")
    (tmp_path / ".p.jsonl.lock").write_bytes(b"")
    assert [p.name for p in rotated_files(active)] == [
        "p-20260101T000000.000000Z.jsonl.gz",
        "p-20260101T000001.000000Z.jsonl",
    ]


def test_rotation_keeps_every_line(tmp_path: Path) -> None:
    """Past file_max_bytes the file rotates, is gzipped, and no line is lost or split."""
    active = tmp_path / "logs" / "p.jsonl"
    transport = FileTransport(active, TransportOptions(file_max_bytes=300, file_backups=0))
    expected = []
    for i in range(300):
        line = json.dumps({"i": i}).encode() + b"\n"
        expected.append(line.rstrip(b"\n"))
        transport.send(line)
    transport.close(10.0)
    wait_compressed(active)
    assert len(rotated_files(active)) > 5
    assert all(p.suffix == ".gz" for p in rotated_files(active))
    assert read_all(active) == expected


def test_only_the_newest_backups_are_kept(tmp_path: Path) -> None:
    """file_backups bounds the number of rotated files; the oldest go first."""
    active = tmp_path / "p.jsonl"
    options = TransportOptions(file_max_bytes=100, file_backups=3, file_compress=False)
    transport = FileTransport(active, options)
    for i in range(100):
        transport.send(json.dumps({"i": i, "pad": "x" * 40}).encode() + b"\n")
    transport.close(1.0)
    rotated = rotated_files(active)
    assert len(rotated) == 3
    assert read_all(active)[-1].startswith(b'{"i": 99')


_WRITER = """
import sys
from mlmon_elk import PredictionHandler
h = PredictionHandler(sys.argv[1], model="m", counters_interval=0, file_max_bytes=20_000,
                      file_backups=0, batch_bytes=3_000)
for i in range(int(sys.argv[3])):
    h.log_prediction(inputs={"i": i}, prediction_id=f"{sys.argv[2]}-{i}")
h.close()
"""


def test_several_processes_share_one_file(tmp_path: Path) -> None:
    """Two processes writing and rotating the same file: every line once, each valid JSON."""
    active = tmp_path / "p.jsonl"
    url = f"file://{active}"
    count = 3_000
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, url, name, str(count)], cwd=REPO)
        for name in ("a", "b")
    ]
    assert [w.wait(60) for w in writers] == [0, 0]
    wait_compressed(active)
    docs = [json.loads(line) for line in read_all(active)]
    ids = [d["mlmon"]["prediction_id"] for d in docs]
    assert sorted(ids) == sorted(f"{n}-{i}" for n in ("a", "b") for i in range(count))
    assert len(rotated_files(active)) > 3


def test_relative_and_absolute_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """file://dir/name is relative to the working directory, file:///dir/name absolute."""
    monkeypatch.chdir(tmp_path)
    handler = PredictionHandler("file://rel/p.jsonl", model="m", counters_interval=0)
    handler.log_prediction(inputs={"x": 1})
    handler.close()
    absolute = PredictionHandler(f"file://{tmp_path}/abs/p.jsonl", model="m", counters_interval=0)
    absolute.log_prediction(inputs={"x": 1})
    absolute.close()
    assert len((tmp_path / "rel" / "p.jsonl").read_bytes().splitlines()) == 1
    assert len((tmp_path / "abs" / "p.jsonl").read_bytes().splitlines()) == 1
