"""The whole stack end to end: compose up, predictions through Logstash, analyzer, Kibana.

Needs a Docker engine and a few GB of memory; runs only with ``MLMON_E2E=1``
(``MLMON_E2E=1 pytest -m e2e``) and is skipped, with the reason shown, anywhere
else. It uses a throw-away compose project with its own volumes and free
ports, and removes it afterwards (``MLMON_E2E_KEEP=1`` keeps it for a look).

The scenario:

1. ``docker compose up`` the platform services: the security setup,
   Elasticsearch, Kibana, Logstash, and ``mlmon-elk setup`` (templates,
   retention, data views, dashboards, connector, rules);
2. the real ``PredictionHandler`` sends predictions to Logstash's tcp input
   over TLS with the client certificate the setup service issued (a sender
   without one is refused), plus a line that is not JSON; the predictions land in their data stream
   (with the mlmon template and ILM policy) and the line in the invalid stream;
3. Kibana has the dashboards, the connector and the four rules, and running
   setup again changes nothing;
4. a baseline is built from training data, drifted traffic is sent, the
   analyzer runs over those windows and writes check results, a run summary
   and alerts for the drifted features; the critical-alert rule fires.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import random
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mlmon_elk.contract import Check, Dataset, Status, Transition, stream_name
from mlmon_elk.engine.client import EsConnection, connect
from mlmon_elk.stack import rules
from mlmon_elk.stack.dashboards import ALERTS, DATA_QUALITY, OVERVIEW
from mlmon_elk.stack.kibana import Kibana, KibanaConnection
from mlmon_elk.stack.setup import SetupOptions, run_setup
from mlmon_elk.stack.templates import INVALID_DATASET

ROOT = Path(__file__).resolve().parents[2]
MODEL, VERSION = "e2e-credit", "1"
NAMESPACE = "default"


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _skip_reason() -> str | None:
    if os.environ.get("MLMON_E2E") != "1":
        return "full-stack test: set MLMON_E2E=1 on a machine with Docker to run it"
    if not _docker_answers():
        return "full-stack test: no Docker engine answers `docker info`"
    return None


_REASON = _skip_reason()
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(_REASON is not None, reason=_REASON or "")]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float, pause: float = 3.0) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception as exc:  # the stack is still starting
            last = exc
        else:
            if value:
                return value
            last = value
        time.sleep(pause)
    pytest.fail(f"{what} not reached after {timeout:g}s (last: {last!r})")


@dataclass
class Stack:
    """A running compose project and how to reach it from the test."""

    project: str
    env_file: Path
    env: dict[str, str]
    workdir: Path

    def compose(self, *args: str, check: bool = True, timeout: float = 1800) -> str:
        """Run ``docker compose`` on the project; a failure shows the services' logs."""
        result = self._run(*args, timeout=timeout)
        if check and result.returncode != 0:
            logs = self._run("logs", "--no-color", "--timestamps", "--tail", "200", timeout=120)
            pytest.fail(
                f"{' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
                f"\n--- docker compose logs ---\n{logs.stdout[-20000:]}"
            )
        return result.stdout

    def _run(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        command = [
            "docker",
            "compose",
            "--project-directory",
            str(ROOT),
            "-f",
            str(ROOT / "docker-compose.yml"),
            "--env-file",
            str(self.env_file),
            "-p",
            self.project,
            *args,
        ]
        # Variables of the calling shell override --env-file in compose: pass the
        # project's values explicitly, over the inherited environment.
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, **self.env},
        )

    def port(self, name: str) -> int:
        return int(self.env[name])

    @property
    def ca(self) -> Path:
        return self.workdir / "ca.crt"

    @property
    def client_cert(self) -> Path:
        return self.workdir / "mlmon-app.crt"

    @property
    def client_key(self) -> Path:
        return self.workdir / "mlmon-app.key"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The platform services up, healthy, and set up by the mlmon-setup service."""
    workdir = tmp_path_factory.mktemp("e2e")
    env = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    env.update(
        ELASTIC_PASSWORD=secrets.token_urlsafe(16),
        KIBANA_PASSWORD=secrets.token_urlsafe(16),
        # Three keys, generated separately, as .env.example asks.
        KIBANA_SAVED_OBJECTS_KEY=secrets.token_hex(32),
        KIBANA_SECURITY_KEY=secrets.token_hex(32),
        KIBANA_REPORTING_KEY=secrets.token_hex(32),
        LOGSTASH_HTTP_PASSWORD=secrets.token_urlsafe(16),
        ES_PORT=str(_free_port()),
        KIBANA_PORT=str(_free_port()),
        LOGSTASH_TCP_PORT=str(_free_port()),
        LOGSTASH_HTTP_PORT=str(_free_port()),
        LOGSTASH_BEATS_PORT=str(_free_port()),
        APP_PORT=str(_free_port()),
        MEM_LIMIT=str(2 * 1024**3),
    )
    if os.environ.get("MLMON_E2E_STACK_VERSION"):
        env["STACK_VERSION"] = os.environ["MLMON_E2E_STACK_VERSION"]
    env_file = workdir / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    running = Stack(f"mlmon-e2e-{secrets.token_hex(3)}", env_file, env, workdir)
    try:
        running.compose("up", "--build", "--detach", "--wait", "es01", "kibana", "logstash")
        running.compose("up", "--build", "--exit-code-from", "mlmon-setup", "mlmon-setup")
        certs = "es01:/usr/share/elasticsearch/config/certs/"
        running.compose("cp", certs + "ca/ca.crt", str(running.ca))
        # The app's client certificate: Logstash's tcp input requires one.
        running.compose("cp", certs + "mlmon-app/mlmon-app.crt", str(running.client_cert))
        running.compose("cp", certs + "mlmon-app/mlmon-app.key", str(running.client_key))
        yield running
    finally:
        if os.environ.get("MLMON_E2E_KEEP") != "1":
            # --rmi local: the images built for this project go too.
            running.compose("down", "--volumes", "--remove-orphans", "--rmi", "local", check=False)


@pytest.fixture(scope="module")
def credentials(stack: Stack) -> Iterator[None]:
    """The elastic user's credentials in the variables mlmon-elk reads."""
    saved = {k: os.environ.get(k) for k in ("MLMON_ES_USERNAME", "MLMON_ES_PASSWORD")}
    os.environ["MLMON_ES_USERNAME"] = "elastic"
    os.environ["MLMON_ES_PASSWORD"] = stack.env["ELASTIC_PASSWORD"]
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def es(stack: Stack, credentials: None) -> Any:
    """A client of the stack's Elasticsearch, verifying its TLS certificate with the CA."""
    client = connect(
        EsConnection(hosts=(f"https://localhost:{stack.port('ES_PORT')}",), ca_certs=str(stack.ca))
    )
    yield client
    client.close()


