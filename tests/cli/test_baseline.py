"""``mlmon-elk baseline`` as a user runs it: a real subprocess on real files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from mlmon_elk.contract import Kind, Role
from mlmon_elk.profile.baseline import load_baseline


def mlmon(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "mlmon-elk"), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def test_builds_a_baseline_from_csv_with_overrides_and_config(tmp_path) -> None:
    """Overrides from the command line and a YAML config both apply; a summary is printed."""
    rng = np.random.default_rng(0)
    n = 6_000
    pd.DataFrame(
        {
            "zip": rng.integers(1000, 1020, n),
            "amount": rng.exponential(100, n),
            "score": rng.random(n),
            "id": np.arange(n),
        }
    ).to_csv(tmp_path / "train.csv", index=False)
    (tmp_path / "cfg.yaml").write_text("ignore: [id]\noutputs: [score]\n")
    out = tmp_path / "b.yaml"
    done = mlmon(
        "baseline",
        str(tmp_path / "train.csv"),
        "--model",
        "m",
        "--version",
        "2",
        "--kind",
        "zip=cat",
        "--config",
        str(tmp_path / "cfg.yaml"),
        "--out",
        str(out),
        "--window-sizes",
        "200,1000",
    )
    assert done.returncode == 0, done.stderr
    assert "2 inputs, 1 outputs" in done.stdout
    assert "calibrated on 1,200 held-out rows" in done.stdout
    b = load_baseline(out)
    assert b.window_sizes == (200, 1000)
    zip_code = b.feature(Role.INPUT, "zip")
    assert zip_code is not None
    assert zip_code.kind is Kind.CAT
    assert b.feature(Role.OUTPUT, "score") is not None
    assert b.feature(Role.INPUT, "id") is None


def test_bad_input_exits_2_with_one_line(tmp_path) -> None:
    """A missing file or a bad kind is one line on stderr and exit code 2."""
    missing = mlmon("baseline", str(tmp_path / "no.csv"), "--model", "m", "--version", "1")
    assert missing.returncode == 2
    assert missing.stderr.startswith("mlmon-elk baseline: error: cannot read")
    (tmp_path / "t.csv").write_text("a\n1\n")
    bad = mlmon(
        "baseline", str(tmp_path / "t.csv"), "--model", "m", "--version", "1", "--kind", "a=blob"
    )
    assert bad.returncode == 2
    assert "kind must be num, cat or text" in bad.stderr


def test_hygiene_warnings_go_to_stderr_and_into_the_file(tmp_path) -> None:
    """A user sees each warning on stderr; the YAML keeps them for whoever reads it later."""
    rng = np.random.default_rng(1)
    n = 6_000
    pd.DataFrame(
        {"order_id": np.arange(n), "grade": rng.choice([1, 2, 3, 5], n), "x": rng.random(n)}
    ).to_csv(tmp_path / "train.csv", index=False)
    out = tmp_path / "b.yaml"
    done = mlmon(
        "baseline", str(tmp_path / "train.csv"), "--model", "m", "--version", "1", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    assert len(lines) == 2
    assert "column 'order_id' looks like an id" in lines[0]
    assert "--kind grade=cat" in lines[1]
    assert "2 warnings" in done.stdout
    assert [f"warning: {w}" for w in load_baseline(out).warnings] == lines
