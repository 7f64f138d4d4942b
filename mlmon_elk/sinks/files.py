"""Write check results, alerts and run summaries as JSON lines (the embedded mode).

Three files in one directory — ``checks.jsonl``, ``alerts.jsonl`` and
``runs.jsonl`` — hold the same documents the Elasticsearch sink indexes, each
with its deterministic id in ``mlmon.doc_id``. Ids already in a file are not
written again, and an exclusive lock on ``.lock`` makes the check-and-append
atomic, so a re-run or two analyzers at once never duplicate a line.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from mlmon_elk.contract import Check, Dataset
from mlmon_elk.errors import SinkError
from mlmon_elk.results.alerts import AlertKey, AlertState, OpenAlert, alert_state, fold_latest
from mlmon_elk.results.documents import Document
from mlmon_elk.sinks import WriteReport
from mlmon_elk.windows import parse_time

_HAS_FCNTL = sys.platform != "win32"
"""POSIX file locks; on Windows two analyzers must not share one directory."""

FILE_OF_DATASET = {
    Dataset.CHECK: "checks.jsonl",
    Dataset.ALERT: "alerts.jsonl",
    Dataset.RUN: "runs.jsonl",
}


class FileSink:
    """Appends documents as JSON lines under ``directory``.

    Args:
        directory: where ``checks.jsonl``, ``alerts.jsonl`` and ``runs.jsonl`` go
            (created if needed).
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        # Ids already in each file, and how far the file was read for them.
        self._ids: dict[Path, tuple[int, set[str]]] = {}

    def path(self, dataset: Dataset) -> Path:
        return self.directory / FILE_OF_DATASET[dataset]

    def write(self, documents: Sequence[Document]) -> WriteReport:
        """Append ``documents`` whose ids are not in their file yet.

        Raises:
            SinkError: the directory or a file cannot be written.
        """
        written = existing = 0
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with self._locked():
                by_path: dict[Path, list[Document]] = {}
                for doc in documents:
                    by_path.setdefault(self.path(doc.dataset), []).append(doc)
                for path, docs in by_path.items():
                    ids = self._known_ids(path)
                    lines = []
                    for doc in docs:
                        if doc.id in ids:
                            existing += 1
                            continue
                        ids.add(doc.id)
                        lines.append(_line(doc))
                    if lines:
                        with path.open("a", encoding="utf-8") as out:
                            out.write("".join(lines))
                            out.flush()
                            os.fsync(out.fileno())
                        self._ids[path] = (path.stat().st_size, ids)
                        written += len(lines)
        except OSError as exc:
            msg = f"cannot write results to {self.directory}: {exc}"
            raise SinkError(msg) from exc
        return WriteReport(written, existing)

    def open_alerts(
        self, models: Sequence[str], *, before: datetime, since: datetime
    ) -> dict[AlertKey, OpenAlert]:
        """Alerts open before ``before``, from ``alerts.jsonl``.

        Raises:
            SinkError: the file cannot be read.
        """
        wanted = set(models)
        latest: dict[AlertKey, tuple[datetime, AlertState]] = {}
        for doc in self._read(self.path(Dataset.ALERT)):
            mlmon = doc.get("mlmon") or {}
            if (mlmon.get("model") or {}).get("name") not in wanted:
                continue
            end = parse_time(str((doc.get("event") or {}).get("end")))
            if not since <= end < before:
                continue
            state = alert_state(mlmon)
            if state.key not in latest or end >= latest[state.key][0]:
                latest[state.key] = (end, state)
        return fold_latest(state for _, state in latest.values())

    def last_success(
        self, models: Sequence[str], *, since: datetime | None = None
    ) -> datetime | None:
        """End of the newest successfully analysed window, from ``runs.jsonl``.

        Raises:
            SinkError: the file cannot be read.
        """
        wanted = set(models)
        last: datetime | None = None
        for doc in self._read(self.path(Dataset.RUN)):
            run = (doc.get("mlmon") or {}).get("run") or {}
            if run.get("status") != "success" or wanted.isdisjoint(run.get("models") or ()):
                continue
            with contextlib.suppress(ValueError):
                end = parse_time(str((doc.get("event") or {}).get("end")))
                if (since is None or end >= since) and (last is None or end > last):
                    last = end
        return last

    def labelled_counts(
        self, model: str, *, since: datetime, before: datetime
    ) -> dict[tuple[str, datetime], int]:
        """Largest labelled count per version and window, from ``checks.jsonl``.

        Raises:
            SinkError: the file cannot be read.
        """
        out: dict[tuple[str, datetime], int] = {}
        for doc in self._read(self.path(Dataset.CHECK)):
            mlmon = doc.get("mlmon") or {}
            if mlmon.get("check") != Check.PERFORMANCE:
                continue
            about = mlmon.get("model") or {}
            if about.get("name") != model or about.get("version") is None:
                continue
            with contextlib.suppress(ValueError, TypeError):
                end = parse_time(str((doc.get("event") or {}).get("end")))
                if since <= end < before:
                    key = (str(about["version"]), end)
                    count = int((mlmon.get("window") or {}).get("count") or 0)
                    out[key] = max(out.get(key, 0), count)
        return out

    def read(self, dataset: Dataset) -> list[dict[str, Any]]:
        """Every document written so far for ``dataset`` (for reports and tests)."""
        return list(self._read(self.path(dataset)))

    def _known_ids(self, path: Path) -> set[str]:
        size = path.stat().st_size if path.exists() else 0
        offset, ids = self._ids.get(path, (0, set()))
        if size < offset:  # truncated or replaced: start over
            offset, ids = 0, set()
        if size > offset:
            with path.open("rb") as stream:
                stream.seek(offset)
                for raw in stream:
                    doc_id = _doc_id(raw)
                    if doc_id:
                        ids.add(doc_id)
        self._ids[path] = (size, ids)
        return ids

    def _read(self, path: Path) -> Iterator[dict[str, Any]]:
        try:
            with path.open(encoding="utf-8") as stream:
                for raw in stream:
                    with contextlib.suppress(ValueError):
                        doc = json.loads(raw)
                        if isinstance(doc, dict):
                            yield doc
        except FileNotFoundError:
            return
        except OSError as exc:
            msg = f"cannot read {path}: {exc}"
            raise SinkError(msg) from exc

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if not _HAS_FCNTL:  # pragma: no cover - Windows
            yield
            return
        import fcntl

        with (self.directory / ".lock").open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _line(doc: Document) -> str:
    source = dict(doc.source)
    source["mlmon"] = {**(source.get("mlmon") or {}), "doc_id": doc.id}
    return json.dumps(source, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"


def _doc_id(raw: bytes) -> str | None:
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    mlmon = doc.get("mlmon") if isinstance(doc, Mapping) else None
    doc_id = mlmon.get("doc_id") if isinstance(mlmon, Mapping) else None
    return str(doc_id) if doc_id else None