@pytest.fixture(scope="module")
def kibana(stack: Stack, credentials: None) -> Kibana:
    """The stack's Kibana API."""
    return Kibana(KibanaConnection(url=f"http://localhost:{stack.port('KIBANA_PORT')}"))


def send_predictions(stack: Stack, rows: list[dict[str, Any]]) -> None:
    """Log ``rows`` through the real handler to Logstash's tcp input (TLS, client
    certificate), then flush and close."""
    from mlmon_elk import PredictionHandler, log_prediction

    logger = logging.getLogger(f"mlmon.e2e.{secrets.token_hex(3)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = PredictionHandler(
        f"tls://localhost:{stack.port('LOGSTASH_TCP_PORT')}",
        model=MODEL,
        model_version=VERSION,
        ca_certs=str(stack.ca),
        client_cert=str(stack.client_cert),
        client_key=str(stack.client_key),
    )
    logger.addHandler(handler)
    try:
        for row in rows:
            log_prediction(
                logger,
                inputs={"age": row["age"], "plan": row["plan"]},
                outputs={"score": row["score"]},
                latency_ms=row["latency_ms"],
            )
        handler.flush()
    finally:
        logger.removeHandler(handler)
        handler.close()


def reference_rows(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """Training-like rows: ages around 40, mostly basic plans, fast."""
    return [
        {
            "age": round(rng.gauss(40, 10), 1),
            "plan": rng.choices(["basic", "pro"], weights=[7, 3])[0],
            "score": round(rng.random(), 3),
            "latency_ms": round(rng.uniform(2, 20), 2),
        }
        for _ in range(count)
    ]


def drifted_rows(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """Much older applicants and a plan never seen in training."""
    rows = reference_rows(count, rng)
    for row in rows:
        row["age"] = round(rng.gauss(68, 6), 1)
        row["plan"] = rng.choices(["basic", "pro", "enterprise"], weights=[2, 1, 7])[0]
    return rows


def count(es: Any, index: str, query: dict[str, Any] | None = None) -> int:
    es.indices.refresh(index=index, ignore_unavailable=True)
    return int(es.count(index=index, query=query or {"match_all": {}})["count"])


def test_predictions_flow_through_logstash_into_their_data_stream(stack: Stack, es: Any) -> None:
    """Handler → Logstash tcp → the prediction data stream with the mlmon template and ILM."""
    rng = random.Random(1)
    send_predictions(stack, reference_rows(200, rng))
    index = stream_name(Dataset.PREDICTION, NAMESPACE)
    wait_for("200 predictions indexed", lambda: count(es, index) >= 200, timeout=180)

    (stream,) = es.indices.get_data_stream(name=index)["data_streams"]
    assert stream["template"] == "mlmon-prediction"
    assert stream["ilm_policy"] == "mlmon-predictions"
    mapping = next(iter(es.indices.get_mapping(index=index).body.values()))["mappings"]
    inputs = mapping["properties"]["mlmon"]["properties"]["inputs"]["properties"]
    assert inputs["num"]["properties"]["age"]["type"] == "double"
    assert inputs["cat"]["properties"]["plan"]["type"] == "keyword"


def tls_to_logstash(stack: Stack, *, client_certificate: bool) -> ssl.SSLSocket:
    """A TLS connection to Logstash's tcp input, with or without the app's certificate."""
    context = ssl.create_default_context(cafile=str(stack.ca))
    if client_certificate:
        context.load_cert_chain(stack.client_cert, stack.client_key)
    raw = socket.create_connection(("localhost", stack.port("LOGSTASH_TCP_PORT")), timeout=10)
    return context.wrap_socket(raw, server_hostname="localhost")


def test_a_sender_without_the_client_certificate_is_refused(stack: Stack) -> None:
    """The tcp input requires a certificate from the stack's CA: without one the
    handshake fails (TLS 1.3 reports it at the first read after the client's write)."""
    with (  # noqa: PT012 - with TLS 1.3 the refusal arrives at the first read
        pytest.raises((ssl.SSLError, ConnectionError)),
        tls_to_logstash(stack, client_certificate=False) as conn,
    ):
        conn.sendall(b'{"refused": true}\n')
        conn.recv(1)
    # Plain TCP: Logstash ends the connection (perhaps with a TLS alert first);
    # a timeout here would mean it kept listening to an anonymous sender.
    with socket.create_connection(
        ("localhost", stack.port("LOGSTASH_TCP_PORT")), timeout=10
    ) as plain:
        plain.sendall(b'{"plain": true}\n')
        received = b""
        try:
            while chunk := plain.recv(4096):
                received += chunk
        except ConnectionResetError:
            pass
        assert received == b"" or received[0] == 0x15, received[:20]


def test_a_line_that_is_not_json_lands_in_the_invalid_stream(stack: Stack, es: Any) -> None:
    """Garbage sent to the tcp input is kept, with the reason, not dropped."""
    with tls_to_logstash(stack, client_certificate=True) as conn:
        conn.sendall(b'{"mlmon": this is not json\n')
    index = f"logs-{INVALID_DATASET}-{NAMESPACE}"
    hits = wait_for(
        "the invalid line indexed",
        lambda: es.search(index=index, query={"match_phrase": {"message": "this is not json"}})[
            "hits"
        ]["hits"],
        timeout=120,
    )
    assert hits[0]["_source"]["event"]["reason"] == "not valid JSON"
    assert "_jsonparsefailure" in hits[0]["_source"]["tags"]


def test_kibana_has_the_dashboards_connector_and_rules(kibana: Kibana) -> None:
    """Everything mlmon-setup imported is in Kibana, and the rules are enabled."""
    exported = kibana.post(
        "/api/saved_objects/_export",
        {
            "objects": [{"type": "dashboard", "id": i} for i in (OVERVIEW, DATA_QUALITY, ALERTS)],
            "includeReferencesDeep": True,
            "excludeExportDetails": True,
        },
    ).text
    objects = [json.loads(line) for line in exported.splitlines() if line.strip()]
    assert {o["id"] for o in objects if o["type"] == "dashboard"} == {
        OVERVIEW,
        DATA_QUALITY,
        ALERTS,
    }
    assert {o["id"] for o in objects if o["type"] == "index-pattern"} == {
        "mlmon-predictions",
        "mlmon-checks",
        "mlmon-alerts",
    }
    connector = kibana.get("/api/actions/connector/mlmon-server-log").body
    assert connector["connector_type_id"] == ".server-log"
    for rule in rules.rules():
        found = kibana.get(f"/api/alerting/rule/{rule['id']}").body
        assert found["enabled"] is True
        assert found["rule_type_id"] == ".es-query"


def test_setup_again_changes_nothing_on_the_real_stack(stack: Stack, es: Any) -> None:
    """A second setup against the real Elasticsearch and Kibana writes nothing."""
    report = run_setup(
        es,
        KibanaConnection(url=f"http://localhost:{stack.port('KIBANA_PORT')}"),
        SetupOptions(wait_seconds=60),
    )
    assert [str(s) for s in report.changes] == []


def test_drift_produces_the_expected_alerts_and_the_rule_fires(
    stack: Stack, es: Any, kibana: Kibana
) -> None:
    """Drifted age and an unseen plan raise alerts; the critical-alert rule becomes active."""
    rng = random.Random(2)
    workdir = stack.workdir
    training = workdir / "training.csv"
    with training.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=["age", "plan", "score"])
        writer.writeheader()
        for row in reference_rows(5000, rng):
            writer.writerow({k: row[k] for k in ("age", "plan", "score")})
    baseline = workdir / "baseline.yaml"
    mlmon = str(Path(sys.executable).with_name("mlmon-elk"))
    subprocess.run(
        [
            mlmon,
            "baseline",
            str(training),
            "--model",
            MODEL,
            "--version",
            VERSION,
            "--output",
            "score",
            "--out",
            str(baseline),
        ],
        check=True,
        timeout=600,
    )
    config = workdir / "analyzer.yml"
    config.write_text(
        json.dumps(
            {
                "namespace": NAMESPACE,
                "elasticsearch": {
                    "hosts": [f"https://localhost:{stack.port('ES_PORT')}"],
                    "ca_certs": str(stack.ca),
                },
                "schedule": {"interval": "1m", "window": "1m", "delay": "0s"},
                "models": [{"name": MODEL, "baselines": {VERSION: str(baseline)}}],
            }
        )
    )
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    send_predictions(stack, drifted_rows(3000, rng))
    index = stream_name(Dataset.PREDICTION, NAMESPACE)
    wait_for("drifted predictions indexed", lambda: count(es, index) >= 3200, timeout=300)
    end = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    time.sleep(max(0.0, (end - datetime.now(UTC)).total_seconds()) + 5)
    subprocess.run(
        [
            mlmon,
            "analyze",
            "--config",
            str(config),
            "--from",
            start.isoformat(),
            "--to",
            end.isoformat(),
        ],
        check=True,
        timeout=600,
    )

    checks = stream_name(Dataset.CHECK, NAMESPACE)
    alerts = stream_name(Dataset.ALERT, NAMESPACE)
    assert count(es, checks, {"term": {"event.dataset": Dataset.RUN}}) >= 1
    assert count(es, checks, {"term": {"event.dataset": Dataset.CHECK}}) > 0
    found = es.search(index=alerts, size=100, query={"term": {"mlmon.transition": Transition.NEW}})[
        "hits"
    ]["hits"]
    fired = {(h["_source"]["mlmon"]["check"], h["_source"]["mlmon"].get("feature")) for h in found}
    assert (Check.NUMERIC_DRIFT, "age") in fired
    assert fired & {(Check.UNSEEN_CATEGORIES, "plan"), (Check.CATEGORY_SHIFT, "plan")}
    for hit in found:
        assert hit["_source"]["message"].startswith(f"{MODEL} {VERSION}")
        assert hit["_source"]["mlmon"]["status"] in (Status.WARNING, Status.CRITICAL)
    if any(h["_source"]["mlmon"]["status"] == Status.CRITICAL for h in found):
        wait_for(
            "the new-critical-alert rule active",
            lambda: (
                kibana.get("/api/alerting/rule/mlmon-new-critical-alert").body["execution_status"][
                    "status"
                ]
                == "active"
            ),
            timeout=240,
            pause=10,
        )
