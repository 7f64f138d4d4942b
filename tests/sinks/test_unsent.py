"""Unsent run summaries survive the process in a JSON-lines file."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlmon_elk.contract import Dataset
from mlmon_elk.results.documents import Document
from mlmon_elk.sinks.unsent import keep_unsent, load_unsent

RUN = Document(Dataset.RUN, "abc", {"message": "window …: FAILED", "mlmon": {"run": {"n": 1}}})


def test_kept_documents_read_back_equal_and_an_empty_list_removes_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state" / "unsent.jsonl"
    assert load_unsent(path) == []
    keep_unsent(path, [RUN, RUN])
    assert load_unsent(path) == [RUN, RUN]
    keep_unsent(path, [])
    assert not path.exists()
    assert list(tmp_path.joinpath("state").iterdir()) == []  # no temporary file left


def test_a_damaged_file_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "unsent.jsonl"
    keep_unsent(path, [RUN])
    path.write_text(path.read_text() + '{"dataset": "mlmon.nothing"}\n')
    with pytest.raises(ValueError, match=r"unsent.jsonl:2: not a kept run summary"):
        load_unsent(path)
