"""docker-compose.yml, .env.example, the Dockerfile and the helper scripts fit together.

No Docker engine runs here, so the stack is checked by its structure: every
variable is defined, every dependency and mount resolves, versions are pinned,
security is on, and the commands the services run are ones mlmon-elk accepts.
The stack itself is exercised by tests/e2e/test_stack.py where Docker exists.
"""

from __future__ import annotations

import fnmatch
import json
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
VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")
SECRETS = (
    "ELASTIC_PASSWORD",
    "KIBANA_PASSWORD",
    "KIBANA_SAVED_OBJECTS_KEY",
    "KIBANA_SECURITY_KEY",
    "KIBANA_REPORTING_KEY",
    "LOGSTASH_HTTP_PASSWORD",
)


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
    keys = [
        kibana[name]
        for name in (
            "XPACK_ENCRYPTEDSAVEDOBJECTS_ENCRYPTIONKEY",
            "XPACK_SECURITY_ENCRYPTIONKEY",
            "XPACK_REPORTING_ENCRYPTIONKEY",
        )
    ]
    # Three separately generated keys, not one reused.
    assert len({VARIABLE.fullmatch(k).group(1) for k in keys}) == 3  # type: ignore[union-attr]


def test_required_secrets_stop_compose_when_empty_and_have_no_example_value() -> None:
    """Every use of a secret is ``${VAR:?message}``; .env.example leaves them empty."""
    text = (ROOT / "docker-compose.yml").read_text()
    for name in SECRETS:
        uses = re.findall(r"\$\{" + name + r"([^}]*)\}", text)
        assert uses, name
        assert all(use.startswith(":?") and len(use) > 10 for use in uses), (name, uses)
        assert _env_example()[name] == "", name


def run_setup_checks(**env: str) -> subprocess.CompletedProcess[str]:
    """The secret checks at the top of stack-setup.sh (they run before anything else)."""
    return subprocess.run(
        ["bash", str(ROOT / "docker" / "stack-setup.sh")],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", **env},
        cwd="/",
        timeout=30,
    )


GOOD = {
    "ELASTIC_PASSWORD": "a" * 10 + "x7Q2",
    "KIBANA_PASSWORD": "b" * 10 + "k9Z4",
    "KIBANA_SAVED_OBJECTS_KEY": "1" * 64,
    "KIBANA_SECURITY_KEY": "2" * 64,
    "KIBANA_REPORTING_KEY": "3" * 64,
    "LOGSTASH_HTTP_PASSWORD": "c" * 10 + "h5W1",
}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"ELASTIC_PASSWORD": "change-me-elastic"}, "ELASTIC_PASSWORD still has the example value"),
        ({"KIBANA_PASSWORD": "short"}, "KIBANA_PASSWORD is shorter than 12"),
        ({"KIBANA_SECURITY_KEY": ""}, "KIBANA_SECURITY_KEY is empty"),
        ({"KIBANA_REPORTING_KEY": "2" * 64}, "the three Kibana keys must be generated separately"),
        ({"KIBANA_SAVED_OBJECTS_KEY": "abc"}, "KIBANA_SAVED_OBJECTS_KEY is shorter than 32"),
        ({"LOGSTASH_HTTP_PASSWORD": "changeme"}, "LOGSTASH_HTTP_PASSWORD still has the example"),
    ],
)
def test_the_setup_service_refuses_weak_or_example_secrets(
    change: dict[str, str], reason: str
) -> None:
    done = run_setup_checks(**{**GOOD, **change})
    assert done.returncode == 1
    assert f"Refusing to start: {reason}" in done.stderr


def test_good_secrets_pass_the_checks() -> None:
    """With good values the script goes on (and, here, fails later: no Elasticsearch image)."""
    done = run_setup_checks(**GOOD)
    assert "Refusing" not in done.stderr


def test_the_kibana_system_password_loop_reports_and_gives_up() -> None:
    """A refused password is printed with the answer and stops after a bounded number of tries."""
    script = (ROOT / "docker" / "stack-setup.sh").read_text()
    loop = script[script.index('echo "Setting the kibana_system password"') :]
    loop = loop[: loop.index("done\n")]
    assert 'max_tries="${MLMON_SETUP_TRIES:-12}"' in loop
    assert '$answer" >&2' in loop
    assert 'if [ "$tries" -ge "$max_tries" ]; then' in loop
    assert "exit 1" in loop


