"""``mlmon-elk analyze``: once, backfill with progress, readable tables, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlmon_elk.cli import main
from mlmon_elk.contract import Dataset, stream_name
from tests import scenario
from tests.conftest import EsTarget
from tests.factories import index_documents, write_jsonl
from tests.proxy import TcpProxy


@pytest.fixture(scope="module")
def baseline_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return scenario.build(tmp_path_factory.mktemp("baselines"))[1]


@pytest.fixture
def config(tmp_path: Path, baseline_file: Path) -> Path:
    write_jsonl(tmp_path / "predictions.jsonl", scenario.documents(0))
    write_jsonl(
        tmp_path / "predictions.jsonl.1.gz", scenario.documents(1, injected=True), gzipped=True
    )
    write_jsonl(tmp_path / "predictions.jsonl.2", scenario.documents(2))
    path = tmp_path / "mlmon.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "files": {"predictions": ["predictions.jsonl*"], "output": "results"},
                "schedule": {"interval": "10m", "window": "10m", "delay": "1m"},
                "models": [{"name": "credit", "baselines": [str(baseline_file)]}],
            }
        ),
        encoding="utf-8",
    )
    return path


def test_once_prints_a_table_of_what_needs_a_look(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The injected window's alerts are listed with their transition; the ok checks are counted."""
    at = (scenario.window_start(2) + scenario.STEP / 5).isoformat()
    assert main(["analyze", "--config", str(config), "--once", "--at", at]) == 0
    out = capsys.readouterr().out
    assert "credit 1.0  [2024-05-01 12:10 → 12:20)  1,000 predictions" in out
    assert "critical  category_shift     marital" in out
    assert '"divorced"' in out
    assert "[new]" in out
    assert "\n  ok 23\n" in out  # the rest is summarised, not listed
    assert "alerts: 5 new" in out
    assert (config.parent / "results" / "alerts.jsonl").exists()


def test_backfill_reports_progress_and_every_window(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--from/--to analyses each window in order and says how far it got."""
    code = main(
        [
            "analyze",
            "-c",
            str(config),
            "--from",
            "2024-05-01T12:00Z",
            "--to",
            "2024-05-01T12:30Z",
            "-q",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert "[1/3] window [2024-05-01T12:00:00.000Z, 2024-05-01T12:10:00.000Z): ok" in captured.err
    assert "[3/3]" in captured.err
    assert "alerts: 5 recovering" in captured.err  # resolving takes three clear windows
    assert "3 of 3 windows analysed" in captured.err
    assert captured.out == ""  # --quiet prints failures only


def test_a_failed_run_exits_1_and_bad_input_exits_2(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit codes: 1 when a run fails (missing baseline), 2 with one line for bad input."""
    broken = tmp_path / "broken.yaml"
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["models"][0]["baselines"] = ["nowhere.yaml"]
    broken.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert main(["analyze", "-c", str(broken), "--once", "--at", "2024-05-01T12:15Z"]) == 1
    assert "error: credit: cannot read baseline" in capsys.readouterr().out

    assert main(["analyze", "-c", str(config), "--once", "--at", "noon"]) == 2
    assert capsys.readouterr().err == (
        "mlmon-elk analyze: error: --at: expected an ISO-8601 time such as 2024-05-01T12:00Z,"
        " got 'noon'\n"
    )
    assert main(["analyze", "-c", str(tmp_path / "none.yaml"), "--once"]) == 2
    assert "cannot read config" in capsys.readouterr().err
    assert main(["analyze", "-c", str(config), "--once", "--to", "2024-05-02"]) == 2
    assert "--to goes with --from" in capsys.readouterr().err


def test_once_on_historical_data_says_where_the_predictions_are(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty window is not 'ok': exit 3, the period the files hold and the command for it."""
    assert main(["analyze", "-c", str(config), "--once", "--at", "2026-01-01T00:00Z"]) == 3
    err = capsys.readouterr().err
    assert "no predictions in [2025-12-31T23:40:00.000Z, 2025-12-31T23:50:00.000Z)" in err
    assert "The prediction files hold predictions from 2024-05-01T12:0" in err
    assert f"mlmon-elk analyze --config {config} --from 2024-05-01T12:00:00.000Z --to" in err


def test_a_predictions_glob_that_matches_nothing_is_said(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["files"]["predictions"] = ["nowhere/*.jsonl"]
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert main(["analyze", "-c", str(config), "--once", "--at", "2024-05-01T12:15Z"]) == 3
    assert "no file matches files.predictions (" in capsys.readouterr().err


def test_backfill_prints_each_window_once_with_dates(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --quiet, each window's summary line appears once (numbered), ranges carry dates."""
    argv = [
        "analyze",
        "-c",
        str(config),
        "--from",
        "2024-05-01T12:00Z",
        "--to",
        "2024-05-01T12:30Z",
    ]
    assert main(argv) == 0
    captured = capsys.readouterr()
    both = captured.out + captured.err
    assert both.count("window [2024-05-01T12:10:00.000Z, 2024-05-01T12:20:00.000Z)") == 1
    assert "[2/3] credit 1.0  [2024-05-01 12:10 → 12:20)" in captured.out


def test_windows_too_small_for_any_check_get_a_hint(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """All insufficient_data is not 'fine': the hint names the setting to change."""
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["models"][0]["checks"] = {"min_rows": 5000}
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert main(["analyze", "-c", str(config), "--once", "--at", "2024-05-01T12:25Z", "-q"]) == 0
    err = capsys.readouterr().err
    assert "hint: 1 model-version windows had too few predictions (1,000–1,000)" in err
    assert "lower checks.min_rows" in err


# ------------------------------------------------------------------ on the engine


def engine_config(directory: Path, url: str, namespace: str, baseline: Path) -> Path:
    """An analyzer configuration reading the scenario from ``url`` (fast retries)."""
    path = directory / "mlmon.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "namespace": namespace,
                "elasticsearch": {
                    "hosts": [url],
                    "retry": {"attempts": 2, "initial": "50ms", "maximum": "100ms"},
                },
                "schedule": {"interval": "10m", "window": "10m", "delay": "1m"},
                "models": [{"name": "credit", "baselines": [str(baseline)]}],
            }
        ),
        encoding="utf-8",
    )
    return path


