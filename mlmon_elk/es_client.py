"""Connecting to Elasticsearch: one place for hosts, credentials and TLS.

Credentials come from environment variables only — the YAML config and the
command line name the *variables*, never the secrets — so they never end up
in files or logs. TLS certificate verification is on unless explicitly
switched off.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlmon_elk.errors import ConfigError

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

API_KEY_ENV = "MLMON_ES_API_KEY"
USERNAME_ENV = "MLMON_ES_USERNAME"
PASSWORD_ENV = "MLMON_ES_PASSWORD"  # noqa: S105 - the name of a variable, not a password


@dataclass(frozen=True, slots=True)
class EsConnection:
    """How to reach an Elasticsearch cluster (no secrets inside)."""

    hosts: tuple[str, ...] = ("http://localhost:9200",)
    api_key_env: str = API_KEY_ENV
    """Variable holding an API key (``id:key`` or the encoded form); wins over basic auth."""
    username_env: str = USERNAME_ENV
    password_env: str = PASSWORD_ENV
    ca_certs: str | None = None
    """CA bundle to verify the cluster's certificate (e.g. the compose stack's ``ca.crt``)."""
    verify_certs: bool = True
    request_timeout: float = 30.0

    def auth(self, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Client keyword arguments for the credentials found in the environment."""
        env = os.environ if environ is None else environ
        if api_key := env.get(self.api_key_env):
            return {"api_key": api_key}
        if username := env.get(self.username_env):
            password = env.get(self.password_env)
            if password is None:
                msg = f"{self.username_env} is set but {self.password_env} is not"
                raise ConfigError(msg)
            return {"basic_auth": (username, password)}
        return {}

    def client_kwargs(self, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Everything to pass to ``Elasticsearch(...)`` (tests add ``node_class``)."""
        if not self.hosts:
            msg = "elasticsearch.hosts: at least one URL is needed"
            raise ConfigError(msg)
        kwargs: dict[str, Any] = {
            "hosts": list(self.hosts),
            "request_timeout": self.request_timeout,
            "verify_certs": self.verify_certs,
            **self.auth(environ),
        }
        if self.ca_certs:
            if not os.path.isfile(self.ca_certs):
                msg = f"elasticsearch.ca_certs: no such file {self.ca_certs!r}"
                raise ConfigError(msg)
            kwargs["ca_certs"] = self.ca_certs
        if not self.verify_certs:
            warnings.warn(
                "TLS certificate verification is off for Elasticsearch; use ca_certs instead",
                stacklevel=2,
            )
            kwargs["ssl_show_warn"] = False
        return kwargs


def connect(connection: EsConnection, **extra: Any) -> Elasticsearch:
    """A client for ``connection``; ``extra`` goes to the client (e.g. ``node_class``)."""
    from elasticsearch import Elasticsearch

    try:
        return Elasticsearch(**connection.client_kwargs(), **extra)
    except ValueError as exc:  # a malformed host URL, found by the client's URL parser
        msg = f"elasticsearch hosts {list(connection.hosts)}: {exc}"
        raise ConfigError(msg) from None
