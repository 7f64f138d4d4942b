"""Fetching windows from JSON-lines files: chunking, skipping, plans and rotation."""

from __future__ import annotations

import gc
import gzip
import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mlmon_elk.analyzer import fetch as fetch_module
from mlmon_elk.analyzer.fetch import FileSource, ModelFetch
from mlmon_elk.errors import DataError, SourceError
from mlmon_elk.profile.baseline import ModelBaselines
from mlmon_elk.profile.native_lines import DISABLE_VARIABLE, NativeSchema, line_schema
from mlmon_elk.profile.records import WindowCounter
from mlmon_elk.sources.files import stamped_outside
from mlmon_elk.windows import Window, format_time
from tests.analyzer.test_fetch_differential import WINDOW, assert_same_profile, mixed_documents
from tests.factories import credit_baseline, prediction, write_jsonl

CREDIT = ModelBaselines("credit", {"1.0": credit_baseline()}, default_version="1.0")


def test_chunk_size_does_not_change_the_profile(tmp_path: Path) -> None:
    """Counting 7 lines at a time or all at once gives the same window profile."""
    write_jsonl(tmp_path / "p.jsonl", mixed_documents(n=250))
    small = FileSource([tmp_path / "p.jsonl"], chunk_rows=7).fetch(CREDIT, WINDOW, history=2)
    whole = FileSource([tmp_path / "p.jsonl"], chunk_rows=100_000).fetch(CREDIT, WINDOW, history=2)
    assert_same_profile(small.window, whole.window)
    assert small.window.versions["1.0"].latency == whole.window.versions["1.0"].latency


def test_lines_outside_the_period_are_not_parsed_and_the_profile_is_the_same(
    tmp_path: Path,
) -> None:
    """Skipping by the handler's timestamp prefix changes nothing but the work done.

    The file mixes the handler's layout (``@timestamp`` first, milliseconds, ``Z``)
    with other layouts (key order, offsets) that must still be parsed and counted.
    """
    docs = mixed_documents(n=300)
    handler_layout = [json.dumps(d, separators=(",", ":")) for d in docs[::2]]
    other_layouts = []
    for d in docs[1::2]:
        moved = {k: v for k, v in d.items() if k != "@timestamp"}
        moved["@timestamp"] = d["@timestamp"].replace("Z", "+00:00")
        other_layouts.append(json.dumps(moved))
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(handler_layout + other_layouts) + "\n")
    fetched = FileSource([path]).fetch(CREDIT, WINDOW, history=2)
    counter = WindowCounter(CREDIT, WINDOW, history=2)
    counter.add(docs)
    assert_same_profile(fetched.window, counter.result())
    assert fetched.window.history == counter.result().history

    outside = stamped_outside(counter.earliest, WINDOW.end)
    after = json.dumps({"@timestamp": format_time(WINDOW.end)}, separators=(",", ":"))
    inside = json.dumps({"@timestamp": format_time(WINDOW.start)}, separators=(",", ":"))
    assert outside(after.encode())
    assert not outside(inside.encode())
    assert not outside(after.replace("Z", "+00:00").encode())  # other layouts: parse


def test_files_last_written_before_the_window_are_not_read(tmp_path: Path) -> None:
    """A rotated file whose last write precedes the window (and its history) is skipped."""
    old = write_jsonl(tmp_path / "p.jsonl.1", [prediction(WINDOW.start, inputs={"age": 1})])
    stamp = (WINDOW.start - timedelta(days=1)).timestamp()
    os.utime(old, (stamp, stamp))
    fetched = FileSource([tmp_path / "p.jsonl*"]).fetch(CREDIT, WINDOW)
    assert fetched.window.versions == {}
    assert fetched.requests == 0
    assert fetched.notes == (f"no prediction files match {[tmp_path / 'p.jsonl*']} for {WINDOW}",)


def test_unreadable_files_fail_with_the_file_name(tmp_path: Path) -> None:
    """A corrupt gzip file is a SourceError naming it, not a crash deep in pandas."""
    path = tmp_path / "p.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"a": 1}\n' * 100)[:30])
    with pytest.raises(SourceError, match=r"cannot read .*p\.jsonl\.gz"):
        FileSource([path]).fetch(CREDIT, Window(datetime(2000, 1, 1, tzinfo=UTC), WINDOW.end))


def _reading_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("mlmon-elk-")]