def test_nothing_writes_before_the_templates_are_installed() -> None:
    """Logstash, the app, the traffic and the analyzer wait for mlmon-setup to finish."""
    for name in ("logstash", "app", "traffic", "analyzer"):
        condition = SERVICES[name]["depends_on"].get("mlmon-setup", {}).get("condition")
        assert condition == "service_completed_successfully", name


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


def role_descriptors(key_name: str) -> dict[str, Any]:
    """The role descriptors stack-setup.sh gives the API key ``key_name``."""
    script = (ROOT / "docker" / "stack-setup.sh").read_text()
    found = re.search(r"ensure_api_key " + key_name + r" \S+ '(\{.*?\n\})'", script, re.DOTALL)
    assert found, key_name
    return dict(json.loads(found.group(1)))


def privileges_on(descriptors: dict[str, Any], index: str) -> set[str]:
    (role,) = descriptors.values()
    return {
        p
        for entry in role["indices"]
        if any(fnmatch.fnmatchcase(index, pattern) for pattern in entry["names"])
        for p in entry["privileges"]
    }


def test_the_logstash_api_key_may_write_every_mlmon_stream_and_nothing_else() -> None:
    """The key's index pattern covers the three streams and the invalid one, append only."""
    logstash = role_descriptors("mlmon-logstash")
    for index in [stream_name(d) for d in (Dataset.PREDICTION, Dataset.CHECK, Dataset.ALERT)] + [
        f"logs-{INVALID_DATASET}-default"
    ]:
        assert privileges_on(logstash, index) == {"create_doc", "auto_configure"}, index
    assert privileges_on(logstash, "logs-generic-default") == set()


def test_the_analyzer_runs_with_a_least_privilege_key_not_the_superuser() -> None:
    """Read predictions; read and append results and alerts; nothing else."""
    analyzer = role_descriptors("mlmon-analyzer")
    (role,) = analyzer.values()
    assert role["cluster"] == []
    assert privileges_on(analyzer, stream_name(Dataset.PREDICTION)) == {"read"}
    for dataset in (Dataset.CHECK, Dataset.ALERT):
        assert privileges_on(analyzer, stream_name(dataset)) == {
            "read",
            "create_doc",
            "auto_configure",
        }
    assert privileges_on(analyzer, "logs-generic-default") == set()
    service = SERVICES["analyzer"]
    assert "environment" not in service  # no superuser password handed over
    assert service["entrypoint"] == ["bash", "/app/docker/analyzer-entrypoint.sh"]
    entrypoint = (ROOT / "docker" / "analyzer-entrypoint.sh").read_text()
    assert "MLMON_ES_API_KEY" in entrypoint
    assert 'exec "$@"' in entrypoint
    assert "/certs/mlmon/analyzer_api_key" in entrypoint


@pytest.mark.parametrize(
    "script",
    ["stack-setup.sh", "logstash-entrypoint.sh", "analyzer-entrypoint.sh", "pem-to-pkcs8.sh"],
)
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
    assert app["environment"]["MLMON_LOGSTASH_URL"] == "tls://logstash:5000"
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


SETUP_CERTS = "/usr/share/elasticsearch/config/certs/"


def _setup_made(path_in_volume: str) -> bool:
    """Whether stack-setup.sh creates ``path_in_volume`` (a path inside the certs volume):
    certutil names each instance's files <name>/<name>.crt|key; the PKCS#8 copy is
    written by pem-to-pkcs8.sh."""
    script = (ROOT / "docker" / "stack-setup.sh").read_text()
    directory, _, name = path_in_volume.partition("/")
    if path_in_volume.startswith("ca/"):
        return "certutil ca" in script and name in ("ca.crt", "ca.key")
    instance = re.search(r"- name: " + re.escape(directory) + r"\n", script)
    if name.endswith(".pkcs8.key"):
        return f'"$certs/{path_in_volume}"' in script and "pem-to-pkcs8.sh" in script
    return instance is not None and name in (f"{directory}.crt", f"{directory}.key")


