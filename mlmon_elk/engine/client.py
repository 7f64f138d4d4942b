"""Connecting to Elasticsearch or OpenSearch: one place for hosts, credentials, TLS and retries.

Credentials come from environment variables only — the YAML config and the
command line name the *variables*, never the secrets — so they never end up
in files or logs. TLS certificate verification is on unless explicitly
switched off.

The official ``elasticsearch`` 8.x client is used for both engines. Against
OpenSearch 2.x it needs :class:`OpenSearchNode`: the client sends
``application/vnd.elasticsearch+json; compatible-with=8`` media types (OpenSearch
answers 406) and refuses a server without the ``X-Elastic-Product`` header. Which
engine a cluster runs is read from ``GET /`` (``version.distribution``) unless the
connection names it.

Retries belong to the callers (the sources and sinks, with backoff and a log
line per retry): the client's own retries are switched off, so one logical
request is never multiplied into a burst of back-to-back calls.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from mlmon_elk.errors import ConfigError

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

Distribution = Literal["auto", "elasticsearch", "opensearch"]
DISTRIBUTIONS: tuple[Distribution, ...] = ("auto", "elasticsearch", "opensearch")

API_KEY_ENV = "MLMON_ES_API_KEY"
USERNAME_ENV = "MLMON_ES_USERNAME"
PASSWORD_ENV = "MLMON_ES_PASSWORD"  # noqa: S105 - the name of a variable, not a password

DEFAULT_MAX_BUCKETS = 65_536
"""Elasticsearch's default ``search.max_buckets`` (since 7.9), a limit of the cluster
that query plans split themselves to stay under."""


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
    distribution: Distribution = "auto"
    """Which engine the cluster runs; ``auto`` reads it from ``GET /`` once per connection."""

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


NO_CLIENT_RETRIES: dict[str, Any] = {
    "max_retries": 0,
    "retry_on_status": (),
    "retry_on_timeout": False,
}
"""Client options that leave every retry to the caller's backoff."""


def connect(connection: EsConnection, **extra: Any) -> Elasticsearch:
    """A client for ``connection``, speaking to Elasticsearch or OpenSearch alike.

    ``extra`` goes to the client (tests pass a ``node_class`` that observes requests;
    it is made OpenSearch-compatible when the cluster is OpenSearch).

    Raises:
        ConfigError: the connection is incomplete or names an unknown distribution.
    """
    from elasticsearch import Elasticsearch

    from mlmon_elk.engine.opensearch import opensearch_node_class

    kwargs = {**connection.client_kwargs(), **NO_CLIENT_RETRIES, **extra}
    distribution = connection.distribution
    if distribution not in DISTRIBUTIONS:
        known = ", ".join(DISTRIBUTIONS)
        msg = f"elasticsearch.distribution: expected one of {known}, got {distribution!r}"
        raise ConfigError(msg)
    try:  # the client's URL parser is what finds malformed hosts (a ValueError)
        if distribution == "auto":
            distribution = detect_distribution(kwargs)
        if distribution == "opensearch":
            kwargs["node_class"] = opensearch_node_class(kwargs.get("node_class"))
        return Elasticsearch(**kwargs)
    except ValueError as exc:
        msg = f"elasticsearch hosts {list(connection.hosts)}: {exc}"
        raise ConfigError(msg) from None


def detect_distribution(client_kwargs: Mapping[str, Any]) -> Distribution:
    """``opensearch`` or ``elasticsearch``, from the cluster's ``GET /``.

    Asked through :class:`OpenSearchNode`, which both engines answer. A cluster that
    cannot be reached now is taken for Elasticsearch: the caller's first real request
    then fails (and is retried) with the connection error a user expects to see.
    """
    from elasticsearch import ApiError, Elasticsearch, TransportError

    from mlmon_elk.engine.opensearch import opensearch_node_class

    kwargs = dict(client_kwargs)
    kwargs["node_class"] = opensearch_node_class(kwargs.get("node_class"))
    probe = Elasticsearch(**kwargs)
    try:
        info = probe.info()
    except (ApiError, TransportError):
        return "elasticsearch"
    finally:
        probe.close()
    version = info.body.get("version", {}) if isinstance(info.body, dict) else {}
    return "opensearch" if version.get("distribution") == "opensearch" else "elasticsearch"
