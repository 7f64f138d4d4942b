"""docker-compose.yml, .env.example, the Dockerfile and the helper scripts fit together.

No Docker engine runs here, so the stack is checked by its structure: every
variable is defined, every dependency and mount resolves, versions are pinned,
security is on, and the commands the services run are ones mlmon-elk accepts.
The stack itself is exercised by tests/e2e/test_stack.py where Docker exists.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlmon_elk.cli import build_parser
from mlmon_elk.contract import Dataset, stream_name
from mlmon_elk.stack.dashboards import MINIMUM_KIBANA
from mlmon_elk.stack.templates import INVALID_DATASET

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::?-[^}]*)?\}")


def _env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def _version(number: str) -> tuple[int, ...]:
    return tuple(int(p) for p in number.split("."))


def test_every_variable_the_compose_file_uses_is_in_env_example() -> None:
    """``cp .env.example .env`` is enough for ``docker compose config`` to resolve."""
    used = set(VARIABLE.findall((ROOT / "docker-compose.yml").read_text()))
    assert used
    assert used <= set(_env_example())


def test_stack_images_are_pinned_to_one_supported_version() -> None:
    """Elasticsearch, Kibana and Logstash share STACK_VERSION, at least the oldest supported."""
    for name in ("setup", "es01", "kibana", "logstash"):
        assert SERVICES[name]["image"].endswith(":${STACK_VERSION}"), name
    version = _env_example()["STACK_VERSION"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert _version(version) >= _version(MINIMUM_KIBANA)


def test_dependencies_resolve_and_wait_for_readiness() -> None:
    """Each depends_on names a service with a healthcheck (or a one-shot to complete)."""
    for name, service in SERVICES.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in SERVICES, (name, dependency)
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[dependency], dependency
            else:
                assert condition["condition"] == "service_completed_successfully"
                assert SERVICES[dependency].get("restart", "no") == "no"
    for name in ("es01", "kibana", "logstash"):
        assert "healthcheck" in SERVICES[name], name


def test_security_is_on_with_tls_and_a_kibana_encryption_key() -> None:
    """TLS on Elasticsearch, Kibana as kibana_system with the CA, alerting's key set."""
    es = SERVICES["es01"]["environment"]
    assert es["xpack.security.enabled"] == "true"
    assert es["xpack.security.http.ssl.enabled"] == "true"
    kibana = SERVICES["kibana"]["environment"]
    assert kibana["ELASTICSEARCH_USERNAME"] == "kibana_system"
    assert kibana["ELASTICSEARCH_HOSTS"].startswith("https://")
    assert kibana["ELASTICSEARCH_SSL_CERTIFICATEAUTHORITIES"]
    assert kibana["XPACK_ENCRYPTEDSAVEDOBJECTS_ENCRYPTIONKEY"] == "${KIBANA_ENCRYPTION_KEY}"
    assert len(_env_example()["KIBANA_ENCRYPTION_KEY"]) >= 32
    assert len(_env_example()["ELASTIC_PASSWORD"]) >= 6


def test_published_ports_listen_on_localhost_only() -> None:
    """Nothing of the demo stack is exposed beyond the machine."""
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)


def test_bind_mounts_exist_in_the_repository() -> None:
    """Every ./path mounted into a container is a file or directory of the checkout."""
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), (name, source)
            else:
                assert source in COMPOSE["volumes"], (name, source)


def test_logstash_gets_the_pipeline_settings_and_api_key() -> None:
    """The pipeline directory replaces the image default; the key comes from the setup service."""
    logstash = SERVICES["logstash"]
    targets = {v.split(":")[1] for v in logstash["volumes"]}
    assert "/usr/share/logstash/pipeline" in targets
    assert "/usr/share/logstash/config/logstash.yml" in targets
    assert "/usr/share/logstash/config/pipelines.yml" in targets
    entrypoint = (ROOT / "docker" / "logstash-entrypoint.sh").read_text()
    assert "MLMON_LOGSTASH_API_KEY" in entrypoint
    assert "exec /usr/local/bin/docker-entrypoint" in entrypoint
    assert "MLMON_LOGSTASH_API_KEY" not in yaml.safe_dump(logstash["environment"])


