"""The YAML configuration: defaults, per-model check overrides, and precise errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlmon_elk.analyzer.config import config_from_dict, load_config
from mlmon_elk.contract import Check
from mlmon_elk.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def minimal(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "files": {"predictions": ["logs/*.jsonl*"]},
        "models": [{"name": "credit", "baselines": {"1.0": "baselines/credit-1.0.yaml"}}],
    }
    data.update(extra)
    return data


def test_a_minimal_files_config_gets_the_documented_defaults(tmp_path: Path) -> None:
    """Only predictions and one model are required; paths are relative to the config file."""
    config = config_from_dict(minimal(), base=tmp_path)
    assert config.files is not None
    assert config.files.predictions == (str(tmp_path / "logs/*.jsonl*"),)
    assert config.files.output == tmp_path / "mlmon-results"
    assert config.namespace == "default"
    assert config.schedule.interval == config.schedule.window == timedelta(minutes=5)
    assert config.schedule.delay == timedelta(minutes=1)
    assert config.catch_up == timedelta(days=1)
    assert config.reevaluate_within == timedelta(days=14)
    assert config.reevaluate_per_tick == 24
    assert config.misfire_grace == timedelta(minutes=5)
    assert config.models[0].baselines == (("1.0", tmp_path / "baselines/credit-1.0.yaml"),)
    assert config.analysis.history == 12


def test_elasticsearch_section_maps_onto_the_connection(tmp_path: Path) -> None:
    """Hosts, variable names, CA file and TLS settings reach EsConnection (never secrets)."""
    (tmp_path / "ca.crt").write_text("x")
    data = minimal(
        elasticsearch={
            "hosts": ["https://es1:9200", "https://es2:9200"],
            "api_key_env": "PROD_ES_KEY",
            "ca_certs": "ca.crt",
            "request_timeout": "45s",
            "max_buckets": 20000,
            "sample_rows": 0,
            "distribution": "opensearch",
            "retry": {"attempts": 6, "initial": "2s"},
        }
    )
    del data["files"]
    config = config_from_dict(data, base=tmp_path)
    assert config.elasticsearch is not None
    connection = config.elasticsearch.connection
    assert connection.hosts == ("https://es1:9200", "https://es2:9200")
    assert connection.api_key_env == "PROD_ES_KEY"
    assert connection.ca_certs == str(tmp_path / "ca.crt")
    assert connection.verify_certs is True
    assert connection.request_timeout == 45
    assert connection.distribution == "opensearch"
    assert config.elasticsearch.unsent_runs is None  # built in memory: kept in memory only
    assert config.elasticsearch.max_buckets == 20000
    assert config.elasticsearch.sample_rows == 0  # every prediction counted
    assert (config.elasticsearch.retry.attempts, config.elasticsearch.retry.initial) == (6, 2.0)


def test_check_overrides_map_onto_check_settings_fields_by_name(tmp_path: Path) -> None:
    """Shared checks apply to every model; a model's own checks and shortcuts win."""
    data = minimal(checks={"min_rows": 500, "family_alpha": 0.05, "break_alpha": 0.0005})
    data["models"][0].update(
        {
            "latency_sla_ms": {95: 250, "99": 800.5},
            "max_error_rate": 0.02,
            "expected_versions": ["1.0", 2],
            "checks": {"min_rows": 1000, "disabled": ["volume", "text_oov"]},
        }
    )
    settings = config_from_dict(data, base=tmp_path).models[0].settings
    assert settings.min_rows == 1000
    assert settings.family_alpha == 0.05
    assert settings.break_alpha == 0.0005
    assert settings.latency_sla_ms == {95.0: 250.0, 99.0: 800.5}
    assert settings.max_error_rate == 0.02
    assert settings.expected_versions == frozenset({"1.0", "2"})
    assert settings.disabled == frozenset({Check.VOLUME, Check.TEXT_OOV})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["models"].extend(
                [
                    d["models"][0] | {"name": "b"},
                    d["models"][0] | {"name": "c", "latency_sla_ms": {95: "fast"}},
                ]
            ),
            "models[2].latency_sla_ms.95: expected a positive number, got 'fast'",
        ),
        (
            lambda d: d["models"][0].update(checks={"min_rowz": 3}),
            "models[0].checks.min_rowz: unknown key; did you mean 'min_rows'?",
        ),
        (
            lambda d: d["models"][0].update(checks={"disabled": ["volumes"]}),
            "models[0].checks.disabled[0]: expected one of feature_vanished",
        ),
        (
            lambda d: d["models"][0].update(max_error_rate=1.5),
            "models[0].max_error_rate: expected a number between 0 and 1, got 1.5",
        ),
        (
            lambda d: d["models"][0].update(checks={"break_alpha": 5}),
            "models[0].checks.break_alpha: expected a number between 0 and 1, got 5",
        ),
        (
            lambda d: d["models"][0].update(latency_sla_ms={100: 5}),
            "models[0].latency_sla_ms.100: expected a percentile between 0 and 100",
        ),
        (
            lambda d: d["models"][0].update(checks={"min_rows": -1}),
            "models[0].checks.min_rows: expected an integer ≥ 0, got -1",
        ),
        (
            lambda d: d["models"][0].pop("baselines"),
            "models[0].baselines: expected a mapping of version to baseline file",
        ),
        (
            lambda d: d["models"][0].update(default_version="9"),
            "models[0].default_version: '9' is not one of the baseline versions ['1.0']",
        ),
        (
            lambda d: d.update(schedule={"interval": "5 minutes"}),
            "schedule.interval: expected a duration such as",
        ),
        (
            lambda d: d.update(schedule={"catch_up": "-1h"}),
            "schedule.catch_up: expected a duration such as",
        ),
        (lambda d: d.update(schedul={}), "schedul: unknown key; did you mean 'schedule'?"),
        (lambda d: d.update(namespace="Prod-1"), "namespace: namespace 'Prod-1' is not valid"),
        (
            lambda d: d.update(elasticsearch={"hosts": ["es:9200"]}),
            "elasticsearch.hosts[0]: expected a URL starting with http://",
        ),
        (
            lambda d: d.update(elasticsearch={"api_key_env": "abc:def=="}),
            "elasticsearch.api_key_env: expected the NAME of an environment variable",
        ),
        (
            lambda d: d.update(elasticsearch={"verify_certs": "no"}),
            "elasticsearch.verify_certs: expected true or false, got 'no'",
        ),
        (
            lambda d: d.update(elasticsearch={"sample_rows": -1}),
            "elasticsearch.sample_rows: expected an integer ≥ 0",
        ),
        (
            lambda d: d.update(elasticsearch={"distribution": "opendistro"}),
            "elasticsearch.distribution: expected one of auto, elasticsearch, opensearch,"
            " got 'opendistro'",
        ),
        (lambda d: d.pop("files"), "config: set either 'elasticsearch:' (hosts…) or 'files:'"),
        (lambda d: d["models"].append(d["models"][0]), "models: model 'credit' is listed twice"),
        (
            lambda d: d["models"][0].update(max_error_rate=0.1, checks={"max_error_rate": 0.2}),
            "models[0].max_error_rate: also set under models[0].checks; keep one",
        ),
        (
            lambda d: d.update(files={"predictions": []}),
            "files.predictions: expected at least one file or glob",
        ),
        (
            lambda d: d.update(schedule={"reevaluate_per_tick": 0}),
            "schedule.reevaluate_per_tick: expected a positive integer, got 0",
        ),
        (
            lambda d: d.update(schedule={"reevaluate_within": "two weeks"}),
            "schedule.reevaluate_within:",
        ),
        (
            lambda d: d.update(analysis={"percentiles": [50, 100]}),
            "analysis.percentiles[1]: expected a percentile between 0 and 100",
        ),
    ],
)
def test_errors_name_the_exact_key_and_what_was_expected(
    change: Any, message: str, tmp_path: Path
) -> None:
    """Every mistake is reported with its dotted key path and the expectation."""
    data = minimal()
    change(data)
    if "elasticsearch" in data and "files" in data:
        del data["files"]
    with pytest.raises(ConfigError) as info:
        config_from_dict(data, base=tmp_path)
    assert message in str(info.value)
    assert "hunter2" not in str(info.value)


