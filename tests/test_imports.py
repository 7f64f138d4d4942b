"""What stays light: the logging side (a serving app pays for no analyzer dependency) and
``mlmon-elk --help`` (a user's first command answers at once)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = (
    "pandas",
    "numpy",
    "scipy",
    "pyarrow",
    "apscheduler",
    "elasticsearch",
    "elastic_transport",
    "duckdb",  # a benchmark peer (bench/embedded.py); the package must not need it
)

CODE = f"""
import logging, sys
from mlmon_elk import PredictionFormatter, PredictionHandler, log_prediction, monitored
handler = PredictionHandler("stdout", model="m", counters_interval=0)
log_prediction(logging.getLogger("x"), inputs={{"a": 1}})
handler.log_prediction(inputs={{"a": 1.5, "b": "x", "c": None}})
handler.close()
print(sorted(set({HEAVY!r}) & set(sys.modules)), file=sys.stderr)
"""


def test_logging_imports_nothing_heavy() -> None:
    """Importing and using the handler loads none of pandas, numpy, scipy, APScheduler or
    the Elasticsearch client."""
    result = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, check=True
    )
    assert result.stderr.strip().splitlines()[-1] == "[]"


def test_writing_straight_to_the_cluster_imports_nothing_heavy() -> None:
    """The bulk transport speaks HTTP with the standard library: no Elasticsearch client."""
    code = f"""
import sys
from mlmon_elk import PredictionHandler
handler = PredictionHandler(
    "elasticsearch+http://127.0.0.1:9", model="m", spool_dir=None, close_timeout=0.2
)
handler.log_prediction(inputs={{"a": 1}})
handler.drain(1)
handler.close()
assert "mlmon_elk.producer.transports.bulk" in sys.modules
print(sorted(set({HEAVY!r}) & set(sys.modules)), file=sys.stderr)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stderr.strip().splitlines()[-1] == "[]"


HELP = f"""
import contextlib, io, sys
from mlmon_elk.cli import main
for argv in (["--help"], ["analyze", "--help"], ["baseline", "--help"], ["serve", "--help"]):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        main(argv)
print(sorted(set({HEAVY!r}) & set(sys.modules)), file=sys.stderr)
"""


def test_help_imports_nothing_heavy() -> None:
    """``mlmon-elk --help`` and every subcommand's ``--help`` load none of pandas, numpy,
    SciPy, pyarrow, DuckDB, APScheduler or the Elasticsearch client: they are imported where
    a command runs."""
    result = subprocess.run(
        [sys.executable, "-c", HELP], capture_output=True, text=True, check=True
    )
    assert result.stderr.strip().splitlines()[-1] == "[]"


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

CONFIG = f"""
import sys
from mlmon_elk.analyzer.config import load_config
for name in ("mlmon.yaml", "mlmon-files.yaml"):
    config = load_config({str(EXAMPLES)!r} + "/" + name)
    assert config.models[0].settings.min_expected_count == 5
print(sorted(set({HEAVY!r}) & set(sys.modules)), file=sys.stderr)
"""


def test_reading_the_configuration_imports_nothing_heavy() -> None:
    """Loading the analyzer's configuration (both examples: Elasticsearch and files) loads
    none of pandas, numpy, SciPy or the Elasticsearch client: the defaults it offers live in
    light modules (``profile.defaults``, ``sources.files``, ``engine.client``,
    ``checks.settings``), and ``checks`` imports ``check_run`` on first use."""
    result = subprocess.run(
        [sys.executable, "-c", CONFIG], capture_output=True, text=True, check=True
    )
    assert result.stderr.strip().splitlines()[-1] == "[]"
