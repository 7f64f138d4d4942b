"""Reading the handler's JSON-lines files: rotated and gzipped files, broken lines, rotation."""

from __future__ import annotations

import gzip
import json
import logging
import os
from datetime import timedelta
from pathlib import Path

import pytest

from mlmon_elk.sources.files import (
    Vanished,
    a_prediction,
    expand_paths,
    listed_since,
    of_other_models,
    read_chunks,
    read_lines,
    split_by_model,
    written_model,
)
from tests.analyzer.test_fetch_differential import WINDOW, mixed_documents
from tests.factories import prediction, write_jsonl


def test_gzip_is_recognised_by_content_not_name(tmp_path: Path) -> None:
    """A gzipped file without .gz (and a plain one named .gz) are both read."""
    docs = mixed_documents(n=60)
    (tmp_path / "a.jsonl").write_bytes(
        gzip.compress(b"".join(json.dumps(d).encode() + b"\n" for d in docs[:30]))
    )
    write_jsonl(tmp_path / "b.jsonl.gz", docs[30:])
    chunks = list(read_chunks(expand_paths([tmp_path / "*"]), chunk_rows=1000))
    assert sum(len(c) for c in chunks) == len(docs)


def test_broken_lines_are_skipped_and_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Truncated or garbage lines are skipped with a warning naming the file; the rest counts."""
    good = [prediction(WINDOW.start + timedelta(seconds=i), inputs={"age": 30}) for i in range(3)]
    text = (
        "".join(json.dumps(d) + "\n" for d in good)
        + "\n[1, 2]\nnot json\n"
        + json.dumps(good[0])[:40]
    )
    path = tmp_path / "p.jsonl"
    path.write_text(text, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="mlmon_elk.sources.files"):
        chunks = list(read_chunks([path]))
    assert [len(c) for c in chunks] == [3]
    assert f"{path}: skipped 3 lines" in caplog.text


def test_the_active_file_brings_its_rotated_files_by_the_handlers_naming(tmp_path: Path) -> None:
    """predictions.jsonl brings predictions-<time>Z.jsonl(.gz); never .tmp, locks, a pair twice."""
    docs = [prediction(WINDOW.start + timedelta(seconds=i), inputs={"age": 30}) for i in range(8)]
    write_jsonl(tmp_path / "predictions.jsonl", docs[:2])
    write_jsonl(tmp_path / "predictions-20240501T120100.000001Z.jsonl", docs[2:4])
    write_jsonl(tmp_path / "predictions-20240501T120000.000001Z.jsonl.gz", docs[4:6], gzipped=True)
    # Being compressed: the .jsonl is read, its unfinished .gz and .gz.tmp are not.
    write_jsonl(tmp_path / "predictions-20240501T120200.000001Z.jsonl", docs[6:8])
    write_jsonl(tmp_path / "predictions-20240501T120200.000001Z.jsonl.gz", docs[6:8], gzipped=True)
    (tmp_path / "predictions-20240501T120200.000001Z.jsonl.gz.tmp").write_bytes(b"\x1f\x8b partial")
    (tmp_path / ".predictions.jsonl.lock").write_text("")
    write_jsonl(tmp_path / "other.jsonl", docs)
    names = sorted(p.name for p in expand_paths([tmp_path / "predictions.jsonl"]))
    assert names == [
        "predictions-20240501T120000.000001Z.jsonl.gz",
        "predictions-20240501T120100.000001Z.jsonl",
        "predictions-20240501T120200.000001Z.jsonl",
        "predictions.jsonl",
    ]
    chunks = read_chunks(expand_paths([tmp_path / "predictions.jsonl"]))
    assert sum(map(len, chunks)) == 8


def test_a_file_rotated_after_listing_is_noticed(tmp_path: Path) -> None:
    """If the active file was renamed and replaced since it was listed, reading says so."""

    active = write_jsonl(tmp_path / "predictions.jsonl", [prediction(WINDOW.start)])
    listed = {active: active.stat().st_ino}
    active.rename(tmp_path / "predictions-20240501T120000.000001Z.jsonl")
    write_jsonl(active, [])
    with pytest.raises(Vanished):
        list(read_chunks([active], inodes=listed))


def test_files_last_written_before_a_period_are_not_listed(tmp_path: Path) -> None:
    """listed_since leaves out files whose last write precedes the period, with their inodes."""
    old = write_jsonl(tmp_path / "p.jsonl.1", [prediction(WINDOW.start)])
    new = write_jsonl(tmp_path / "p.jsonl", [prediction(WINDOW.start)])
    stamp = (WINDOW.start - timedelta(days=1)).timestamp()
    os.utime(old, (stamp, stamp))
    assert listed_since([tmp_path / "p.jsonl*"], WINDOW.start.timestamp()) == {
        new: new.stat().st_ino
    }


def test_a_line_is_ruled_another_models_only_when_its_bytes_say_so() -> None:
    """Without parsing, a line is another model's when it names another model the way
    the handler writes it, or is an object holding neither the name as JSON writes it
    nor any escape; whatever is in doubt is parsed."""
    other = of_other_models(["credit"])
    assert other(b'{"mlmon":{"model":{"name":"fraud"}}}')
    assert not other(b'{"mlmon":{"model":{"name":"credit"}}}')
    assert not other(b'{"mlmon":{"model":{"name":"cr\\u0065dit"}}}')  # an escape: parse
    # The handler's field names the model, whatever else the line holds.
    assert other(b'{"mlmon":{"model":{"name":"fraud"}},"team":"credit"}')
    assert not other(b'{"mlmon":{"model":{"name":"credit"}},"team":"fraud"}')
    # Laid out otherwise (spaces, the field twice), the name anywhere means: parse.
    assert not other(b'{"mlmon": {"model": {"name": "fraud"}}, "team": "credit"}')
    twice = b'{"a":{"model":{"name":"fraud"}},"mlmon":{"model":{"name":"credit"}}}'
    assert not other(twice)
    assert other(b'{"mlmon": {"model": {"name": "fraud"}}}')
    assert not other(b"not json at all")  # parsed, so reported as a broken line


def test_a_chunk_is_split_among_models_by_what_its_lines_can_be() -> None:
    """A line the handler wrote goes to its model alone; a line laid out otherwise to every
    model it names, one with an escape to all; a line that is no object to the first."""
    credit = b'{"mlmon":{"model":{"name":"credit"}},"team":"fraud"}'
    spaced = b'{"mlmon": {"model": {"name": "credit"}}, "team": "fraud"}'
    escaped = b'{"mlmon":{"model":{"name":"fr\\u0061ud"}}}'
    split = split_by_model(["credit", "fraud", "churn"])
    assert split([credit, spaced, escaped, b"not json"]) == [
        ("credit", [credit, spaced, escaped, b"not json"]),
        ("fraud", [spaced, escaped]),
        ("churn", [escaped]),
    ]
    assert split_by_model(["credit"])([spaced, b"x"]) == [("credit", [spaced, b"x"])]


def test_a_line_is_ruled_a_prediction_only_when_no_outcome_can_hide_in_it() -> None:
    """Outcome readers pass over predictions unparsed: a line that names the prediction
    dataset as the handler writes it, and neither the outcome dataset nor any escape."""
    assert a_prediction(b'{"event":{"dataset":"mlmon.prediction"},"mlmon":{}}')
    assert not a_prediction(b'{"event":{"dataset":"mlmon.outcome"},"mlmon":{}}')
    # An outcome always holds its dataset's name; so does this prediction's text: parsed.
    assert not a_prediction(b'{"event":{"dataset":"mlmon.prediction"},"t":"mlmon.outcome"}')
    escaped = b'{"event":{"dataset":"mlmon\\u002eoutcome"},"d":{"dataset":"mlmon.prediction"}}'
    assert not a_prediction(escaped)  # an escaped outcome: parsed
    assert not a_prediction(b'{"event": {"dataset": "mlmon.prediction"}}')  # another layout


def test_the_model_is_read_from_the_handlers_field_only_when_unambiguous() -> None:
    """One search near the start gives the model's name of a line the handler wrote."""
    assert written_model(b'{"mlmon":{"schema":1,"model":{"name":"credit","version":"1"}}}') == (
        b"credit"
    )
    assert written_model('{"mlmon":{"model":{"name":"ümlaut/x"}}}'.encode()) == "ümlaut/x".encode()
    assert written_model(b'{"mlmon":{"model":{"name":"cr\\u0065dit"}}}') is None  # an escape
    assert written_model(b'{"mlmon": {"model": {"name": "credit"}}}') is None  # not its layout
    assert written_model(b'{"model":{"name":"a"},"mlmon":{"model":{"name":"b"}}}') is None
    assert of_other_models(["ümlaut/x"])(b'{"name":"fraud"}')
    assert not of_other_models(["ümlaut/x"])('{"name":"ümlaut/x"}'.encode())


