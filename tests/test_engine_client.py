"""Connections take secrets from the environment and verify TLS by default."""

from __future__ import annotations

import http.server
import os
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from mlmon_elk.engine.client import EsConnection, connect, detect_distribution
from mlmon_elk.errors import ConfigError
from tests.conftest import EsTarget, real_cluster_connection


def test_api_key_wins_over_basic_auth() -> None:
    """An API key in the environment is used even when a username is set too."""
    env = {"MLMON_ES_API_KEY": "k", "MLMON_ES_USERNAME": "u", "MLMON_ES_PASSWORD": "p"}
    assert EsConnection().auth(env) == {"api_key": "k"}


def test_basic_auth_needs_both_variables() -> None:
    """A username without a password is a configuration error naming both variables."""
    assert EsConnection().auth({"MLMON_ES_USERNAME": "u", "MLMON_ES_PASSWORD": "p"}) == {
        "basic_auth": ("u", "p")
    }
    with pytest.raises(ConfigError, match="MLMON_ES_PASSWORD"):
        EsConnection().auth({"MLMON_ES_USERNAME": "u"})


def test_custom_variable_names_are_read() -> None:
    """The config names the variables; the secrets stay in the environment."""
    conn = EsConnection(api_key_env="PROD_ES_KEY")
    assert conn.auth({"PROD_ES_KEY": "secret"}) == {"api_key": "secret"}
    assert "secret" not in repr(conn)


def test_tls_is_verified_unless_switched_off(tmp_path: Path) -> None:
    """Verification is on by default; switching it off warns; a missing CA file is an error."""
    assert EsConnection().client_kwargs({})["verify_certs"] is True
    with pytest.warns(UserWarning, match="verification is off"):
        EsConnection(verify_certs=False).client_kwargs({})
    with pytest.raises(ConfigError, match="ca_certs"):
        EsConnection(ca_certs=str(tmp_path / "missing.crt")).client_kwargs({})


def test_connect_reaches_the_server_whatever_engine_it_runs(es_bare: EsTarget) -> None:
    """``auto`` reads the engine from ``GET /``: the same client code talks to
    Elasticsearch and to OpenSearch (which refuses the client's own media types)."""
    connection = real_cluster_connection() or EsConnection(hosts=(es_bare.url,))
    client = connect(connection)
    assert client.ping()
    assert client.cluster.health()["status"] in ("green", "yellow")
    client.close()
    assert detect_distribution(connection.client_kwargs()) == es_bare.engine


def test_opensearch_needs_the_compatible_node(es_bare: EsTarget) -> None:
    """Named explicitly, the engine decides the node; the wrong one fails on OpenSearch."""
    if es_bare.engine != "opensearch":
        pytest.skip("the 406 and product-header refusals are OpenSearch's")
    from elasticsearch import ApiError, UnsupportedProductError

    plain = connect(replace(EsConnection(hosts=(es_bare.url,)), distribution="elasticsearch"))
    with pytest.raises((ApiError, UnsupportedProductError)):
        plain.info()
    plain.close()
    named = connect(replace(EsConnection(hosts=(es_bare.url,)), distribution="opensearch"))
    assert named.info()["version"]["distribution"] == "opensearch"
    named.close()


def test_an_unknown_distribution_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="distribution: expected one of auto"):
        connect(replace(EsConnection(), distribution="solr"))  # type: ignore[arg-type]


class _Busy(http.server.BaseHTTPRequestHandler):
    """An overloaded server: every request is a 503, and counted."""

    calls = 0

    def do_GET(self) -> None:
        type(self).calls += 1
        body = b'{"error": {"type": "busy", "reason": "overloaded"}, "status": 503}'
        self.send_response(503)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_the_client_never_retries_on_its_own() -> None:
    """Retries belong to the sources and sinks (backoff, a log line each): one logical
    request is one HTTP call, also on a status the client would retry by default."""
    from elasticsearch import ApiError

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Busy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    client = connect(EsConnection(hosts=(url,), distribution="elasticsearch"))
    try:
        with pytest.raises(ApiError) as raised:
            client.info()
        assert raised.value.meta.status == 503
        assert _Busy.calls == 1
    finally:
        client.close()
        server.shutdown()
        server.server_close()


def test_ci_runs_every_elasticsearch_test_on_a_real_engine(es_bare: EsTarget) -> None:
    """In CI the suite never falls back to the osmem imitation."""
    if not os.environ.get("CI"):
        pytest.skip("outside CI a machine without Java may use osmem-server (with a notice)")
    assert es_bare.real
    assert es_bare.data_streams