def engine_scenario(es: EsTarget) -> None:
    """Windows 0 to 2 of the scenario in the prediction data stream, window 1 injected."""
    docs = [*scenario.documents(0), *scenario.documents(1, injected=True), *scenario.documents(2)]
    index_documents(es.client, stream_name(Dataset.PREDICTION, es.namespace), docs)


def run_documents(es: EsTarget) -> list[dict[str, Any]]:
    index = stream_name(Dataset.RUN, es.namespace)
    es.client.indices.refresh(index=index)
    hits = es.client.search(index=index, query={"term": {"event.dataset": "mlmon.run"}}, size=100)[
        "hits"
    ]["hits"]
    return [{"_id": h["_id"], **h["_source"]} for h in hits]


def test_once_and_a_backfill_on_the_engine_write_each_result_once(
    es: EsTarget, tmp_path: Path, baseline_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`analyze --once` and `--from/--to` against data streams; a repeat writes nothing new."""
    engine_scenario(es)
    config = engine_config(tmp_path, es.url, es.namespace, baseline_file)
    at = (scenario.window_start(2) + scenario.STEP / 5).isoformat()
    assert main(["analyze", "-c", str(config), "--once", "--at", at]) == 0
    out = capsys.readouterr().out
    assert "credit 1.0  [2024-05-01 12:10 → 12:20)  1,000 predictions" in out
    assert "alerts: 5 new" in out

    span = ["--from", "2024-05-01T12:00Z", "--to", "2024-05-01T12:30Z"]
    assert main(["analyze", "-c", str(config), *span, "-q"]) == 0
    err = capsys.readouterr().err
    assert "3 of 3 windows analysed" in err
    assert "[2/3]" in err
    assert "0 documents written" in err.split("[2/3]")[1].splitlines()[0]  # --once wrote it
    assert "alerts: 5 recovering" in err  # one clear window: not resolved yet (hysteresis)

    assert main(["analyze", "-c", str(config), *span, "-q"]) == 0
    again = capsys.readouterr().err
    assert again.count("0 documents written") == 3
    alerts = stream_name(Dataset.ALERT, es.namespace)
    es.client.indices.refresh(index=alerts)
    assert es.client.count(index=alerts)["count"] == 10  # 5 new + 5 recovering, none twice
    assert es.client.indices.get_data_stream(name=alerts)["data_streams"][0]["name"] == alerts
    assert len(run_documents(es)) == 3


def test_a_run_with_the_engine_down_is_kept_and_written_by_the_next(
    es: EsTarget, tmp_path: Path, baseline_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Engine unreachable: exit 1, the summary on stderr and in the unsent file; the next
    run, with the engine back, writes it into the run stream and empties the file."""
    engine_scenario(es)
    proxy = TcpProxy(es.url).start()
    try:
        config = engine_config(tmp_path, proxy.url, es.namespace, baseline_file)
        proxy.stop()
        at = (scenario.window_start(1) + scenario.STEP / 5).isoformat()
        assert main(["analyze", "-c", str(config), "--once", "--at", at]) == 1
        captured = capsys.readouterr()
        assert "FAILED" in captured.out
        assert "cannot reach Elasticsearch" in captured.out
        kept = tmp_path / "mlmon-unsent-runs.jsonl"
        assert "mlmon-elk analyze: 1 run summaries could not be written:" in captured.err
        assert f"kept in {kept}; the next analyze or serve writes them first" in captured.err
        (line,) = kept.read_text(encoding="utf-8").splitlines()
        failed_id = json.loads(line)["id"]

        proxy.start()
        at = (scenario.window_start(2) + scenario.STEP / 5).isoformat()
        assert main(["analyze", "-c", str(config), "--once", "--at", at]) == 0
    finally:
        proxy.stop()
    assert not kept.exists()
    runs = {doc["_id"]: doc for doc in run_documents(es)}
    assert runs[failed_id]["mlmon"]["run"]["status"] == "failure"
    assert runs[failed_id]["event"]["start"] == "2024-05-01T12:00:00.000Z"
    assert [doc["mlmon"]["run"]["status"] for doc in runs.values()].count("success") == 1
