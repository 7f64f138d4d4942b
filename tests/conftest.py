"""Shared fixtures.

Elasticsearch tests run against ``osmem-server`` (an in-memory
OpenSearch-compatible server) by default, and against a real cluster when
``MLMON_TEST_ES_URL`` is set (credentials: ``MLMON_TEST_ES_API_KEY`` or
``MLMON_TEST_ES_USERNAME``/``MLMON_TEST_ES_PASSWORD``; CA file:
``MLMON_TEST_ES_CA_CERTS``). Each test gets its own namespace, so tests never
see each other's documents, and on a real cluster its data is deleted afterwards.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from mlmon_elk.es_client import EsConnection, connect

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch
    from osmem_server import OsmemServer


@dataclass(frozen=True)
class EsTarget:
    """An Elasticsearch-compatible server for one test."""

    client: Elasticsearch
    url: str
    namespace: str
    data_streams: bool
    """True on a real cluster (data streams); False on osmem (plain indices)."""
    real: bool


def real_cluster_connection() -> EsConnection | None:
    """The real cluster named by ``MLMON_TEST_ES_URL``, or ``None`` to use osmem-server."""
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


@pytest.fixture(scope="session")
def _osmem() -> Iterator[OsmemServer | None]:
    if os.environ.get("MLMON_TEST_ES_URL"):
        yield None
        return
    from osmem_server import OsmemServer

    with OsmemServer.start() as server:
        yield server
    # osmem's launcher leaves the pipe it read the start-up line from open.
    if server.process.stdout is not None:
        server.process.stdout.close()


@pytest.fixture
def es_bare(_osmem: OsmemServer | None) -> Iterator[EsTarget]:
    """An empty server (no mlmon templates) and a fresh namespace."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    connection = real_cluster_connection()
    if connection is not None:
        real = connect(connection)
        yield EsTarget(real, connection.hosts[0], namespace, data_streams=True, real=True)
        for dataset in ("prediction", "check", "alert"):
            pattern = f"logs-mlmon.{dataset}-{namespace}"
            real.options(ignore_status=404).indices.delete_data_stream(name=pattern)
            real.options(ignore_status=404).indices.delete(index=pattern)
        real.close()
        return
    from mlmon_elk.testing import PlainJsonNode

    assert _osmem is not None
    with _osmem.clone() as clone:
        client = connect(EsConnection(hosts=(clone.url,)), node_class=PlainJsonNode)
        yield EsTarget(client, clone.url, namespace, data_streams=False, real=False)
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
