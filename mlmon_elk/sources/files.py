"""Read the JSON-lines prediction files the handler's file sink writes (the I/O edge).

The very documents Logstash would index, including rotated and gzipped ones,
read a chunk of decoded documents at a time so memory stays bounded whatever
the file size; lines outside the period asked for are passed over unparsed.
Counting the chunks is the record counter's job
(:mod:`mlmon_elk.profile.records`); this module only lists, opens and decodes,
and says when a file rotated away while being read (:class:`Vanished`).
"""

from __future__ import annotations

import contextlib
import errno
import gc
import glob
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any, cast

from isal import igzip

from mlmon_elk.contract import Dataset
from mlmon_elk.errors import SourceError
from mlmon_elk.json_lines import json_objects
from mlmon_elk.producer.transports.file import rotated_files
from mlmon_elk.windows import format_time

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_ROWS = 5_000
"""Lines parsed and counted at a time; bounds memory whatever the file size. The native
reader keeps about four chunks in flight (read ahead, decoded ahead, counted): at 5,000
lines of 50 features, 65 MB against 105 MB at 10,000, in the same time."""

MTIME_SLACK_SECONDS = 600
"""A file last modified this long before a window may still be read (clock skew
between the host writing the logs and the one reading them)."""

ROTATION_RETRIES = 3
"""Fresh starts of one read when files rotate away while being read."""

_GZIP_MAGIC = b"\x1f\x8b"