def test_a_file_read_ahead_on_a_thread_still_fails_the_fetch_with_its_name(
    tmp_path: Path,
) -> None:
    """The native reader reads and decodes ahead on threads of their own: a corrupt file
    met there, with chunks of a good one in flight, fails the fetch as it would in turn
    (a SourceError naming it), and no reading thread outlives a fetch."""
    assert isinstance(line_schema(CREDIT), NativeSchema), "pip install ./native"
    good = write_jsonl(tmp_path / "a.jsonl", mixed_documents(n=250))
    FileSource([good], chunk_rows=7).fetch(CREDIT, WINDOW)
    assert _reading_threads() == []
    corrupt = tmp_path / "b.jsonl.gz"
    corrupt.write_bytes(gzip.compress(b'{"a": 1}\n' * 100)[:30])
    with pytest.raises(SourceError, match=r"cannot read .*b\.jsonl\.gz"):
        FileSource([good, corrupt], chunk_rows=7).fetch(
            CREDIT, Window(datetime(2000, 1, 1, tzinfo=UTC), WINDOW.end)
        )
    assert _reading_threads() == []


def test_a_file_shared_by_models_is_parsed_only_for_each_ones_own_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file two models log to gives each model the profile of its own lines alone, and
    a fetch parses only the lines that can be its model's: the other model's are passed
    over unparsed, unless the name cannot be ruled out without parsing (here: it is the
    value of another field), and then they are parsed and dropped. A line naming the
    model with an escape is parsed and counted."""
    docs = [d for d in mixed_documents(n=300) if d["mlmon"]["model"]["name"] == "credit"]
    fraud = [
        {**d, "mlmon": {**d["mlmon"], "model": {"name": "fraud", "version": "1.0"}}} for d in docs
    ]
    fraud_lines = [json.dumps(d) for d in fraud]
    assert not any("\\" in line for line in fraud_lines), "no escape: the name rules them out"
    escaped = json.dumps(docs[0]).replace('"credit"', '"cr\\u0065dit"')
    naming = json.dumps({**fraud[0], "service": {"name": "credit"}})
    credit_lines = [escaped, *(json.dumps(d) for d in docs[1:])]
    interleaved = [line for pair in zip(credit_lines, fraud_lines, strict=True) for line in pair]
    shared = tmp_path / "shared.jsonl"
    shared.write_text("\n".join([*interleaved, naming]) + "\n")

    parsed: list[bytes] = []
    decoded = fetch_module._decoded

    def counted(schemas: Any, chunks: Iterator[tuple[Path, list[bytes]]]) -> Any:
        def passed() -> Iterator[tuple[Path, list[bytes]]]:
            for path, chunk in chunks:
                parsed.extend(chunk)
                yield path, chunk

        return decoded(schemas, passed())

    monkeypatch.setattr(fetch_module, "_decoded", counted)
    fetched = FileSource([shared]).fetch(CREDIT, WINDOW, history=2)
    assert sorted(parsed) == sorted(line.encode() for line in [*credit_lines, naming])
    alone = FileSource([write_jsonl(tmp_path / "alone.jsonl", docs)])
    assert_same_profile(fetched.window, alone.fetch(CREDIT, WINDOW, history=2).window)
    assert fetched.window.versions, "credit's predictions were counted"


def _renamed(docs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [
        {**d, "mlmon": {**d["mlmon"], "model": {**d["mlmon"]["model"], "name": name}}} for d in docs
    ]


@pytest.mark.parametrize("reader", ["native", "python"])
def test_models_sharing_a_file_are_counted_in_one_pass(
    tmp_path: Path, reader: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a source expects several models, the first model's fetch reads the shared file
    for all of them: the others' fetches read nothing and give what each model's own
    fetch gives — its own lines alone, a line naming it with an escape or indented
    included — whichever reader decodes them."""
    if reader == "python":
        monkeypatch.setenv(DISABLE_VARIABLE, "0")
    docs = [d for d in mixed_documents(n=300) if d["mlmon"]["model"]["name"] == "credit"]
    fraud_docs = _renamed(docs[::2], "fraud")
    credit_lines = [json.dumps(d) for d in docs]
    credit_lines[0] = credit_lines[0].replace('"credit"', '"cr\\u0065dit"')
    fraud_lines = [json.dumps(d) for d in fraud_docs]
    shared = tmp_path / "shared.jsonl"
    lines = [*credit_lines, *fraud_lines, "not json", "  " + fraud_lines[0]]
    shared.write_text("\n".join(sorted(lines, key=lambda line: line[::-1])) + "\n")
    fraud = ModelBaselines("fraud", {"1.0": credit_baseline()}, default_version="1.0")

    source = FileSource([shared])
    source.expect([ModelFetch(CREDIT, history=2), ModelFetch(fraud, history=2)])
    together = [source.fetch(CREDIT, WINDOW, history=2), source.fetch(fraud, WINDOW, history=2)]
    shared.unlink()  # nothing left to read: the second fetch was counted in the first's pass

    assert [f.requests for f in together] == [1, 0]
    credit_alone = write_jsonl(tmp_path / "credit.jsonl", docs)
    fraud_alone = write_jsonl(tmp_path / "fraud.jsonl", [*fraud_docs, fraud_docs[0]])
    for fetched, model, alone in [
        (together[0], CREDIT, credit_alone),
        (together[1], fraud, fraud_alone),
    ]:
        assert fetched.window.count > 0
        assert_same_profile(
            fetched.window, FileSource([alone]).fetch(model, WINDOW, history=2).window
        )


