"""Run summaries the sink could not take, kept in a file until a later run writes them.

A one-shot ``analyze`` whose cluster is down has nowhere to record its failed
run but here: the summary documents (with their deterministic ids) go to a
JSON-lines file, and the next analyzer started with the same configuration
sends them first. Writing them twice is harmless — the sink's ``create``
counts an id already there as existing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from mlmon_elk.contract import Dataset
from mlmon_elk.results.documents import Document

DEFAULT_NAME = "mlmon-unsent-runs.jsonl"
"""The file's name next to the configuration file, unless configured."""


def load_unsent(path: Path) -> list[Document]:
    """The documents kept in ``path`` (none if it does not exist).

    Raises:
        OSError: the file exists but cannot be read.
        ValueError: a line is not a kept document (the file was edited or cut short).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    documents = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            documents.append(Document(Dataset(item["dataset"]), str(item["id"]), item["source"]))
        except (ValueError, KeyError, TypeError) as exc:
            msg = f"{path}:{number}: not a kept run summary ({exc})"
            raise ValueError(msg) from None
    return documents


def keep_unsent(path: Path, documents: list[Document]) -> None:
    """Replace ``path``'s content with ``documents`` (atomically), or remove it if none.

    Raises:
        OSError: the file or its directory cannot be written.
    """
    if not documents:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    lines = "".join(
        json.dumps({"dataset": str(d.dataset), "id": d.id, "source": d.source}) + "\n"
        for d in documents
    )
    partial.write_text(lines, encoding="utf-8")
    partial.replace(path)
