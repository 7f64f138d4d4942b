"""No command shows a traceback for a user's mistake: one line, naming what is wrong, exit 2.

One case per class of mistake, across the commands: a missing input file, an output
that cannot be written, a config that is not YAML, a malformed URL, a bad flag.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlmon_elk.cli import main


@pytest.fixture
def train_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    path = tmp_path / "train.csv"
    pd.DataFrame({"amount": rng.exponential(100, 600), "zip": rng.integers(0, 5, 600)}).to_csv(
        path, index=False
    )
    return path


def one_line_error(capsys: pytest.CaptureFixture[str], command: str) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith(f"mlmon-elk {command}: error: "), err
    assert err.count("\n") == 1, err
    return err


def test_baseline_creates_the_folder_of_its_output(
    train_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's ``--out baselines/model.yaml`` works when ``baselines/`` does not exist."""
    out = tmp_path / "baselines" / "deeper" / "m-1.yaml"
    argv = ["baseline", str(train_csv), "--model", "m", "--version", "1", "--out", str(out)]
    assert main(argv) == 0
    assert out.is_file()
    assert f"wrote {out}" in capsys.readouterr().out


def test_baseline_refuses_an_unusable_output_before_profiling(
    train_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder as --out, or a folder under a file, is said at once (not after minutes of work)."""
    argv = ["baseline", str(train_csv), "--model", "m", "--version", "1", "--out", str(tmp_path)]
    assert main(argv) == 2
    assert "is a directory" in one_line_error(capsys, "baseline")

    under_a_file = train_csv / "b.yaml"
    argv[-1] = str(under_a_file)
    assert main(argv) == 2
    assert "cannot create the folder" in one_line_error(capsys, "baseline")


@pytest.mark.parametrize(
    ("argv", "command", "names"),
    [
        (["baseline", "{tmp}/none.csv", "--model", "m", "--version", "1"], "baseline", "none.csv"),
        (["analyze", "-c", "{tmp}/none.yaml", "--once"], "analyze", "none.yaml"),
        (["serve", "-c", "{tmp}/none.yaml"], "serve", "none.yaml"),
        (["report", "-c", "{tmp}/none.yaml"], "report", "none.yaml"),
        (["report", "--results", "{tmp}/none"], "report", "none"),
    ],
)
def test_a_missing_input_file_is_named(
    argv: list[str],
    command: str,
    names: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    assert names in one_line_error(capsys, command)


def test_an_output_that_cannot_be_written_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An output below a regular file: the OS error becomes one line naming the path."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["demo", "--out", str(blocker / "demo")]) == 2
    assert str(blocker) in one_line_error(capsys, "demo")


def test_report_creates_the_folder_of_its_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-o reports/today.html`` works without ``reports/`` (here: without results, exit 1)."""
    results = tmp_path / "results"
    results.mkdir()
    (results / "checks.jsonl").write_text("")
    out = tmp_path / "reports" / "today.html"
    assert main(["report", "--results", str(results), "-o", str(out)]) == 1
    assert out.is_file()
    assert "no check results" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["analyze", "serve", "report"])
def test_a_config_that_is_not_yaml_names_the_line(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "mlmon.yaml"
    config.write_text("files: {predictions: [x], output: [\n")
    argv = [command, "-c", str(config)] + (["--once"] if command == "analyze" else [])
    assert main(argv) == 2
    assert "is not valid YAML, line 2 column 1" in one_line_error(capsys, command)


def test_a_malformed_url_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["setup", "--elasticsearch", "es-host", "--dry-run"]) == 2
    assert "es-host" in one_line_error(capsys, "setup")
    assert main(["setup", "--kibana", "kibana-host", "--dry-run"]) == 2
    assert "kibana-host" in one_line_error(capsys, "setup")


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["demo", "--windows", "many"], "--windows"),
        (["baseline", "train.csv", "--model", "m"], "--version"),
        (["analyze", "--once", "--from", "2024-05-01"], "--from"),
        (["report", "--no-such-flag"], "--no-such-flag"),
    ],
)
def test_bad_flags_print_usage_and_exit_2(
    argv: list[str], names: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith("mlmon-elk")
    assert ": error: " in last
    assert names in last
