"""``mlmon-elk setup`` prints one line per asset and exits non-zero with one line on errors."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlmon_elk.cli import main
from mlmon_elk.contract import Dataset, stream_name
from tests.conftest import EsTarget
from tests.factories import index_documents, prediction
from tests.stack.fake_kibana import FakeKibana

UNREACHABLE = "http://127.0.0.1:9"


def test_help_shows_examples_and_the_credential_variables() -> None:
    """The installed command's ``--help`` documents usage by example."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("mlmon-elk")), "setup", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "examples:" in result.stdout
    assert "MLMON_KIBANA_API_KEY" in result.stdout
    assert "--dry-run" in result.stdout


def test_setup_against_kibana_reports_every_asset(
    kibana: FakeKibana, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run prints each created asset and a summary; a second run finds nothing to do."""
    assert main(["setup", "--kibana", kibana.url, "--wait", "5"]) == 0
    first = capsys.readouterr().out.splitlines()
    assert first[0].startswith("# Kibana 8.14")
    assert "create    kibana rule mlmon-new-critical-alert" in first
    assert "create    kibana connector mlmon-server-log" in first
    assert first[-1] == "12 created, 0 updated, 0 unchanged"

    assert main(["setup", "--kibana", kibana.url, "--wait", "5"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "0 created, 0 updated, 12 unchanged"


def test_dry_run_without_a_stack_lists_what_would_be_installed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With nothing reachable, --dry-run still prints the plan and succeeds."""
    code = main(["setup", "--elasticsearch", UNREACHABLE, "--kibana", UNREACHABLE, "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert "unknown   elasticsearch index template mlmon-prediction" in out
    assert "unknown   kibana dashboard mlmon-dashboard-overview" in out
    assert out.rstrip().endswith("(dry run: nothing was written)")


def test_no_service_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a URL the command exits 2 with one line naming the options."""
    assert main(["setup"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "mlmon-elk setup: error: give --elasticsearch URL, --kibana URL or both"


def test_bad_retention_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    """A retention age ILM would not understand is refused before connecting."""
    code = main(["setup", "--elasticsearch", UNREACHABLE, "--prediction-retention", "1 month"])
    assert code == 2
    assert "retention predictions: '1 month'" in capsys.readouterr().err


def test_unreachable_elasticsearch_fails_after_the_wait(capsys: pytest.CaptureFixture[str]) -> None:
    """Outside a dry run, a service that never answers ends with exit 2 and the reason."""
    assert main(["setup", "--elasticsearch", UNREACHABLE, "--wait", "0.2"]) == 2
    err = capsys.readouterr().err
    assert "Elasticsearch not ready after 0.2s" in err
    assert len(err.strip().splitlines()) == 1


def test_setup_on_the_engine_installs_data_streams_and_a_second_run_changes_nothing(
    es_bare: EsTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    """`setup --elasticsearch URL --distribution …` twice: the data-stream variant, then all
    unchanged; a prediction indexed afterwards lands in a data stream, not a plain index."""
    argv = ["setup", "--elasticsearch", es_bare.url, "--distribution", es_bare.engine]
    assert main([*argv, "--wait", "30"]) == 0
    first = capsys.readouterr().out.splitlines()
    assert first[0].endswith(": data-stream variant")
    assert "index template mlmon-prediction" in "\n".join(first)
    assets = sum(int(part.split()[0]) for part in first[-1].split(", "))
    assert main([*argv, "--wait", "30"]) == 0
    again = capsys.readouterr().out.splitlines()[-1]
    assert again == f"0 created, 0 updated, {assets} unchanged"

    stream = stream_name(Dataset.PREDICTION, es_bare.namespace)
    index_documents(es_bare.client, stream, [prediction(datetime.now(UTC), inputs={"age": 3})])
    (found,) = es_bare.client.indices.get_data_stream(name=stream)["data_streams"]
    assert found["template"] == "mlmon-prediction"


def test_a_wrong_distribution_is_refused_by_argparse(capsys: pytest.CaptureFixture[str]) -> None:
    """--distribution takes auto, elasticsearch or opensearch only."""
    with pytest.raises(SystemExit) as info:
        main(["setup", "--elasticsearch", UNREACHABLE, "--distribution", "solr"])
    assert info.value.code == 2
    assert "--distribution: invalid choice: 'solr'" in capsys.readouterr().err
