"""The JSON-lines sink: no duplicates across re-runs or concurrent writers; open alerts."""

from __future__ import annotations

import json
import multiprocessing
from datetime import timedelta
from pathlib import Path

import pytest

from mlmon_elk.contract import Dataset, Status, Transition
from mlmon_elk.errors import SinkError
from mlmon_elk.results.alerts import AlertKey, OpenAlert
from mlmon_elk.results.documents import Document, check_document
from mlmon_elk.sinks.files import FileSink
from tests.sinks.test_elasticsearch import START, STEP, alert, result, runs, window


def documents(n: int = 40) -> list[Document]:
    docs = [check_document(window(i), result(Status.OK, f"f{i}"), "x") for i in range(n)]
    return [*docs, alert(0, Transition.NEW), alert(1, Transition.ONGOING)]


def test_rewriting_the_same_documents_appends_nothing(tmp_path: Path) -> None:
    """A re-run finds every id in the files, also from a fresh sink instance."""
    first = FileSink(tmp_path).write(documents())
    second = FileSink(tmp_path).write(documents())
    assert (first.written, first.existing) == (42, 0)
    assert (second.written, second.existing) == (0, 42)
    lines = (tmp_path / "checks.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 40
    doc = json.loads(lines[0])
    assert doc["event"]["dataset"] == "mlmon.check"
    assert doc["mlmon"]["doc_id"] == documents()[0].id


def _write_in_process(directory: str) -> None:
    FileSink(directory).write(documents())


def test_two_analyzers_at_once_do_not_duplicate(tmp_path: Path) -> None:
    """Three processes writing the same documents together leave each line once."""
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_write_in_process, args=(str(tmp_path),)) for _ in range(3)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(60)
    assert [p.exitcode for p in processes] == [0, 0, 0]
    assert len(FileSink(tmp_path).read(Dataset.CHECK)) == 40
    assert len(FileSink(tmp_path).read(Dataset.ALERT)) == 2


def test_open_alerts_are_read_from_the_alert_file(tmp_path: Path) -> None:
    """The latest alert line per key before the window decides whether it is open."""
    sink = FileSink(tmp_path)
    sink.write(
        [
            alert(0, Transition.NEW),
            alert(1, Transition.ONGOING, severity=Status.CRITICAL),
            alert(0, Transition.NEW, "income"),
            alert(1, Transition.RESOLVED, "income"),
        ]
    )
    assert sink.open_alerts(["credit"], before=START + STEP * 3, since=START) == {
        AlertKey("credit", "1.0", "numeric_drift", "input", "age"): OpenAlert(Status.CRITICAL)
    }
    assert sink.open_alerts(["credit"], before=START + STEP * 2, since=START) == {
        AlertKey("credit", "1.0", "numeric_drift", "input", "age"): OpenAlert(Status.WARNING),
        AlertKey("credit", "1.0", "numeric_drift", "input", "income"): OpenAlert(Status.WARNING),
    }
    assert (
        FileSink(tmp_path / "empty").open_alerts(
            ["credit"], before=START, since=START - timedelta(days=1)
        )
        == {}
    )


def test_the_last_successful_run_is_read_from_the_run_file(tmp_path: Path) -> None:
    """Failed runs and runs of other models do not count; nor do runs before ``since``."""
    sink = FileSink(tmp_path)
    assert sink.last_success(["credit"], since=START) is None  # no file yet
    sink.write(runs())
    assert sink.last_success(["credit"], since=START) == START + STEP * 2
    assert sink.last_success(["credit"]) == START + STEP * 2
    assert sink.last_success(["other", "credit"], since=START) == START + STEP * 4
    assert sink.last_success(["credit"], since=START + STEP * 2 + timedelta(seconds=1)) is None
    assert sink.last_success([], since=START) is None


def test_an_unwritable_directory_is_a_sink_error(tmp_path: Path) -> None:
    """A file where the directory should be fails with the path in the message."""
    blocker = tmp_path / "results"
    blocker.write_text("")
    with pytest.raises(SinkError, match="cannot write results to"):
        FileSink(blocker).write(documents(1))


def test_a_truncated_file_is_read_again_from_the_start(tmp_path: Path) -> None:
    """If the output is rotated away, ids are re-read instead of trusted from memory."""
    sink = FileSink(tmp_path)
    sink.write(documents(3))
    (tmp_path / "checks.jsonl").write_text("", encoding="utf-8")
    assert sink.write(documents(3)).written == 3
