"""Run Evidently on windows from our environment (reusable by every benchmark).

Evidently 0.7.23 does not import with pandas 3 (which the project uses), so it
lives in its own virtualenv, ``bench/.venv-evidently`` (git-ignored), created on
first use with :data:`REQUIREMENTS`. :func:`run_evidently` writes the reference
and each window as Parquet files to a temporary folder, runs
``bench/_evidently_worker.py`` in that virtualenv as a subprocess, and returns
one result per window: which columns Evidently flags for drift (its default
``DataDriftPreset``), for missing values (``TestColumnShareOfMissingValues``)
and for out-of-list values (``TestNumberOfOutListValues``), all with their
default conditions, plus the seconds each window took.

Usage::

    from bench._evidently import run_evidently
    flags = run_evidently(reference, windows, numerical=[...], categorical=[...], text=[...])
    flags[0]["drift"]["distance"]  # True when Evidently flags drift
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import venv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-evidently"
WORKER = HERE / "_evidently_worker.py"
REQUIREMENTS = ("evidently==0.7.23", "pandas<3", "pyarrow")
"""Evidently 0.7.23 needs pandas < 3 (``infer_dtype_from_object`` was removed)."""

EVALUATIONS = ("drift", "missing", "outlist")


def python() -> Path:
    """The virtualenv's interpreter, creating the virtualenv on first use."""
    exe = VENV / "bin" / "python"
    if exe.exists() and _has_evidently(exe):
        return exe
    print(f"creating {VENV} with {', '.join(REQUIREMENTS)} …", file=sys.stderr)
    venv.create(VENV, with_pip=True, clear=exe.exists())
    subprocess.run([str(exe), "-m", "pip", "install", "-q", *REQUIREMENTS], check=True)
    return exe


def _has_evidently(exe: Path) -> bool:
    probe = subprocess.run(
        [str(exe), "-c", "import evidently; print(evidently.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.returncode == 0 and probe.stdout.strip() == REQUIREMENTS[0].split("==")[1]


def run_evidently(
    reference: pd.DataFrame,
    windows: Sequence[pd.DataFrame],
    *,
    numerical: Sequence[str],
    categorical: Sequence[str],
    text: Sequence[str] = (),
    evaluations: Sequence[str] = EVALUATIONS,
) -> list[dict[str, Any]]:
    """Evidently's verdicts on each window against ``reference`` (see the module docstring)."""
    exe = python()
    with tempfile.TemporaryDirectory(prefix="mlmon-evidently-") as tmp:
        root = Path(tmp)
        columns = [*numerical, *categorical, *text]
        reference[columns].to_parquet(root / "reference.parquet")
        for i, window in enumerate(windows):
            window[columns].to_parquet(root / f"window_{i}.parquet")
        spec = {
            "numerical": list(numerical),
            "categorical": list(categorical),
            "text": list(text),
            "windows": len(windows),
            "evaluations": list(evaluations),
        }
        (root / "spec.json").write_text(json.dumps(spec))
        subprocess.run([str(exe), str(WORKER), str(root)], check=True)
        lines = (root / "results.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]