def test_missing_or_broken_files_are_config_errors(tmp_path: Path) -> None:
    """A missing file and invalid YAML both say which file."""
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_config(bad)


@pytest.mark.parametrize("name", ["mlmon.yaml", "mlmon-files.yaml"])
def test_the_shipped_example_configs_are_valid(name: str) -> None:
    """examples/ configs load as they are shipped and hold no secret, only variable names."""
    config = load_config(REPO / "examples" / name)
    assert config.models
    raw = yaml.safe_load((REPO / "examples" / name).read_text(encoding="utf-8"))
    assert not {"password", "api_key", "username"} & set(raw.get("elasticsearch", {}))


def test_unsent_runs_wait_next_to_the_config_file_unless_configured(tmp_path: Path) -> None:
    """The default file sits beside the YAML; a relative setting is resolved against it."""
    data = minimal(elasticsearch={"hosts": ["http://es:9200"]})
    del data["files"]
    path = tmp_path / "conf" / "mlmon.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    config = load_config(path)
    assert config.elasticsearch is not None
    assert config.elasticsearch.unsent_runs == path.parent.resolve() / "mlmon-unsent-runs.jsonl"
    data["elasticsearch"]["unsent_runs"] = "../state/runs.jsonl"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    config = load_config(path)
    assert config.elasticsearch is not None
    assert config.elasticsearch.unsent_runs == path.parent.resolve() / "../state/runs.jsonl"