def test_every_input_certificate_is_one_the_setup_service_issues() -> None:
    """Logstash's inputs and the app use files the setup service writes into the certs
    volume, under the mounts of each container; Logstash's key is the PKCS#8 copy."""
    logstash = SERVICES["logstash"]["environment"]
    mount = "/usr/share/logstash/config/certs/"
    for name in ("MLMON_INPUT_CERT", "MLMON_INPUT_KEY", "MLMON_INPUT_CA"):
        assert logstash[name].startswith(mount), name
        assert _setup_made(logstash[name].removeprefix(mount)), name
    assert logstash["MLMON_INPUT_KEY"].endswith(".pkcs8.key")
    pipeline = (ROOT / "logstash" / "pipeline" / "mlmon.conf").read_text()
    for name in ("MLMON_INPUT_CERT", "MLMON_INPUT_KEY", "MLMON_INPUT_CA"):
        assert "${" + name + ":" + logstash[name] + "}" in pipeline, name
    app = SERVICES["app"]
    assert "certs:/certs:ro" in app["volumes"]
    for name in ("MLMON_LOGSTASH_CA", "MLMON_LOGSTASH_CLIENT_CERT", "MLMON_LOGSTASH_CLIENT_KEY"):
        path = app["environment"][name]
        assert path.startswith("/certs/"), name
        assert _setup_made(path.removeprefix("/certs/")), name
    script = (ROOT / "docker" / "stack-setup.sh").read_text()
    # The key's owner is the user each image runs as: Logstash 1000, mlmon-elk 10001.
    assert 'chown 1000:0 "$certs/logstash/logstash.pkcs8.key"' in script
    assert 'chown 10001:0 "$certs/mlmon-app/mlmon-app.key"' in script
    assert "useradd --uid 10001" in (ROOT / "Dockerfile").read_text()
    assert "./docker/pem-to-pkcs8.sh:/mlmon/pem-to-pkcs8.sh:ro" in SERVICES["setup"]["volumes"]


def test_logstash_http_input_credentials_come_from_the_env_file() -> None:
    """The http input's user and password are the ones a sender sets (the handler reads
    MLMON_HTTP_USERNAME / MLMON_HTTP_PASSWORD); the password is a required secret."""
    logstash = SERVICES["logstash"]["environment"]
    assert VARIABLE.fullmatch(logstash["MLMON_HTTP_USERNAME"]).group(1) == "LOGSTASH_HTTP_USERNAME"  # type: ignore[union-attr]
    assert VARIABLE.fullmatch(logstash["MLMON_HTTP_PASSWORD"]).group(1) == "LOGSTASH_HTTP_PASSWORD"  # type: ignore[union-attr]
    assert _env_example()["LOGSTASH_HTTP_USERNAME"]


def _pkcs8(directory: Path, key: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "docker" / "pem-to-pkcs8.sh"), str(key), str(directory / "out.key")],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def _openssl(*args: str) -> bytes:
    return subprocess.run(["openssl", *args], capture_output=True, check=True, timeout=60).stdout


@pytest.mark.parametrize("bits", [1024, 2048, 4096])
def test_pem_to_pkcs8_writes_what_openssl_writes(tmp_path: Path, bits: int) -> None:
    """certutil's PKCS#1 RSA key becomes, byte for byte, ``openssl pkcs8 -topk8 -nocrypt``'s
    output (Logstash's beats and http inputs read PKCS#8 only); a PKCS#8 key is copied."""
    pkcs1 = tmp_path / "pkcs1.key"
    _openssl("genrsa", "-traditional", "-out", str(pkcs1), str(bits))
    assert pkcs1.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    done = _pkcs8(tmp_path, pkcs1)
    assert done.returncode == 0, done.stderr
    expected = _openssl("pkcs8", "-topk8", "-nocrypt", "-in", str(pkcs1))
    assert (tmp_path / "out.key").read_bytes() == expected
    assert (tmp_path / "out.key").stat().st_mode & 0o077 == 0
    pkcs8 = tmp_path / "pkcs8.key"
    pkcs8.write_bytes(expected)
    assert _pkcs8(tmp_path, pkcs8).returncode == 0
    assert (tmp_path / "out.key").read_bytes() == expected


def test_pem_to_pkcs8_refuses_what_it_cannot_convert(tmp_path: Path) -> None:
    """An EC key or an encrypted key is a one-line error, not a broken file."""
    ec = tmp_path / "ec.key"
    ec.write_bytes(_openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout"))
    done = _pkcs8(tmp_path, ec)
    assert done.returncode == 1
    assert "is not an RSA private key in PEM" in done.stderr
    encrypted = tmp_path / "enc.key"
    encrypted.write_bytes(
        _openssl("genrsa", "-traditional", "-aes128", "-passout", "pass:secret-pass", "1024")
    )
    done = _pkcs8(tmp_path, encrypted)
    assert done.returncode == 1
    assert "is encrypted" in done.stderr
