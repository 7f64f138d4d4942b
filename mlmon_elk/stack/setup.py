"""``mlmon-elk setup``: install everything the Elastic stack needs, idempotently.

Order of work (each part waits for its service to be ready first):

1. Elasticsearch: ILM policies, component templates, index templates — the
   data-stream variant on Elasticsearch, the plain-index variant on servers
   without data streams (OpenSearch-compatible ones), or as chosen;
2. Kibana: data views and dashboards (saved-object import, with every
   per-object error reported), then the connector, then the rules.

Every asset is compared with what is installed before anything is written, so
a second run changes nothing; ``dry_run`` reads and reports only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mlmon_elk.errors import SetupError
from mlmon_elk.stack import kibana_assets, kibana_sync, rules
from mlmon_elk.stack.assets import asset_dir
from mlmon_elk.stack.dashboards import MINIMUM_KIBANA
from mlmon_elk.stack.foreign import repair_foreign_streams
from mlmon_elk.stack.install import plan_templates, put_asset, template_assets
from mlmon_elk.stack.kibana import Kibana, KibanaConnection, KibanaError
from mlmon_elk.stack.plan import Action, Step
from mlmon_elk.stack.templates import DEFAULT_RETENTION, Engine, Retention

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

IndexMode = Literal["auto", "data-streams", "plain"]

MINIMUM_ELASTICSEARCH = (8, 14)
MINIMUM_OPENSEARCH = (2,)
"""ES|QL rules (8.14) and ``ignore_dynamic_beyond_limit`` (8.13) set the floor."""


@dataclass(frozen=True, slots=True)
class SetupOptions:
    """What to install and how long to wait for the services.

    Attributes:
        index_mode: ``data-streams``, ``plain`` or ``auto`` (data streams unless
            the server is OpenSearch-compatible).
        retention: Retention of the data-stream variant.
        assets: The ``kibana_dashboards`` directory (default: the installed one).
        connector: Kind of connector the rules notify through
            (a file name under ``connectors/``; default ``server-log``).
        wait_seconds: How long to wait for each service to become ready.
        poll_seconds: Pause between readiness checks.
        dry_run: Read and report only.
    """

    index_mode: IndexMode = "auto"
    retention: Retention = DEFAULT_RETENTION
    assets: Path | None = None
    connector: str = rules.DEFAULT_CONNECTOR
    wait_seconds: float = 180.0
    poll_seconds: float = 2.0
    dry_run: bool = False


@dataclass
class SetupReport:
    """Every step setup took (or, in a dry run, would take)."""

    dry_run: bool
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[Step]:
        """The steps that write something."""
        return [s for s in self.steps if s.changes]

    def summary(self) -> str:
        """One line: how many assets were (or would be) created, updated, left alone."""

        def count(action: Action) -> int:
            return sum(1 for s in self.steps if s.action is action)

        would = "would be " if self.dry_run else ""
        parts = [
            f"{count(Action.CREATE)} {would}created",
            f"{count(Action.UPDATE)} {would}updated",
            f"{count(Action.UNCHANGED)} unchanged",
        ]
        if count(Action.UNKNOWN):
            parts.append(f"{count(Action.UNKNOWN)} not checked")
        return ", ".join(parts)


class NotRetryable(SetupError):
    """The service answered, and waiting will not change its answer (e.g. bad credentials)."""


def wait_until(probe: Callable[[], Any], what: str, *, timeout: float, poll: float) -> Any:
    """Call ``probe`` until it returns without raising, for at most ``timeout`` seconds.

    :class:`NotRetryable` ends the wait at once.
    """
    deadline = time.monotonic() + timeout
    while True:
        last: Exception
        try:
            return probe()
        except NotRetryable:
            raise
        except Exception as exc:  # client errors of every kind mean "not yet"
            last = exc
        if time.monotonic() + poll > deadline:
            msg = f"{what} not ready after {timeout:g}s: {last}"
            raise SetupError(msg) from last
        time.sleep(poll)


def elasticsearch_info(client: Elasticsearch) -> dict[str, Any]:
    """``GET /`` once the cluster is at least yellow."""
    from elastic_transport import TlsError
    from elasticsearch import AuthenticationException, AuthorizationException

    try:
        client.cluster.health(wait_for_status="yellow", timeout="5s")
        return dict(client.info().body)
    except (AuthenticationException, AuthorizationException) as exc:
        msg = f"Elasticsearch refused the credentials: {exc.message}"
        raise NotRetryable(msg) from exc
    except TlsError as exc:
        msg = f"Elasticsearch's TLS certificate cannot be verified (see --ca-certs): {exc}"
        raise NotRetryable(msg) from exc


def resolve_index_mode(mode: IndexMode, info: dict[str, Any]) -> bool:
    """Whether to install the data-stream variant for this server."""
    version = info.get("version", {})
    if mode == "plain":
        return False
    number = str(version.get("number", "0.0.0"))
    if version.get("distribution") == "opensearch":
        if _version_tuple(number)[:1] < MINIMUM_OPENSEARCH:
            msg = f"OpenSearch {number} is too old: mlmon-elk needs 2.0 or newer"
            raise SetupError(msg)
        return True
    if _version_tuple(number)[:2] < MINIMUM_ELASTICSEARCH:
        floor = ".".join(map(str, MINIMUM_ELASTICSEARCH))
        msg = f"Elasticsearch {number} is too old: mlmon-elk needs {floor} or newer"
        raise SetupError(msg)
    return True


def _version_tuple(number: str) -> tuple[int, ...]:
    core = number.split("-", maxsplit=1)[0]
    return tuple(int(piece) if piece.isdigit() else 0 for piece in core.split("."))


def _unreachable_plan(report: SetupReport, service: str, steps: list[Step], exc: Exception) -> None:
    report.notes.append(f"{service} not reachable ({exc}); listing every asset unchecked")
    report.steps += [Step(s.service, s.kind, s.name, Action.UNKNOWN) for s in steps]


def setup_elasticsearch(client: Elasticsearch, options: SetupOptions, report: SetupReport) -> None:
    """Install (or plan) the retention policies and index templates."""
    try:
        info = wait_until(
            lambda: elasticsearch_info(client),
            "Elasticsearch",
            timeout=0 if options.dry_run else options.wait_seconds,
            poll=options.poll_seconds,
        )
    except SetupError as exc:
        if not options.dry_run or isinstance(exc, NotRetryable):
            raise
        assets = template_assets(
            data_streams=options.index_mode != "plain", retention=options.retention
        )
        steps = [Step("elasticsearch", a.kind, a.name, Action.UNKNOWN) for a in assets]
        _unreachable_plan(report, "Elasticsearch", steps, exc)
        return
    data_streams = resolve_index_mode(options.index_mode, info)
    version = info.get("version", {})
    engine: Engine = (
        "opensearch" if version.get("distribution") == "opensearch" else "elasticsearch"
    )
    report.notes.append(
        "{} {}: {} variant".format(
            "OpenSearch" if engine == "opensearch" else "Elasticsearch",
            version.get("number", "?"),
            "data-stream" if data_streams else "plain-index",
        )
    )
    for asset, step in plan_templates(
        client, data_streams=data_streams, retention=options.retention, engine=engine
    ):
        if step.changes and not options.dry_run:
            put_asset(client, asset)
        report.steps.append(step)
    if data_streams:
        # After the templates: a stream something wrote to before them gets a fresh write index.
        report.steps.extend(repair_foreign_streams(client, dry_run=options.dry_run))


def kibana_status(kibana: Kibana) -> str:
    """Kibana's version once its status is ``available`` (raises otherwise)."""
    try:
        body = kibana.get("/api/status", spaced=False).body or {}
    except KibanaError as exc:
        if exc.status in (401, 403):
            raise NotRetryable(str(exc)) from exc
        raise
    overall = body.get("status", {}).get("overall", {})
    level = overall.get("level") or overall.get("state")
    if level not in ("available", "green"):
        msg = f"Kibana status is {level or 'unknown'}"
        raise SetupError(msg)
    return str(body.get("version", {}).get("number", "0.0.0"))


