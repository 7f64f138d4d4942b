"""The demo and report commands: one-line errors, working files."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlmon_elk.cli import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--logstash", "tcp://localhost:5000"], "--logstash needs --elasticsearch"),
        (["demo", "--windows", "2"], "at least 4"),
        (["demo", "--per-window", "10"], "at least 200"),
    ],
)
def test_demo_rejects_bad_arguments_in_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad input exits 2 with a one-line reason, before doing any work."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_report_from_a_missing_directory_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A results directory without results is a clear error."""
    assert main(["report", "--results", str(tmp_path), "-o", str(tmp_path / "r.html")]) == 2
    assert "run `mlmon-elk analyze` first" in capsys.readouterr().err


def test_report_rejects_a_bad_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Times are ISO-8601; anything else names the option."""
    assert main(["report", "--results", str(tmp_path), "--from", "yesterday"]) == 2
    assert "--from" in capsys.readouterr().err
