"""Connections take secrets from the environment and verify TLS by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlmon_elk.errors import ConfigError
from mlmon_elk.es_client import EsConnection, connect
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


def test_connect_reaches_the_server(es_bare: EsTarget) -> None:
    """A client built from a connection talks to the test server."""
    from mlmon_elk.testing import PlainJsonNode

    connection = real_cluster_connection() or EsConnection(hosts=(es_bare.url,))
    extra = {} if es_bare.real else {"node_class": PlainJsonNode}
    client = connect(connection, **extra)
    assert client.ping()
    client.close()
