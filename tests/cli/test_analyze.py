"""``mlmon-elk analyze``: once, backfill with progress, readable tables, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlmon_elk.cli import main
from tests import scenario
from tests.factories import write_jsonl


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
