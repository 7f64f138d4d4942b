"""The demo and report commands: one-line errors, working files."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlmon_elk.cli import main
from mlmon_elk.contract import Dataset, stream_name
from mlmon_elk.demo.run import Stack, _bulk_load
from tests.conftest import EsTarget


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--logstash", "tcp://localhost:5000"], "--logstash needs --elasticsearch"),
        (
            ["demo", "--elasticsearch", "https://localhost:9200", "--client-cert", "c.pem"],
            "go with --logstash",
        ),
        (
            ["demo", "--elasticsearch", "https://e", "--logstash", "tls://l", "--client-cert", "c"],
            "--client-cert and --client-key go together",
        ),
        (["demo", "--windows", "6"], "at least 7"),
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


def test_demo_and_report_on_the_engine_without_logstash(
    es_bare: EsTarget, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`demo --elasticsearch URL`: templates installed, predictions bulk-created into the
    data stream under their ids (a second load adds nothing), alerts fire and resolve, and
    `report --config` reads the results back from the engine."""
    out = tmp_path / "demo"
    argv = ["demo", "--elasticsearch", es_bare.url, "--namespace", es_bare.namespace]
    assert main([*argv, "--out", str(out), "--windows", "7", "--per-window", "200"]) == 0
    said = capsys.readouterr().out
    predictions = stream_name(Dataset.PREDICTION, es_bare.namespace)
    assert f"bulk-created 1,401 documents in {predictions} (0 were already there)" in said
    assert "✖ critical" in said
    assert "✔ resolved" in said

    streams = es_bare.client.indices.get_data_stream(name=f"logs-mlmon.*-{es_bare.namespace}")
    assert sorted(s["template"] for s in streams["data_streams"]) == [
        "mlmon-alert",
        "mlmon-check",
        "mlmon-prediction",
    ]
    stack = Stack(es_bare.url, None, es_bare.namespace)
    assert _bulk_load(stack, out / "logs" / "predictions.jsonl") == (0, 1_401)
    assert es_bare.client.count(index=predictions)["count"] == 1_401

    report = tmp_path / "report.html"
    assert main(["report", "--config", str(out / "mlmon.yaml"), "-o", str(report)]) == 0
    line = capsys.readouterr().out
    assert line.startswith(f"wrote {report}: ")
    assert "firing" in line
    assert "employment_years" in report.read_text(encoding="utf-8")
