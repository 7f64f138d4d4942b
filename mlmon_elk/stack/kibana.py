"""A minimal Kibana HTTP client (standard library only).

Setup needs a handful of Kibana APIs: status, saved-object import/export,
connectors and rules. Credentials come from environment variables only —
``MLMON_KIBANA_API_KEY`` or ``MLMON_KIBANA_USERNAME``/``MLMON_KIBANA_PASSWORD``,
falling back to the Elasticsearch ones — and TLS certificates are verified
unless explicitly switched off. Every request carries ``kbn-xsrf``, which Kibana
requires on writes.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode
from urllib.request import Request, urlopen

from mlmon_elk.engine import client as es_client
from mlmon_elk.errors import ConfigError, SetupError

API_KEY_ENV = "MLMON_KIBANA_API_KEY"
USERNAME_ENV = "MLMON_KIBANA_USERNAME"
PASSWORD_ENV = "MLMON_KIBANA_PASSWORD"  # noqa: S105 - the name of a variable, not a password


class KibanaError(SetupError):
    """Kibana answered with an HTTP error.

    Attributes:
        status: HTTP status (0 when Kibana could not be reached at all).
        body: The decoded JSON error body, when there was one.
    """

    def __init__(self, message: str, status: int = 0, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.status, self.body))


@dataclass(frozen=True, slots=True)
class KibanaConnection:
    """How to reach Kibana (no secrets inside; they are read from the environment)."""

    url: str
    space: str | None = None
    """Kibana space id; ``None`` is the default space."""
    ca_certs: str | None = None
    verify_certs: bool = True
    timeout: float = 30.0

    def auth_header(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The ``Authorization`` header value for the credentials in the environment."""
        env = os.environ if environ is None else environ
        for key_env, user_env, password_env in (
            (API_KEY_ENV, USERNAME_ENV, PASSWORD_ENV),
            (es_client.API_KEY_ENV, es_client.USERNAME_ENV, es_client.PASSWORD_ENV),
        ):
            if api_key := env.get(key_env):
                # `id:key` is encoded here; an already encoded key is used as is.
                encoded = base64.b64encode(api_key.encode()).decode() if ":" in api_key else api_key
                return f"ApiKey {encoded}"
            if username := env.get(user_env):
                password = env.get(password_env)
                if password is None:
                    msg = f"{user_env} is set but {password_env} is not"
                    raise ConfigError(msg)
                token = base64.b64encode(f"{username}:{password}".encode()).decode()
                return f"Basic {token}"
        return None

    def ssl_context(self) -> ssl.SSLContext | None:
        """TLS settings for ``https`` URLs (``None`` for plain HTTP)."""
        if not self.url.startswith("https:"):
            return None
        if self.ca_certs and not os.path.isfile(self.ca_certs):
            msg = f"kibana ca_certs: no such file {self.ca_certs!r}"
            raise ConfigError(msg)
        context = ssl.create_default_context(cafile=self.ca_certs)
        if not self.verify_certs:
            warnings.warn(
                "TLS certificate verification is off for Kibana; use ca_certs instead",
                stacklevel=2,
            )
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


@dataclass(frozen=True, slots=True)
class Response:
    """Status and decoded body of a Kibana answer."""

    status: int
    body: Any
    text: str


class Kibana:
    """Kibana's HTTP API, scoped to one space.

    Args:
        connection: Where Kibana is and how to verify it.
        environ: Environment to read credentials from (default ``os.environ``).
    """

    def __init__(
        self, connection: KibanaConnection, environ: Mapping[str, str] | None = None
    ) -> None:
        if not connection.url.startswith(("http://", "https://")):
            msg = f"kibana url {connection.url!r} must start with http:// or https://"
            raise ConfigError(msg)
        self.connection = connection
        self._base = connection.url.rstrip("/")
        self._space = f"/s/{quote(connection.space, safe='')}" if connection.space else ""
        self._auth = connection.auth_header(environ)
        self._context = connection.ssl_context()

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
        query: Mapping[str, str] | None = None,
        spaced: bool = True,
    ) -> Response:
        """Send one request; HTTP errors raise :class:`KibanaError`.

        ``path`` starts with ``/api/``; it is placed in the configured space
        unless ``spaced`` is false (``/api/status`` is not space-aware).
        """
        url = self._base + (self._space if spaced else "") + path
        if query:
            url += "?" + urlencode(query)
        headers = {"kbn-xsrf": "mlmon-elk", "Accept": "application/json"}
        if self._auth:
            headers["Authorization"] = self._auth
        if json_body is not None:
            data = json.dumps(json_body).encode()
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        request = Request(url, data=data, headers=headers, method=method)  # noqa: S310 - http(s) checked
        try:
            with urlopen(request, timeout=self.connection.timeout, context=self._context) as answer:  # noqa: S310
                text = answer.read().decode("utf-8", "replace")
                return Response(answer.status, _decode(text), text)
        except HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")
            body = _decode(text)
            message = body.get("message") if isinstance(body, dict) else None
            msg = f"Kibana {method} {path}: HTTP {exc.code}: {message or text[:300] or exc.reason}"
            raise KibanaError(msg, exc.code, body) from exc
        except (URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            msg = f"cannot reach Kibana at {self._base}: {reason}"
            raise KibanaError(msg) from exc

    def get(self, path: str, **kwargs: Any) -> Response:
        """``GET path``."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Response:
        """``POST path`` with a JSON body."""
        return self.request("POST", path, json_body=body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> Response:
        """``PUT path`` with a JSON body."""
        return self.request("PUT", path, json_body=body, **kwargs)

    def post_file(
        self, path: str, filename: str, content: bytes, *, query: Mapping[str, str] | None = None
    ) -> Response:
        """``POST`` a ``multipart/form-data`` body with one part named ``file``."""
        boundary = f"mlmon-{uuid.uuid4().hex}"
        data = b"".join(
            [
                f"--{boundary}\r\n".encode(),
                f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'.encode(),
                b"Content-Type: application/ndjson\r\n\r\n",
                content,
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
        return self.request(
            "POST",
            path,
            data=data,
            content_type=f"multipart/form-data; boundary={boundary}",
            query=query,
        )


def _decode(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError:
        return None
