"""A real local HTTP server speaking the subset of Kibana's API that setup uses.

Not a mock of our client: a thread serving HTTP on a loopback port, with
Kibana's rules as documented and as read from Kibana's source — ``kbn-xsrf``
required on writes, the import API taking ``multipart/form-data`` with a part
named ``file`` and answering HTTP 200 with per-object errors, the export API
refusing a request with a missing object (HTTP 400 listing it), connectors and
rules created at an id (409 when it exists), rule updates refusing immutable
keys, and the Elasticsearch query rule's parameter schema. It keeps state, so
idempotency is tested for real, records every request in order, and "migrates"
what it stores (adds fields, reformats panels) the way Kibana does, so setup's
comparisons are tested against something that is not a byte-for-byte echo.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

Body = dict[str, Any]

IMPORTABLE_TYPES = {"index-pattern", "dashboard", "lens", "visualization", "search"}
ES_QUERY_COMPARATORS = {">", ">=", "<", "<=", "between", "notBetween"}
TIME_UNITS = {"s", "m", "h", "d"}
ES_QUERY_GROUPS = {"query matched", "recovered"}
CONNECTOR_TYPES = {".server-log", ".index", ".slack", ".webhook"}


@dataclass(frozen=True)
class Request:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def is_write(self) -> bool:
        """Whether the request changes state (export is a read, despite POST)."""
        return self.method != "GET" and not self.path.endswith("/_export")


@dataclass
class SpaceState:
    """Everything stored in one Kibana space."""

    objects: dict[tuple[str, str], Body] = field(default_factory=dict)
    connectors: dict[str, Body] = field(default_factory=dict)
    rules: dict[str, Body] = field(default_factory=dict)


def validate_es_query_params(params: Body) -> str | None:
    """Kibana's ``.es-query`` parameter schema (stack_alerts rule_type_params.ts)."""
    search_type = params.get("searchType", "esQuery")
    if search_type not in ("esQuery", "esqlQuery", "searchSource"):
        return f"[searchType]: invalid {search_type!r}"
    size = params.get("size")
    if not isinstance(size, int) or not 0 <= size <= 10_000:
        return "[size]: expected a number between 0 and 10000"
    window = params.get("timeWindowSize")
    if not isinstance(window, int) or window < 1:
        return "[timeWindowSize]: must be >= 1"
    if params.get("timeWindowUnit") not in TIME_UNITS:
        return "[timeWindowUnit]: invalid"
    threshold = params.get("threshold")
    if not isinstance(threshold, list) or not 1 <= len(threshold) <= 2:
        return "[threshold]: expected 1 or 2 numbers"
    comparator = params.get("thresholdComparator")
    if comparator not in ES_QUERY_COMPARATORS:
        return f"invalid thresholdComparator specified: {comparator}"
    if comparator in ("between", "notBetween") and len(threshold) != 2:
        return "[threshold]: must have two elements"
    if params.get("aggType", "count") != "count" and not params.get("aggField"):
        return "[aggField]: must have a value"
    if params.get("groupBy", "all") == "top" and not (
        params.get("termField") and params.get("termSize")
    ):
        return "[termField]/[termSize]: required when [groupBy] is top"
    if search_type == "esQuery":
        if not params.get("timeField"):
            return "[timeField]: expected a string"
        index = params.get("index")
        if not isinstance(index, list) or not index or not all(index):
            return "[index]: expected a non-empty array"
        try:
            parsed = json.loads(params.get("esQuery", ""))
        except json.JSONDecodeError:
            return "[esQuery]: must be valid JSON"
        if not isinstance(parsed, dict) or "query" not in parsed:
            return '[esQuery]: must contain "query"'
        if "esqlQuery" in params:
            return "[esqlQuery]: a value wasn't expected to be present"
    if search_type == "esqlQuery":
        esql = params.get("esqlQuery")
        if not isinstance(esql, dict) or not esql.get("esql"):
            return "[esqlQuery.esql]: expected a string"
        if "esQuery" in params or "index" in params:
            return "[esQuery]/[index]: a value wasn't expected to be present"
    return None


def _with_defaults(rule_type: str, params: Body) -> Body:
    if rule_type != ".es-query":
        return params
    filled = {"aggType": "count", "groupBy": "all", "searchType": "esQuery", **params}
    if filled["searchType"] == "esQuery":
        filled.setdefault("excludeHitsFromPreviousRun", True)
    return filled


