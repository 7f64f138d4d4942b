"""Shared fixtures.

Elasticsearch tests run on a real search engine:

1. a real Elasticsearch (or any cluster) when ``MLMON_TEST_ES_URL`` is set
   (credentials: ``MLMON_TEST_ES_API_KEY`` or ``MLMON_TEST_ES_USERNAME``/
   ``MLMON_TEST_ES_PASSWORD``; CA file: ``MLMON_TEST_ES_CA_CERTS``);
2. otherwise the test engine, OpenSearch 2.19.6 as one embedded node
   (``tests/engine/start``): the one already running, or one started here for
   the session (and stopped after it) when ``java`` is on the PATH;
3. only on a machine without Java, and never in CI (``CI`` set), ``osmem-server``
   (an in-memory imitation), with a notice in the header and the summary.

Each test gets its own namespace, so tests never see each other's documents,
and its data streams are deleted afterwards.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pytest

from mlmon_elk.engine.client import EsConnection, connect

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from mlmon_elk.stack.templates import Engine

ENGINE = Path(__file__).parent / "engine"
ENGINE_HOME = Path(os.environ.get("MLMON_ENGINE_HOME", ENGINE.parent.parent / ".engine"))

Kind = Literal["elasticsearch", "engine", "osmem"]


@dataclass(frozen=True)
class Cluster:
    """The search engine of this test session."""

    url: str
    kind: Kind
    """``elasticsearch`` (``MLMON_TEST_ES_URL``), ``engine`` (OpenSearch) or ``osmem``."""

    @property
    def data_streams(self) -> bool:
        return self.kind != "osmem"


@dataclass(frozen=True)
class EsTarget:
    """A search engine for one test, with a namespace of its own."""

    client: Elasticsearch
    url: str
    namespace: str
    data_streams: bool
    """True on a real engine (data streams); False on osmem (plain indices)."""
    real: bool
    """A real engine (Elasticsearch or OpenSearch), not the osmem imitation."""
    engine: Engine
    """``elasticsearch`` or ``opensearch``, as the server says of itself."""


def real_cluster_connection() -> EsConnection | None:
    """The real cluster named by ``MLMON_TEST_ES_URL``, or ``None``."""
    url = os.environ.get("MLMON_TEST_ES_URL")
    if not url:
        return None
    return EsConnection(
        hosts=(url,),
        api_key_env="MLMON_TEST_ES_API_KEY",
        username_env="MLMON_TEST_ES_USERNAME",
        password_env="MLMON_TEST_ES_PASSWORD",
        ca_certs=os.environ.get("MLMON_TEST_ES_CA_CERTS"),
    )


def cluster_connection(url: str) -> EsConnection:
    """How a test reaches ``url``: with the real cluster's credentials if it is that one."""
    return real_cluster_connection() or EsConnection(hosts=(url,))


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _running_engine() -> str | None:
    url_file = ENGINE_HOME / "url"
    if url_file.is_file():
        url = url_file.read_text().strip()
        if _answers(url):
            return url
    return None


_OSMEM_NOTICE = (
    "NO SEARCH ENGINE: java is not on the PATH, so the Elasticsearch tests run on "
    "osmem-server, an in-memory imitation, not on a real engine. Install OpenJDK 17 "
    "(tests/engine/start) or set MLMON_TEST_ES_URL."
)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """The session's search engine (see the module docstring for the order of choice)."""
    if url := os.environ.get("MLMON_TEST_ES_URL"):
        yield Cluster(url, "elasticsearch")
        return
    if url := _running_engine():
        _clear_leftovers(url)
        yield Cluster(url, "engine")
        return
    if shutil.which("java"):
        started = subprocess.run(
            ["bash", str(ENGINE / "start")], capture_output=True, text=True, check=False
        )
        if started.returncode != 0:
            pytest.fail(f"the test engine did not start:\n{started.stderr}", pytrace=False)
        try:
            yield Cluster(started.stdout.strip().splitlines()[-1], "engine")
        finally:
            subprocess.run(["bash", str(ENGINE / "stop")], capture_output=True, check=False)
        return
    if os.environ.get("CI"):
        pytest.fail("CI needs the test engine, and java is not on the PATH", pytrace=False)
    from osmem_server import OsmemServer

    sys.stderr.write(f"\n*** {_OSMEM_NOTICE}\n")
    with OsmemServer.start() as server:
        yield Cluster(server.url, "osmem")
    # osmem's launcher leaves the pipe it read the start-up line from open.
    if server.process.stdout is not None:
        server.process.stdout.close()


def _clear_leftovers(url: str) -> None:
    """Data streams an interrupted run or a manual try left on the test engine.

    Only on the project's own engine, never on ``MLMON_TEST_ES_URL``; the benchmark's
    stream (namespace ``bench``) is kept, it takes long to load.
    """
    client = connect(EsConnection(hosts=(url,)))
    try:
        found = client.options(ignore_status=404).indices.get_data_stream(name="logs-mlmon.*")
        for stream in found.get("data_streams", []):
            if not stream["name"].endswith("-bench"):
                client.options(ignore_status=404).indices.delete_data_stream(name=stream["name"])
    finally:
        client.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not os.environ.get("MLMON_TEST_ES_URL") and not shutil.which("java"):
        terminalreporter.write_sep("!", _OSMEM_NOTICE, yellow=True)


def delete_namespace(client: Elasticsearch, namespace: str) -> None:
    """Remove every data stream or index the mlmon datasets have in ``namespace``."""
    pattern = f"logs-mlmon.*-{namespace}"
    client.options(ignore_status=404).indices.delete_data_stream(name=pattern)
    client.options(ignore_status=404).indices.delete(index=pattern, expand_wildcards="all")


@pytest.fixture
def es_bare(cluster: Cluster) -> Iterator[EsTarget]:
    """A search engine without the mlmon templates, and a fresh namespace."""
    from mlmon_elk.stack.install import engine_of

    namespace = f"t{uuid.uuid4().hex[:10]}"
    client = connect(cluster_connection(cluster.url))
    try:
        yield EsTarget(
            client,
            cluster.url,
            namespace,
            cluster.data_streams,
            real=cluster.kind != "osmem",
            engine=engine_of(client),
        )
    finally:
        if cluster.kind != "osmem":
            delete_namespace(client, namespace)
        client.close()


@pytest.fixture
def es(es_bare: EsTarget) -> EsTarget:
    """A server with the mlmon index templates installed."""
    from mlmon_elk.stack.install import install_templates

    install_templates(es_bare.client, data_streams=es_bare.data_streams)
    return es_bare


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Leave the root logger's handlers and level as the test found them."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