def test_a_line_that_is_no_object_is_reported_once_in_a_shared_pass(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Read for two models at once, a broken line is still one broken line."""
    docs = [d for d in mixed_documents(n=20) if d["mlmon"]["model"]["name"] == "credit"]
    path = tmp_path / "shared.jsonl"
    body = [json.dumps(d) for d in [*docs, *_renamed(docs, "fraud")]]
    path.write_text("\n".join([*body, "not json", "[1, 2]"]) + "\n")
    fraud = ModelBaselines("fraud", {"1.0": credit_baseline()}, default_version="1.0")
    source = FileSource([path])
    source.expect([ModelFetch(CREDIT), ModelFetch(fraud)])
    with caplog.at_level("WARNING", logger="mlmon_elk.analyzer.fetch"):
        source.fetch(CREDIT, WINDOW)
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: skipped 2 lines that are not JSON objects"
    ]


def test_a_model_fetched_with_other_settings_than_expected_is_counted_again(
    tmp_path: Path,
) -> None:
    """What was counted ahead for another model holds only for the history and percentiles
    it was counted with."""
    docs = mixed_documents(n=100)
    path = write_jsonl(tmp_path / "p.jsonl", [*docs, *_renamed(docs, "fraud")])
    fraud = ModelBaselines("fraud", {"1.0": credit_baseline()}, default_version="1.0")
    source = FileSource([path])
    source.expect([ModelFetch(CREDIT), ModelFetch(fraud)])
    assert source.fetch(CREDIT, WINDOW).requests == 1
    again = source.fetch(fraud, WINDOW, history=1)
    assert again.requests == 1
    alone = FileSource([path]).fetch(fraud, WINDOW, history=1)
    assert again.window.history == alone.window.history != ()
    assert_same_profile(again.window, alone.window)


def test_a_source_needs_paths() -> None:
    """An empty path list is a configuration mistake, said plainly."""
    with pytest.raises(DataError, match="at least one path"):
        FileSource([])


def test_a_planned_backfill_reads_the_files_once(tmp_path: Path) -> None:
    """After plan(), the first fetch counts every planned window in one pass over the files:
    the later windows come out the same as fetched one by one, even once the file is gone."""
    path = write_jsonl(tmp_path / "p.jsonl", mixed_documents(n=400))
    windows = [*WINDOW.preceding(3), WINDOW]
    one_by_one = [FileSource([path]).fetch(CREDIT, w, history=1) for w in windows]
    source = FileSource([path])
    source.plan(windows)
    first = source.fetch(CREDIT, windows[0], history=1)
    path.unlink()
    planned = [first, *(source.fetch(CREDIT, w, history=1) for w in windows[1:])]
    assert [f.requests for f in planned] == [1, 0, 0, 0]
    for alone, together in zip(one_by_one, planned, strict=True):
        assert together.window.versions, "every window has predictions"
        assert_same_profile(together.window, alone.window)


def test_a_fetch_with_other_baselines_is_counted_afresh(tmp_path: Path) -> None:
    """Profiles counted ahead for a plan hold only for the baselines they were counted with."""
    path = write_jsonl(tmp_path / "p.jsonl", mixed_documents(n=100))
    windows = [*WINDOW.preceding(1), WINDOW]
    source = FileSource([path])
    source.plan(windows)
    source.fetch(CREDIT, windows[0])
    other = ModelBaselines("credit", {"1.0": credit_baseline()}, default_version="1.0")
    assert source.fetch(other, WINDOW).requests == 1


def test_reading_leaves_the_garbage_collector_as_it_was(tmp_path: Path) -> None:
    """The collector is paused only while chunks are counted, and a paused one stays paused."""
    path = write_jsonl(tmp_path / "p.jsonl", mixed_documents(n=20))
    FileSource([path]).fetch(CREDIT, WINDOW)
    assert gc.isenabled()
    gc.disable()
    try:
        FileSource([path]).fetch(CREDIT, WINDOW)
        assert not gc.isenabled()
    finally:
        gc.enable()
