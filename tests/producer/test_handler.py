"""PredictionHandler: configuration, what it accepts, counters, shutdown, fork safety."""

from __future__ import annotations

import ctypes
import json
import logging
import logging.config
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlmon_elk import PredictionHandler, log_prediction
from mlmon_elk.errors import ConfigError
from mlmon_elk.producer.call import PREDICTION_ATTR, PredictionCall
from tests.peers import HttpPeer, JsonLinesPeer


def read_docs(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def file_handler(tmp_path: Path, **options: Any) -> tuple[PredictionHandler, Path]:
    path = tmp_path / "p.jsonl"
    options.setdefault("counters_interval", 0)
    return PredictionHandler(f"file://{path}", model="m", **options), path


def wait_until(condition: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


YAML_CONFIG = """
version: 1
disable_existing_loggers: false
handlers:
  predictions:
    class: mlmon_elk.PredictionHandler
    url: {url}
    model: churn
    model_version: "3"
    service: churn-api
    text_inputs: [review]
    privacy: {{email: drop}}
    spool_dir: {spool}
    counters_interval: 0
loggers:
  predictions:
    handlers: [predictions]
    level: INFO
    propagate: false
"""


class TestConfiguration:
    def test_dict_config_from_yaml(self, tmp_path: Path) -> None:
        """The documented YAML works with logging.config.dictConfig, options included."""
        with JsonLinesPeer() as peer:
            config = yaml.safe_load(YAML_CONFIG.format(url=peer.url, spool=tmp_path))
            logging.config.dictConfig(config)
            logger = logging.getLogger("predictions")
            try:
                log_prediction(
                    logger,
                    inputs={"review": "Great!", "email": "a@b.c", "n": 1},
                    outputs={"score": 0.5},
                    prediction_id="cfg",
                )
                assert peer.wait_for_ids({"cfg"}, timeout=10)
            finally:
                for handler in list(logger.handlers):
                    logger.removeHandler(handler)
                    handler.close()
            doc = peer.events[0]
        assert doc["mlmon"]["model"] == {"name": "churn", "version": "3"}
        assert doc["service"] == {"name": "churn-api"}
        assert doc["mlmon"]["tokens"] == {"review": ["great"]}
        assert doc["mlmon"]["present"] == ["review", "n"]

    def test_a_prediction_formatter_from_dict_config(self, tmp_path: Path) -> None:
        """A formatter: entry with () PredictionFormatter replaces the handler's own."""
        path = tmp_path / "p.jsonl"
        logging.config.dictConfig(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "formatters": {
                    "doc": {"()": "mlmon_elk.PredictionFormatter", "model": "from-formatter"}
                },
                "handlers": {
                    "p": {
                        "class": "mlmon_elk.PredictionHandler",
                        "url": f"file://{path}",
                        "model": "from-handler",
                        "formatter": "doc",
                        "counters_interval": 0,
                    }
                },
                "loggers": {"fmt": {"handlers": ["p"], "level": "INFO"}},
            }
        )
        logger = logging.getLogger("fmt")
        handler = logger.handlers[0]
        log_prediction(logger, inputs={})
        logger.removeHandler(handler)
        handler.close()
        assert read_docs(path)[0]["mlmon"]["model"]["name"] == "from-formatter"

    def test_any_other_formatter_is_refused(self, tmp_path: Path) -> None:
        """The handler writes the contract document only: other formatters are a ConfigError."""
        handler, _ = file_handler(tmp_path)
        with pytest.raises(ConfigError, match="PredictionFormatter"):
            handler.setFormatter(logging.Formatter("%(message)s"))
        handler.close()

    def test_bad_options_fail_at_construction(self, tmp_path: Path) -> None:
        """Wrong options are ConfigErrors naming the option, before anything runs."""
        with pytest.raises(ConfigError, match="spool_full"):
            PredictionHandler("stdout", model="m", spool_full="keep")
        with pytest.raises(ConfigError, match="queue_size"):
            PredictionHandler("stdout", model="m", queue_size=0)
        with pytest.raises(ConfigError, match="TLS files"):
            PredictionHandler("tls://x:1", model="m", ca_certs=str(tmp_path / "missing.pem"))


class TestWhatItAccepts:
    def test_only_prediction_records_become_documents(self, tmp_path: Path) -> None:
        """Plain log records on the same logger are ignored by the handler."""
        handler, path = file_handler(tmp_path)
        logger = logging.getLogger("accepts")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.info("hello %s", "world")
        log_prediction(logger, inputs={"x": 1}, prediction_id="only")
        logger.removeHandler(handler)
        handler.close()
        assert [d["mlmon"]["prediction_id"] for d in read_docs(path)] == ["only"]

    @pytest.mark.parametrize(
        "name",
        ["mlmon_elk.shipper", "elasticsearch", "elastic_transport.node", "urllib3.connectionpool"],
    )
    def test_refuses_its_own_and_the_clients_loggers(self, tmp_path: Path, name: str) -> None:
        """Even a prediction record from these loggers is refused: no logging into itself."""
        handler, path = file_handler(tmp_path)
        record = logging.LogRecord(name, logging.INFO, __file__, 1, "x", None, None)
        record.__dict__[PREDICTION_ATTR] = PredictionCall({"x": 1})
        assert handler.handle(record) is False
        handler.close()
        assert not path.exists()

    def test_diagnostics_do_not_loop_through_a_root_handler(self, tmp_path: Path) -> None:
        """Attached to the root logger with the peer down, its warnings do not come back to it."""
        seen: list[logging.LogRecord] = []

        class Capture(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                seen.append(record)

        with JsonLinesPeer() as peer:
            url = peer.url
        root = logging.getLogger()
        handler = PredictionHandler(
            url, model="m", spool_dir=tmp_path, counters_interval=0, close_timeout=0.2
        )
        capture = Capture()
        root.addHandler(handler)
        root.addHandler(capture)
        logging.getLogger("mlmon_elk").propagate = True
        try:
            log_prediction(root, inputs={"x": 1}, level=logging.WARNING)
            assert wait_until(lambda: any(r.name == "mlmon_elk.shipper" for r in seen))
        finally:
            root.removeHandler(handler)
            root.removeHandler(capture)
            handler.close()
        assert handler.counters().logged == 1  # its own warnings never became documents
        assert handler.counters().spooled == 1


class TestNeverHurtsTheApp:
    def test_mutating_inputs_after_the_call_changes_nothing(self, tmp_path: Path) -> None:
        """Values are serialised as they were at call time."""
        handler, path = file_handler(tmp_path)
        inputs: dict[str, Any] = {"x": 1, "tags": ["a"]}
        handler.log_prediction(inputs=inputs)
        inputs["x"] = 2
        inputs["tags"].append("b")
        handler.close()
        assert read_docs(path)[0]["mlmon"]["inputs"] == {"num": {"x": 1.0}, "cat": {"tags": ["a"]}}

    def test_an_internal_error_is_counted_not_raised(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Were the document builder to fail, the caller sees nothing and errors counts it."""
        handler, _ = file_handler(tmp_path)

        def broken(*args: object, **kwargs: object) -> None:
            msg = "bug"
            raise RuntimeError(msg)

        monkeypatch.setattr(handler.formatter.builder, "prediction", broken)
        monkeypatch.setattr(handler.formatter.builder, "prediction_line", broken)
        monkeypatch.setattr(handler.formatter.builder, "usual_line", broken)
        handler.log_prediction(inputs={"x": 1})
        log_prediction(handler, inputs=[{"x": 1}])
        handler.close()
        assert handler.counters().errors == 2

    def test_full_queue_drops_and_counts(self) -> None:
        """While the sender is stuck on a slow peer, calls beyond queue_size are dropped."""
        with HttpPeer() as peer:
            peer.delay = 2.0
            handler = PredictionHandler(
                peer.url,
                model="m",
                spool_dir=None,
                queue_size=3,
                counters_interval=0,
                flush_interval=0.01,
                close_timeout=5.0,
            )
            handler.log_prediction(inputs={}, prediction_id="first")
            assert wait_until(lambda: peer.requests == 1)
            for i in range(10):
                handler.log_prediction(inputs={}, prediction_id=f"q{i}")
            assert handler.counters().dropped == 7
            peer.delay = 0.0
            handler.close()
            assert sorted(peer.prediction_ids()) == ["first", "q0", "q1", "q2"]
        counters = handler.counters()
        assert (counters.logged, counters.sent, counters.dropped) == (11, 4, 7)

    def test_oversize_documents_are_dropped_and_counted(self, tmp_path: Path) -> None:
        """A document over max_document_bytes is dropped, counted, and others still go."""
        handler, path = file_handler(
            tmp_path, max_document_bytes=500, text_inputs=["t"], max_text_chars=10_000
        )
        handler.log_prediction(inputs={"t": "word " * 200})
        handler.log_prediction(inputs={"t": "short"})
        handler.close()
        assert len(read_docs(path)) == 1
        assert handler.counters().dropped == 1

    def test_close_is_bounded_when_the_peer_is_down(self) -> None:
        """With the peer gone and a memory spool, close() returns within close_timeout and
        counts what is lost."""
        with JsonLinesPeer() as peer:
            url = peer.url
        handler = PredictionHandler(
            url,
            model="m",
            spool_dir=None,
            close_timeout=0.5,
            counters_interval=0,
            backoff_initial=0.2,
        )
        for i in range(100):
            handler.log_prediction(inputs={"i": i})
        started = time.monotonic()
        handler.close()
        assert time.monotonic() - started < 3.0
        counters = handler.counters()
        assert counters.dropped == 100
        assert counters.sent == 0

    def test_an_unusable_spool_directory_falls_back_to_memory(self, tmp_path: Path) -> None:
        """A spool_dir that cannot be created: documents still go out, an error is counted."""
        not_a_directory = tmp_path / "file"
        not_a_directory.write_text("x")
        with JsonLinesPeer() as peer:
            handler = PredictionHandler(
                peer.url, model="m", spool_dir=not_a_directory / "spool", counters_interval=0
            )
            handler.log_prediction(inputs={}, prediction_id="still")
            assert peer.wait_for_ids({"still"}, timeout=10)
            handler.close()
        assert handler.counters().errors == 1

    def test_documents_after_close_are_dropped_and_counted(self, tmp_path: Path) -> None:
        """Logging into a closed handler is harmless and counted."""
        handler, _ = file_handler(tmp_path)
        handler.close()
        handler.log_prediction(inputs={"x": 1})
        assert handler.counters().dropped == 1


class TestCounters:
    def test_counters_and_shipper_documents(self, tmp_path: Path) -> None:
        """Counters are readable and shipped as mlmon.shipper documents with increments."""
        handler, path = file_handler(tmp_path, counters_interval=0.2, flush_interval=0.05)
        for i in range(10):
            handler.log_prediction(inputs={"i": i})
        assert wait_until(
            lambda: (
                any(d["event"]["dataset"] == "mlmon.shipper" for d in read_docs(path))
                if path.exists()
                else False
            )
        )
        handler.close()
        docs = read_docs(path)
        shipper = [d for d in docs if d["event"]["dataset"] == "mlmon.shipper"]
        predictions = [d for d in docs if d["event"]["dataset"] == "mlmon.prediction"]
        assert len(predictions) == 10
        assert shipper[0]["event"]["kind"] == "metric"
        assert shipper[0]["data_stream"]["dataset"] == "mlmon.prediction"
        assert set(shipper[0]["mlmon"]["shipper"]) == {
            "logged",
            "sent",
            "spooled",
            "replayed",
            "dropped",
            "errors",
            "resent",
            "duplicates",
            "rejected",
            "queued",
            "spool_records",
            "spool_bytes",
        }
        # Increments add up to the totals (the last document is written at close).
        total_logged = sum(d["mlmon"]["shipper"]["logged"] for d in shipper)
        assert total_logged == len(docs) - 1
        counters = handler.counters()
        assert counters.logged == counters.sent == len(docs)


def test_fork_gives_the_child_its_own_sender(tmp_path: Path) -> None:
    """After fork, parent and child deliver their own documents once each; the child's
    generated ids differ from the parent's."""
    with JsonLinesPeer() as peer:
        handler = PredictionHandler(peer.url, model="m", spool_dir=tmp_path, counters_interval=0)
        for i in range(100):
            handler.log_prediction(inputs={"i": i}, prediction_id=f"before-{i}")
        parent_generated = handler.formatter.builder.new_id()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 1
            try:
                for i in range(100):
                    handler.log_prediction(inputs={"i": i}, prediction_id=f"child-{i}")
                handler.log_prediction(inputs={}, prediction_id=None)
                handler.close()
                code = 0 if handler.counters().sent == 101 else 2
            finally:
                os._exit(code)
        for i in range(100):
            handler.log_prediction(inputs={"i": i}, prediction_id=f"after-{i}")
        assert os.waitpid(pid, 0)[1] == 0
        handler.close()
        expected = {f"{w}-{i}" for w in ("before", "child", "after") for i in range(100)}
        assert peer.wait_for_ids(expected, timeout=10)
        ids = peer.prediction_ids()
    named = [i for i in ids if i in expected]
    assert sorted(named) == sorted(expected), "each exactly once"
    (child_generated,) = [i for i in ids if i not in expected]
    assert child_generated.split("-")[0] != parent_generated.split("-")[0]


@pytest.mark.parametrize("count", [10, 6_000])
def test_fork_from_c_without_the_at_fork_hook(tmp_path: Path, count: int) -> None:
    """A child forked by C code (no Python at-fork hooks, as some servers do) still
    delivers its documents: the handler notices the new pid."""
    path = tmp_path / "p.jsonl"
    handler = PredictionHandler(f"file://{path}", model="m", counters_interval=0)
    handler.log_prediction(inputs={}, prediction_id="parent")
    assert handler.drain(5.0)
    pid = ctypes.PyDLL(None).fork()  # libc fork(), bypassing os.fork's hooks
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            for i in range(count):
                handler.log_prediction(inputs={"i": i}, prediction_id=f"child-{i}")
            handler.close()
            code = 0
        finally:
            os._exit(code)
    assert os.waitpid(pid, 0)[1] == 0
    handler.close()
    ids = [doc["mlmon"]["prediction_id"] for doc in read_docs(path)]
    assert sorted(ids) == sorted(["parent", *(f"child-{i}" for i in range(count))])


def test_the_call_never_raises_whatever_it_is_given(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Arbitrary inputs, outputs, labels, ids and latencies: no exception reaches the
    caller, every line written is strict JSON, and the only errors counted are the
    documented batch mismatches."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from tests.producer.test_values import ANY_VALUE

    handler, path = file_handler(tmp_path, text_inputs=["t"])
    calls = 0

    @settings(max_examples=150, deadline=None)
    @given(
        inputs=st.one_of(st.dictionaries(st.text(max_size=4), ANY_VALUE, max_size=6), ANY_VALUE),
        outputs=ANY_VALUE,
        labels=st.one_of(st.none(), st.dictionaries(st.text(max_size=3), ANY_VALUE, max_size=2)),
        prediction_id=st.one_of(st.none(), st.text(max_size=5), st.integers()),
        latency_ms=ANY_VALUE,
    )
    def log(inputs: Any, outputs: Any, labels: Any, prediction_id: Any, latency_ms: Any) -> None:
        nonlocal calls
        calls += 1
        handler.log_prediction(
            inputs=inputs,
            outputs=outputs,
            labels=labels,
            prediction_id=prediction_id,
            latency_ms=latency_ms,
        )

    log()
    handler.close()
    strict = json.JSONDecoder(parse_constant=lambda token: pytest.fail(f"bare {token}"))
    lines = path.read_bytes().splitlines()
    assert len(lines) >= calls
    for line in lines:
        assert isinstance(strict.decode(line.decode("utf-8")), dict)
    reported = {
        r.getMessage().split(":")[0] for r in caplog.records if r.name == "mlmon_elk.shipper"
    }
    assert reported <= {"batch logged without mismatched values"}


class TestConstructorErrors:
    @pytest.mark.parametrize("url", ["tcp://logstash", "htp://logstash:5000", "tcp://:5000"])
    def test_a_malformed_url_is_one_config_error_and_a_quiet_exit(self, url: str) -> None:
        """The ConfigError names the url; the interpreter then exits without a second
        traceback from logging.shutdown() closing the half-built handler."""
        code = (
            "from mlmon_elk import PredictionHandler\n"
            "from mlmon_elk.errors import ConfigError\n"
            "try:\n"
            f"    PredictionHandler({url!r}, model='m')\n"
            "except ConfigError as exc:\n"
            "    print(exc)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0
        assert done.stdout.startswith("url "), done.stdout
        assert done.stderr == ""


class TestLostAtShutdown:
    def test_the_lost_count_is_what_the_user_logged(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Peer down, memory spool, counters on: one logged prediction is reported as one
        lost document (the handler's own counters document is not the user's)."""
        with JsonLinesPeer() as peer:
            url = peer.url
        handler = PredictionHandler(
            url, model="m", spool_dir=None, close_timeout=0.5, backoff_initial=0.2
        )
        handler.log_prediction(inputs={"x": 1.0})
        handler.close()
        assert handler.counters().dropped == 1
        assert "1 documents could not be delivered" in capsys.readouterr().err

    def test_the_last_counters_still_go_out_when_everything_else_did(self) -> None:
        """With the peer up, close() still ships the last shipper document."""
        with JsonLinesPeer() as peer:
            handler = PredictionHandler(peer.url, model="m", spool_dir=None)
            handler.log_prediction(inputs={"x": 1.0}, prediction_id="p")
            handler.close()
            assert wait_until(lambda: len(peer.events) == 2)
            datasets = sorted(doc["event"]["dataset"] for doc in peer.events)
        assert datasets == ["mlmon.prediction", "mlmon.shipper"]
        assert handler.counters().dropped == 0


class TestTimestamps:
    def test_iso_strings_and_per_row_timestamps(self, tmp_path: Path) -> None:
        """An ISO-8601 string on one prediction, one timestamp per row on a DataFrame batch."""
        import pandas as pd

        handler, path = file_handler(tmp_path)
        handler.log_prediction(inputs={"a": 1.0}, timestamp="2026-03-01T11:00:00+01:00")
        frame = pd.DataFrame(
            {"a": [1.0, 2.0], "ts": pd.to_datetime(["2026-03-02T00:00:00", "2026-03-03T00:00:00"])}
        )
        log_prediction(handler, inputs=frame[["a"]], timestamp=list(frame.ts))
        handler.close()
        assert [doc["@timestamp"] for doc in read_docs(path)] == [
            "2026-03-01T10:00:00.000Z",
            "2026-03-02T00:00:00.000Z",
            "2026-03-03T00:00:00.000Z",
        ]
        assert handler.counters().errors == 0

    def test_each_reason_for_dropping_a_call_names_the_argument_and_is_reported(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Dropped calls are counted; the first problem with each argument is reported at
        once, naming the argument, even right after a problem with another argument."""
        handler, path = file_handler(tmp_path)
        with caplog.at_level(logging.WARNING, logger="mlmon_elk.shipper"):
            handler.log_prediction(inputs={"a": 1.0}, timestamp="yesterday")
            handler.log_prediction(inputs={"a": 1.0}, timestamp=[1.0, 2.0])
            handler.log_prediction(inputs=[{"a": 1.0}, {"a": 2.0}], timestamp=["x", "y"])
            handler.log_prediction(inputs=[{"a": 1.0}, {"a": 2.0}], outputs=[1.0])
        handler.close()
        messages = [r.getMessage() for r in caplog.records if r.name == "mlmon_elk.shipper"]
        assert handler.counters().errors == 4
        assert len(read_docs(path)) == 2  # the batch with mismatched outputs, without them
        assert messages == [  # the later timestamp problems are counted, reported in a minute
            "log_prediction dropped: timestamp: not an ISO-8601 date and time: 'yesterday'",
            "batch logged without mismatched values: outputs: 1 values for 2 rows",
        ]