def test_the_logstash_api_key_may_write_every_mlmon_stream_and_nothing_else() -> None:
    """The key's index pattern covers the three streams and the invalid one."""
    script = (ROOT / "docker" / "stack-setup.sh").read_text()
    (pattern,) = re.findall(r'"names": \["([^"]+)"\]', script)
    privileges = re.findall(r'"privileges": \[([^\]]+)\]', script)
    assert privileges == ['"create_doc", "auto_configure"']
    for dataset in (Dataset.PREDICTION, Dataset.CHECK, Dataset.ALERT):
        assert fnmatch.fnmatchcase(stream_name(dataset), pattern)
    assert fnmatch.fnmatchcase(f"logs-{INVALID_DATASET}-default", pattern)
    assert not fnmatch.fnmatchcase("logs-generic-default", pattern)


@pytest.mark.parametrize("script", ["stack-setup.sh", "logstash-entrypoint.sh"])
def test_helper_scripts_are_valid_bash(script: str) -> None:
    """``bash -n`` accepts the scripts the containers run."""
    result = subprocess.run(
        ["bash", "-n", str(ROOT / "docker" / script)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_setup_service_runs_a_valid_setup_command() -> None:
    """The mlmon-setup command parses with mlmon-elk's own CLI, with the compose CA."""
    service = SERVICES["mlmon-setup"]
    command = service["command"]
    assert command[0] == "mlmon-elk"
    args = build_parser().parse_args(command[1:])
    assert args.command == "setup"
    assert args.elasticsearch == "https://es01:9200"
    assert args.kibana == "http://kibana:5601"
    assert args.ca_certs == "/certs/ca/ca.crt"
    assert not args.insecure
    assert set(service["environment"]) == {"MLMON_ES_USERNAME", "MLMON_ES_PASSWORD"}


def test_analyzer_reads_the_baseline_the_baseline_service_writes() -> None:
    """The analyzer config names the file the baseline service writes, on a shared volume."""
    analyzer, baseline = SERVICES["analyzer"], SERVICES["baseline"]
    config_path = analyzer["command"][analyzer["command"].index("--config") + 1]
    assert analyzer["command"][:2] == ["mlmon-elk", "serve"]
    assert config_path.startswith("/app/")
    config = yaml.safe_load((ROOT / config_path.removeprefix("/app/")).read_text())
    (model,) = config["models"]
    (path,) = model["baselines"].values()
    out = baseline["command"][baseline["command"].index("--out") + 1]
    assert path == out
    assert model["name"] == baseline["command"][baseline["command"].index("--model") + 1]
    assert config["elasticsearch"]["ca_certs"] == "/certs/ca/ca.crt"
    assert "password" not in yaml.safe_dump(config).lower()


def test_demo_services_use_the_decided_example_paths() -> None:
    """The example app and traffic generator live where issue 6 will put them."""
    app, traffic = SERVICES["app"], SERVICES["traffic"]
    assert "examples/serving/gunicorn.conf.py" in app["command"]
    assert app["command"][-1] == "app:app"
    assert app["command"][app["command"].index("--chdir") + 1] == "examples/serving"
    assert app["environment"]["MLMON_LOGSTASH_URL"] == "tcp://logstash:5000"
    assert traffic["command"] == ["python", "examples/serving/traffic.py"]
    assert traffic["environment"]["MLMON_DEMO_DRIFT"] == "${MLMON_DEMO_DRIFT}"
    for name in ("baseline", "analyzer", "app", "traffic"):
        assert SERVICES[name]["profiles"] == ["demo"], name


def test_image_installs_the_package_with_the_analyzer_extra() -> None:
    """The Dockerfile installs ``.[analyzer]`` and runs as an unprivileged user."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'pip install ".[analyzer]"' in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, flags=re.MULTILINE)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored
    assert ".env" in ignored