def test_a_line_is_ruled_out_for_several_models_only_when_it_names_none() -> None:
    """Models sharing a file are read in one pass: a line is passed over only when it
    names none of them (and holds no escape)."""
    none_of = of_other_models(["credit", "fraud"])
    assert none_of(b'{"mlmon":{"model":{"name":"churn"}}}')
    assert not none_of(b'{"mlmon":{"model":{"name":"credit"}}}')
    assert not none_of(b'{"mlmon":{"model":{"name":"fraud"}}}')
    assert not none_of(b'{"mlmon":{"model":{"name":"fr\\u0061ud"}}}')
    assert not none_of(b"not json at all")


def test_a_block_of_one_models_lines_is_kept_whole_and_a_shared_one_line_by_line(
    tmp_path: Path,
) -> None:
    """Testing every line would cost more than it saves when one model writes the file;
    a few lines are tested, spread so that models taking turns line by line are noticed."""
    tested: list[bytes] = []
    other = of_other_models(["credit"])

    def skip(line: bytes) -> bool:
        tested.append(line)
        return other(line)

    credit = json.dumps(prediction(WINDOW.start)).encode()
    fraud = json.dumps(prediction(WINDOW.start, model="fraud")).encode()
    alone = tmp_path / "alone.jsonl"
    alone.write_bytes(b"\n".join([credit] * 1_000) + b"\n")
    assert sum(len(chunk) for _, chunk in read_lines([alone], skip=skip)) == 1_000
    assert len(tested) <= 9
    tested.clear()
    shared = tmp_path / "shared.jsonl"
    shared.write_bytes(b"\n".join([credit, fraud] * 500) + b"\n")
    assert sum(len(chunk) for _, chunk in read_lines([shared], skip=skip)) == 500
