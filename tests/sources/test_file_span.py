"""The period prediction files hold, from their first and last lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from mlmon_elk.sources.file_span import file_span
from tests.factories import write_jsonl


def doc(t: datetime, dataset: str = "mlmon.prediction") -> dict[str, object]:
    return {"@timestamp": t.isoformat(), "event": {"dataset": dataset}}


def test_spans_plain_and_gzipped_files_and_skips_counters(tmp_path: Path) -> None:
    t0 = datetime(2018, 11, 1, tzinfo=UTC)
    write_jsonl(tmp_path / "a.jsonl", [doc(t0 + timedelta(minutes=i)) for i in range(50)])
    write_jsonl(
        tmp_path / "b.jsonl.gz",
        [doc(t0 + timedelta(days=1, minutes=i)) for i in range(50)]
        + [doc(datetime(2026, 12, 3, tzinfo=UTC), "mlmon.shipper")],
        gzipped=True,
    )
    span = file_span([tmp_path / "a.jsonl", tmp_path / "b.jsonl.gz"])
    assert span is not None
    assert span.first == t0
    assert span.last == t0 + timedelta(days=1, minutes=49)
    assert span.files == 2


def test_no_timestamps_is_none(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text("not json\n")
    assert file_span([tmp_path / "a.jsonl", tmp_path / "missing.jsonl"]) is None