class FakeKibana:
    """The server; use :func:`running` to start and stop it."""

    def __init__(
        self,
        *,
        version: str = "8.14.3",
        credentials: str | None = None,
        unavailable_polls: int = 0,
    ) -> None:
        self.version = version
        self.credentials = credentials
        """Expected ``Authorization`` header value (``None``: no check)."""
        self.unavailable_polls = unavailable_polls
        """How many ``/api/status`` calls answer 503 before Kibana is available."""
        self.spaces: dict[str, SpaceState] = {}
        self.requests: list[Request] = []
        self.write_counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._clock = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def space(self, name: str = "default") -> SpaceState:
        """State of a space (created on first use)."""
        return self.spaces.setdefault(name, SpaceState())

    @property
    def writes(self) -> list[Request]:
        """Requests that changed state, in order."""
        return [r for r in self.requests if r.is_write]

    def _tick(self) -> str:
        self._clock += 1
        return f"2026-01-01T00:00:{self._clock:02d}.000Z"

    # ---- request handling -------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests read ``fake.requests`` instead."""

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                request = Request(
                    self.command,
                    unquote(url.path),
                    parse_qs(url.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with fake._lock:
                    fake.requests.append(request)
                    status, payload, content_type = fake.dispatch(request)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        return Handler

    def dispatch(self, request: Request) -> tuple[int, Any, str]:
        """Route one request; returns status, body and content type."""
        if (
            self.credentials is not None
            and request.headers.get("authorization") != self.credentials
        ):
            return _error(
                401, "Unauthorized", "[security_exception]: missing authentication credentials"
            )
        if request.method != "GET" and "kbn-xsrf" not in request.headers:
            return _error(400, "Bad Request", "Request must contain a kbn-xsrf header.")
        path, space = request.path, "default"
        if path.startswith("/s/"):
            _, _, space, rest = path.split("/", 3)
            path = "/" + rest
        if path == "/api/status":
            return self._status()
        state = self.space(space)
        if path == "/api/saved_objects/_import" and request.method == "POST":
            return self._import(state, request)
        if path == "/api/saved_objects/_export" and request.method == "POST":
            return self._export(state, request)
        if path.startswith("/api/actions/connector/"):
            return self._connector(state, request, path.rsplit("/", 1)[1])
        if path.startswith("/api/alerting/rule/"):
            return self._rule(state, request, path.rsplit("/", 1)[1])
        return _error(404, "Not Found", f"no route {request.method} {path}")

    def _status(self) -> tuple[int, Any, str]:
        if self.unavailable_polls > 0:
            self.unavailable_polls -= 1
            body = {
                "status": {"overall": {"level": "unavailable"}},
                "version": {"number": self.version},
            }
            return 503, body, "application/json"
        body = {"status": {"overall": {"level": "available"}}, "version": {"number": self.version}}
        return 200, body, "application/json"

    def _import(self, state: SpaceState, request: Request) -> tuple[int, Any, str]:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            return _error(415, "Unsupported Media Type", "Unsupported Media Type")
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.body
        )
        files = [
            p
            for p in message.iter_parts()
            if p.get_param("name", header="content-disposition") == "file"
        ]
        if len(files) != 1:
            return _error(
                400, "Bad Request", "[request body.file]: expected value of type [Stream]"
            )
        payload = files[0].get_payload(decode=True)
        assert isinstance(payload, bytes)
        objects = [json.loads(line) for line in payload.decode().splitlines() if line.strip()]
        overwrite = request.query.get("overwrite") == ["true"]
        importing = {(o["type"], o["id"]) for o in objects}
        results, errors = [], []
        for obj in objects:
            key = (obj["type"], obj["id"])
            title = obj.get("attributes", {}).get("title", "")
            if obj["type"] not in IMPORTABLE_TYPES:
                errors.append(
                    {
                        "id": obj["id"],
                        "type": obj["type"],
                        "title": title,
                        "error": {"type": "unsupported_type"},
                    }
                )
                continue
            missing = [
                {"type": r["type"], "id": r["id"]}
                for r in obj.get("references", [])
                if (r["type"], r["id"]) not in importing
                and (r["type"], r["id"]) not in state.objects
            ]
            if missing:
                errors.append(
                    {
                        "id": obj["id"],
                        "type": obj["type"],
                        "title": title,
                        "error": {"type": "missing_references", "references": missing},
                    }
                )
                continue
            if key in state.objects and not overwrite:
                errors.append(
                    {
                        "id": obj["id"],
                        "type": obj["type"],
                        "title": title,
                        "error": {"type": "conflict"},
                    }
                )
                continue
            state.objects[key] = self._migrate(obj)
            self.write_counts[f"{obj['type']}/{obj['id']}"] = (
                self.write_counts.get(f"{obj['type']}/{obj['id']}", 0) + 1
            )
            results.append({"type": obj["type"], "id": obj["id"], "meta": {"title": title}})
        body = {"success": not errors, "successCount": len(results), "successResults": results}
        if errors:
            body["errors"] = errors
        return 200, body, "application/json"

    def _migrate(self, obj: Body) -> Body:
        """Store ``obj`` the way Kibana would: migrated, with bookkeeping fields."""
        stored = copy.deepcopy(obj)
        attributes = stored["attributes"]
        if stored["type"] == "dashboard":
            panels = json.loads(attributes["panelsJSON"])
            for panel in panels:
                panel["version"] = self.version
            attributes["panelsJSON"] = json.dumps(panels)
            stored["typeMigrationVersion"] = "10.2.0"
        elif stored["type"] == "index-pattern":
            attributes.setdefault("allowHidden", False)
        stored.update(
            updated_at=self._tick(), version=f"Wz{self._clock},1]", namespaces=["default"]
        )
        return stored

    def _export(self, state: SpaceState, request: Request) -> tuple[int, Any, str]:
        body = json.loads(request.body or b"{}")
        wanted = [(o["type"], o["id"]) for o in body.get("objects", [])]
        missing = [k for k in wanted if k not in state.objects]
        if missing:
            objects = [
                {
                    "id": i,
                    "type": t,
                    "error": {
                        "statusCode": 404,
                        "error": "Not Found",
                        "message": f"Saved object [{t}/{i}] not found",
                    },
                }
                for t, i in missing
            ]
            body = {
                "statusCode": 400,
                "error": "Bad Request",
                "message": "Error fetching objects to export",
                "attributes": {"objects": objects},
            }
            return 400, body, "application/json"
        lines = [json.dumps(state.objects[k]) for k in wanted]
        if not body.get("excludeExportDetails"):
            lines.append(
                json.dumps(
                    {"exportedCount": len(wanted), "missingRefCount": 0, "missingReferences": []}
                )
            )
        return 200, ("\n".join(lines) + "\n").encode(), "application/ndjson"

    def _connector(
        self, state: SpaceState, request: Request, connector_id: str
    ) -> tuple[int, Any, str]:
        existing = state.connectors.get(connector_id)
        if request.method == "GET":
            if existing is None:
                return _error(404, "Not Found", f"Saved object [action/{connector_id}] not found")
            public = {k: v for k, v in existing.items() if k != "secrets"}
            return 200, public, "application/json"
        body = json.loads(request.body or b"{}")
        if request.method == "POST":
            if existing is not None:
                return _error(409, "Conflict", f"Saved object [action/{connector_id}] conflict")
            problem = _missing_keys(body, ("name", "connector_type_id", "config", "secrets"))
            if problem:
                return _error(400, "Bad Request", problem)
            if body["connector_type_id"] not in CONNECTOR_TYPES:
                return _error(
                    400, "Bad Request", f"action type {body['connector_type_id']} is not registered"
                )
            if body["connector_type_id"] == ".slack" and not body["secrets"].get("webhookUrl"):
                return _error(
                    400,
                    "Bad Request",
                    "error validating action type secrets: [webhookUrl]: expected a string",
                )
            state.connectors[connector_id] = {
                "id": connector_id,
                **body,
                "is_preconfigured": False,
                "is_deprecated": False,
                "is_missing_secrets": False,
                "is_system_action": False,
            }
            self.write_counts[f"connector/{connector_id}"] = 1
            return (
                200,
                {k: v for k, v in state.connectors[connector_id].items() if k != "secrets"},
                "application/json",
            )
        if request.method == "PUT":
            if existing is None:
                return _error(404, "Not Found", f"Saved object [action/{connector_id}] not found")
            extra = set(body) - {"name", "config", "secrets"}
            if extra:
                return _error(
                    400,
                    "Bad Request",
                    f"[request body.{sorted(extra)[0]}]: definition for this key is missing",
                )
            existing.update(body)
            self.write_counts[f"connector/{connector_id}"] += 1
            return 200, {k: v for k, v in existing.items() if k != "secrets"}, "application/json"
        return _error(405, "Method Not Allowed", request.method)

    def _validate_rule(self, state: SpaceState, rule_type: str, body: Body) -> str | None:
        if not isinstance(body.get("schedule"), dict) or not body["schedule"].get("interval"):
            return "[request body.schedule.interval]: expected value of type [string]"
        if rule_type == ".es-query":
            problem = validate_es_query_params(body.get("params", {}))
            if problem:
                return f"params invalid: {problem}"
        for action in body.get("actions", []):
            if action.get("id") not in state.connectors:
                return f"Failed to validate actions: Invalid connectorId {action.get('id')!r}"
            if rule_type == ".es-query" and action.get("group") not in ES_QUERY_GROUPS:
                return f"Invalid action groups: {action.get('group')}"
            frequency = action.get("frequency", {})
            if frequency.get("notify_when") == "onThrottleInterval" and not frequency.get(
                "throttle"
            ):
                return "throttle is required when notify_when is onThrottleInterval"
        return None

    def _rule(self, state: SpaceState, request: Request, rule_id: str) -> tuple[int, Any, str]:
        existing = state.rules.get(rule_id)
        if request.method == "GET":
            if existing is None:
                return _error(404, "Not Found", f"Saved object [alert/{rule_id}] not found")
            return 200, existing, "application/json"
        body = json.loads(request.body or b"{}")
        if request.method == "POST":
            if existing is not None:
                return _error(409, "Conflict", f"Saved object [alert/{rule_id}] conflict")
            problem = _missing_keys(
                body, ("name", "rule_type_id", "consumer", "schedule", "params")
            )
            problem = problem or self._validate_rule(state, body["rule_type_id"], body)
            if problem:
                return _error(400, "Bad Request", problem)
            state.rules[rule_id] = self._stored_rule(
                state, rule_id, body, enabled=body.get("enabled", True)
            )
            self.write_counts[f"rule/{rule_id}"] = 1
            return 200, state.rules[rule_id], "application/json"
        if request.method == "PUT":
            if existing is None:
                return _error(404, "Not Found", f"Saved object [alert/{rule_id}] not found")
            extra = set(body) - {
                "name",
                "tags",
                "schedule",
                "params",
                "actions",
                "throttle",
                "notify_when",
                "alert_delay",
            }
            if extra:
                return _error(
                    400,
                    "Bad Request",
                    f"[request body.{sorted(extra)[0]}]: definition for this key is missing",
                )
            problem = self._validate_rule(state, existing["rule_type_id"], body)
            if problem:
                return _error(400, "Bad Request", problem)
            merged = {
                **existing,
                **body,
                "rule_type_id": existing["rule_type_id"],
                "consumer": existing["consumer"],
            }
            state.rules[rule_id] = self._stored_rule(
                state, rule_id, merged, enabled=existing["enabled"]
            )
            self.write_counts[f"rule/{rule_id}"] += 1
            return 200, state.rules[rule_id], "application/json"
        return _error(405, "Method Not Allowed", request.method)

    def _stored_rule(self, state: SpaceState, rule_id: str, body: Body, *, enabled: bool) -> Body:
        actions = [
            {
                **a,
                "uuid": f"{rule_id}-{n}",
                "connector_type_id": state.connectors[a["id"]]["connector_type_id"],
            }
            for n, a in enumerate(body.get("actions", []))
        ]
        return {
            "id": rule_id,
            "name": body["name"],
            "tags": body.get("tags", []),
            "rule_type_id": body["rule_type_id"],
            "consumer": body["consumer"],
            "schedule": body["schedule"],
            "params": _with_defaults(body["rule_type_id"], body["params"]),
            "actions": actions,
            "enabled": enabled,
            "mute_all": False,
            "updated_at": self._tick(),
            "execution_status": {"status": "pending"},
        }


def _missing_keys(body: Body, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if key not in body:
            return f"[request body.{key}]: expected value of type [string] but got [undefined]"
    return None


def _error(status: int, error: str, message: str) -> tuple[int, Any, str]:
    return status, {"statusCode": status, "error": error, "message": message}, "application/json"


def basic(username: str, password: str) -> str:
    """The ``Authorization`` header value for basic credentials."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@contextmanager
def running(fake: FakeKibana) -> Iterator[FakeKibana]:
    """Serve ``fake`` on a background thread for the duration of the block."""
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()
        thread.join(timeout=5)