def setup_kibana(kibana: Kibana, options: SetupOptions, report: SetupReport) -> None:
    """Import (or plan) saved objects, then the connector, then the rules."""
    directory = options.assets or asset_dir("kibana_dashboards")
    objects = kibana_assets.load_saved_objects(directory)
    connector = kibana_assets.resolve_env(
        kibana_assets.load_connector(directory, options.connector)
    )
    rule_bodies = [rules.retarget(r, connector) for r in kibana_assets.load_rules(directory)]

    try:
        version = wait_until(
            lambda: kibana_status(kibana),
            "Kibana",
            timeout=0 if options.dry_run else options.wait_seconds,
            poll=options.poll_seconds,
        )
    except SetupError as exc:
        if not options.dry_run or isinstance(exc, NotRetryable):
            raise
        steps = [Step("kibana", o["type"], o["id"], Action.UNKNOWN) for o in objects]
        steps.append(Step("kibana", "connector", connector["id"], Action.UNKNOWN))
        steps += [Step("kibana", "rule", r["id"], Action.UNKNOWN) for r in rule_bodies]
        _unreachable_plan(report, "Kibana", steps, exc)
        return
    if _version_tuple(version) < _version_tuple(MINIMUM_KIBANA):
        msg = (
            f"Kibana {version} is too old: the saved objects are authored for"
            f" {MINIMUM_KIBANA} or newer, and Kibana never imports newer objects"
        )
        raise SetupError(msg)
    report.notes.append(f"Kibana {version}")

    saved = kibana_sync.plan_saved_objects(kibana, objects)
    report.steps += saved.steps
    if not options.dry_run:
        kibana_sync.import_saved_objects(kibana, saved.to_import)

    step = kibana_sync.plan_connector(kibana, connector)
    report.steps.append(step)
    if not options.dry_run:
        kibana_sync.apply_connector(kibana, connector, step)

    for rule in rule_bodies:
        step = kibana_sync.plan_rule(kibana, rule)
        report.steps.append(step)
        if not options.dry_run:
            kibana_sync.apply_rule(kibana, rule, step)


def run_setup(
    elasticsearch: Elasticsearch | None,
    kibana: KibanaConnection | None,
    options: SetupOptions,
) -> SetupReport:
    """Install the Elasticsearch and/or Kibana assets; returns what was done.

    Raises:
        SetupError: naming the asset and the reason, at the first failure.
    """
    if elasticsearch is None and kibana is None:
        msg = "nothing to set up: give an Elasticsearch URL, a Kibana URL or both"
        raise SetupError(msg)
    report = SetupReport(dry_run=options.dry_run)
    if elasticsearch is not None:
        setup_elasticsearch(elasticsearch, options, report)
    if kibana is not None:
        try:
            setup_kibana(Kibana(kibana), options, report)
        except KibanaError as exc:
            raise SetupError(str(exc)) from exc
    return report