def expand_paths(patterns: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The prediction files ``patterns`` name, oldest first, each once.

    A plain path names the handler's active file and brings its rotated files
    along, by the handler's naming rule (``docs/handler.md``): for
    ``predictions.jsonl`` also ``predictions-<UTC time>Z.jsonl`` and the same
    with ``.gz``. A glob is taken as it matches. Either way, files being
    compressed (``*.tmp``) and hidden files (locks) are never read, and while a
    rotated file and its ``.gz`` both exist only the uncompressed one is.
    """
    found: dict[Path, float] = {}
    for pattern in patterns:
        text = os.fspath(pattern)
        if glob.has_magic(text):
            matches = glob.glob(text)
        else:
            matches = [text, *map(str, rotated_files(Path(text)))]
        for match in matches:
            path = Path(match)
            if path.name.startswith(".") or path.suffix == ".tmp":
                continue
            with contextlib.suppress(OSError):  # rotated away meanwhile: gone
                if path.is_file():
                    found[path] = path.stat().st_mtime
    for path in list(found):
        if path.suffix == ".gz" and path.with_suffix("") in found:
            del found[path]
    return sorted(found, key=lambda p: (found[p], str(p)))


def listed_since(patterns: Sequence[str | os.PathLike[str]], earliest: float) -> dict[Path, int]:
    """The files of ``patterns`` (:func:`expand_paths`) last written at or after ``earliest``
    (seconds since the epoch), with their inodes as listed, oldest first.

    Files written before cannot hold documents of a later period.
    """
    listed = {p: st for p in expand_paths(patterns) if (st := _stat(p)) is not None}
    return {p: st.st_ino for p, st in listed.items() if st.st_mtime >= earliest}


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None  # rotated away since listed


def open_lines(path: Path, *, inode: int | None = None) -> IO[bytes]:
    """A binary stream of ``path``'s lines, gunzipped when its content is gzip (whatever its name).

    Raises:
        FileNotFoundError: ``path`` is gone, or is no longer the file ``inode``
            was (the handler rotated it since it was listed).
    """
    raw = path.open("rb")
    try:
        if inode is not None and os.fstat(raw.fileno()).st_ino != inode:
            raise FileNotFoundError(errno.ENOENT, "replaced since listed", str(path))
        gzipped = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
    except BaseException:
        raw.close()
        raise
    return cast("IO[bytes]", _GzipReader(raw)) if gzipped else raw


class _GzipReader(igzip.IGzipFile):
    """Gunzips an open file and closes that file with itself.

    ISA-L's gzip reader: ~1.8x the standard library's (zlib) rate, and
    gunzipping was a fifth of the time to read a rotated log.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__(fileobj=raw, mode="rb")  # type: ignore[no-untyped-call]
        self._raw = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a chunk of documents is alive.

    A chunk is tens of thousands of freshly parsed dicts and lists, none of them
    cyclic; with the collector on, every few hundred allocations it rescans
    them all, which costs more than parsing them (measured: 23,500 vs 80,000
    documents/s for orjson alone). Reference counting still frees every chunk.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Vanished(Exception):
    """A listed file disappeared before it was read (the handler rotated it): read again
    from a fresh list."""


_STAMP_PREFIX = b'{"@timestamp":"'
_STAMP_END = len(_STAMP_PREFIX) + len("2024-05-01T12:00:00.000Z")


def stamped_outside(start: datetime, end: datetime) -> Callable[[bytes], bool]:
    """A test telling, without parsing, that a line's ``@timestamp`` is outside ``[start, end)``.

    It answers only for lines that begin the way the handler writes them
    (``{"@timestamp":"2024-05-01T12:00:00.000Z"``, which orders as text); for any
    other line it says "parse it". Parsing is most of the cost of a window, and
    a log holds many windows.
    """
    low = format_time(start).encode()
    high = format_time(end).encode() if end.microsecond % 1000 == 0 else None

    def outside(line: bytes) -> bool:
        if not line.startswith(_STAMP_PREFIX) or line[_STAMP_END : _STAMP_END + 1] != b'"':
            return False
        stamp = line[len(_STAMP_PREFIX) : _STAMP_END]
        if stamp[-1:] != b"Z" or stamp[19:20] != b".":
            return False
        return stamp < low or (high is not None and stamp >= high)

    return outside


_MODEL_FIELD = b'"model":{"name":"'
"""How the handler writes the model's name (``mlmon.model.name``, compact JSON)."""


def written_model(line: bytes) -> bytes | None:
    """The model's name in ``line`` as the handler writes it (the bytes between the
    quotes), when the line holds that field once and no escape anywhere (an escaped
    name cannot be read from its bytes); else ``None``.

    One search finds it near the start, where the handler puts it; testing a line for
    a model's name anywhere reads all of a line that is another model's.
    """
    start = line.find(_MODEL_FIELD)
    if start < 0 or b"\\" in line or line.find(_MODEL_FIELD, start + 1) >= 0:
        return None
    start += len(_MODEL_FIELD)
    return line[start : line.find(b'"', start)]


def of_other_models(models: Iterable[str]) -> Callable[[bytes], bool]:
    """A test telling, without parsing, that a line is none of ``models``' predictions.

    The line is a JSON object and either names another model the way the handler
    writes it (:func:`written_model`), or holds none of the models' names, as JSON
    writes them without escapes (``"churn"``), anywhere. A line holding any escape (a
    name may be written ``"ch\\u0075rn"``) is parsed, and so is anything else (a line
    that is not an object is then reported). In a file other models share too, a
    fetch then parses its models' lines only, not every model's.
    """
    needles = [_as_json(model) for model in models]
    names = {needle[1:-1] for needle in needles}

    def none_of(line: bytes) -> bool:
        if line[:1] != b"{":
            return False
        field = written_model(line)
        if field is not None:
            return field not in names
        return b"\\" not in line and not any(needle in line for needle in needles)

    return none_of


def split_by_model(models: Sequence[str]) -> Callable[[list[bytes]], list[tuple[str, list[bytes]]]]:
    """How a chunk of lines is shared among ``models`` read in one pass: each model gets
    the lines that may be its own (its decoder keeps exactly its own).

    A line laid out as the handler writes it names its model in one field
    (:func:`written_model`) and goes to that model alone; any other line goes to every
    model whose name it holds (or all, when it holds an escape), and a line that is not
    even an object to the first model alone, which reports it once.
    """
    first, *rest = models
    if not rest:
        return lambda chunk: [(first, chunk)]
    owners = {_as_json(model)[1:-1]: model for model in models}
    others = {model: of_other_models([model]) for model in models}

    def split(chunk: list[bytes]) -> list[tuple[str, list[bytes]]]:
        parts: dict[str, list[bytes]] = {model: [] for model in models}
        for line in chunk:
            field = written_model(line)
            owner = owners.get(field) if field is not None else None
            if owner is not None:
                parts[owner].append(line)
            elif line.lstrip()[:1] != b"{":
                parts[first].append(line)
            else:
                for model in models:
                    if not others[model](line):
                        parts[model].append(line)
        return list(parts.items())

    return split


def _as_json(model: str) -> bytes:
    """``model``'s name as JSON writes it unescaped, quotes included."""
    return json.dumps(model, ensure_ascii=False).encode()


_PREDICTION_FIELD = f'"dataset":"{Dataset.PREDICTION}"'.encode()
_OUTCOME = str(Dataset.OUTCOME).encode()


def a_prediction(line: bytes) -> bool:
    """Whether ``line`` is, without parsing, a prediction document: it names the
    prediction dataset the way the handler writes it, holds no escape, and nowhere the
    outcome dataset's name (which every outcome document holds, as its dataset)."""
    return _PREDICTION_FIELD in line and _OUTCOME not in line and b"\\" not in line


def either(
    first: Callable[[bytes], bool], second: Callable[[bytes], bool]
) -> Callable[[bytes], bool]:
    """A test true for a line either test is true for."""

    def one_of(line: bytes) -> bool:
        return first(line) or second(line)

    return one_of


READ_BLOCK_BYTES = 4 << 20
"""Bytes read (after gunzipping) at a time; lines are split out of each block in C."""


def read_lines(
    paths: Iterable[Path],
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    inodes: Mapping[Path, int] | None = None,
    skip: Callable[[bytes], bool] | None = None,
) -> Iterator[tuple[Path, list[bytes]]]:
    """The non-blank lines of ``paths``, undecoded, up to ``chunk_rows`` at a time with their file.

    Lines for which ``skip`` is true are passed over. Files are read a block at
    a time (:data:`READ_BLOCK_BYTES`) and split into lines in C: a gzipped
    file's line-by-line reader is pure Python and cost a third of a read.
    A last line without its newline (a file being written) is given as it is.

    With ``inodes`` (as listed), a path that now names another file raises
    ``Vanished``, as does a path that is gone, so the caller can start over.
    """
    for path in paths:
        try:
            with open_lines(path, inode=(inodes or {}).get(path)) as stream:
                raw: list[bytes] = []
                tail = b""
                while block := stream.read(READ_BLOCK_BYTES):
                    lines = block.split(b"\n")
                    lines[0] = tail + lines[0]  # not tail + block: a copy of the whole block
                    tail = lines.pop()
                    raw += _kept(lines, skip)
                    while len(raw) >= chunk_rows:
                        yield path, raw[:chunk_rows]
                        raw = raw[chunk_rows:]
                raw += _kept([tail], skip)
                if raw:
                    yield path, raw
        except FileNotFoundError as exc:
            raise Vanished(path) from exc
        except (OSError, EOFError) as exc:
            msg = f"cannot read {path}: {exc}"
            raise SourceError(msg) from exc


_PROBES = 8
"""Lines of a block tested before it is kept whole (see :func:`_kept`)."""


def _kept(lines: list[bytes], skip: Callable[[bytes], bool] | None) -> list[bytes]:
    """``lines`` less the blank ones and those ``skip`` passes over.

    A block none of whose first, last and a few lines between would be passed over
    is kept whole: lines are written about in time order, mostly by one model, and
    skipping only saves parsing (the counter drops what is not its model's or
    outside its windows), so testing every line would cost more (a search of the
    model's name is about 0.7 µs a line). The lines between are not evenly spaced,
    so models taking turns line by line are still noticed.
    """
    kept = [line for line in lines if line and not line.isspace()]  # isspace: no copy
    if skip is None or not kept:
        return kept
    last = len(kept) - 1
    probes = {last, *(min(last, last * k // _PROBES + k) for k in range(_PROBES))}
    if not any(skip(kept[i]) for i in probes):
        return kept
    return [line for line in kept if not skip(line)]


Objects = Callable[[list[bytes]], tuple[list[dict[str, Any]], int]]
"""Decodes lines: the JSON objects among them, and how many lines were not one."""


def read_chunks(
    paths: Iterable[Path],
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    inodes: Mapping[Path, int] | None = None,
    skip: Callable[[bytes], bool] | None = None,
    decode: Objects = json_objects,
) -> Iterator[list[dict[str, Any]]]:
    """Parsed documents of ``paths``, ``chunk_rows`` at a time (see :func:`read_lines`),
    decoded whole or by ``decode``.

    A line that is not a JSON object is skipped and counted; a log at WARNING
    names the file and how many were skipped (a truncated last line of a file
    being written is normal).
    """
    bad: dict[Path, int] = {}
    for path, lines in read_lines(paths, chunk_rows=chunk_rows, inodes=inodes, skip=skip):
        chunk, unparsed = _parse(lines, decode)
        bad[path] = bad.get(path, 0) + unparsed
        if chunk:
            yield chunk
    for path, n in bad.items():
        if n:
            logger.warning("%s: skipped %d lines that are not JSON objects", path, n)


def _parse(lines: list[bytes], decode: Objects) -> tuple[list[dict[str, Any]], int]:
    """The JSON objects among ``lines`` and how many lines were not one.

    The cyclic garbage collector is paused meanwhile (see :func:`gc_paused`), for
    callers that do not pause it around their whole read.
    """
    with gc_paused():
        return decode(lines)
