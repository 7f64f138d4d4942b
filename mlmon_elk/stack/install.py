"""Install the index templates and retention policies (the I/O side of ``templates``).

Idempotent by construction: every body carries a content hash in ``_meta.hash``
(an ISM policy, which has no ``_meta``, in its description); an asset whose
installed hash matches is left alone, so running setup twice writes nothing the
second time.

On OpenSearch, retention is ISM: installed where the ISM plugin answers, and
otherwise reported as a skipped step that says so (documents are then kept until
deleted by hand).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from mlmon_elk.errors import SetupError
from mlmon_elk.stack.plan import Action, Step
from mlmon_elk.stack.templates import (
    DEFAULT_RETENTION,
    Body,
    Engine,
    Retention,
    component_templates,
    ilm_policies,
    index_templates,
    ism_policies,
    with_hash,
)

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

AssetKind = Literal["ilm policy", "ism policy", "component template", "index template"]

ISM_MISSING = (
    "the ISM plugin is not installed on this OpenSearch: retention is not enforced"
    " (install it and run setup again, or delete old backing indices yourself)"
)


@dataclass(frozen=True, slots=True)
class TemplateAsset:
    """One Elasticsearch asset with its full request body (hash included)."""

    kind: AssetKind
    name: str
    body: Body

    @property
    def path(self) -> str:
        """The REST path it lives at, e.g. ``_index_template/mlmon-prediction``."""
        prefix = {
            "ilm policy": "_ilm/policy",
            "ism policy": "_plugins/_ism/policies",
            "component template": "_component_template",
            "index template": "_index_template",
        }[self.kind]
        return f"{prefix}/{self.name}"

    @property
    def hash(self) -> str:
        """The content hash this body records."""
        if self.kind == "ism policy":
            return str(self.body["description"]).rpartition(_HASH_MARK)[2]
        return str(self.body["_meta"]["hash"])


def template_assets(
    *,
    data_streams: bool = True,
    retention: Retention = DEFAULT_RETENTION,
    engine: Engine = "elasticsearch",
) -> list[TemplateAsset]:
    """Every asset in install order: policies, then components, then index templates.

    Index templates refer to components and components to policies, so this
    order never leaves a dangling reference, even half-way through.
    """
    assets: list[TemplateAsset] = []
    if data_streams and engine == "elasticsearch":
        assets += [
            TemplateAsset("ilm policy", name, with_hash(body))
            for name, body in ilm_policies(retention).items()
        ]
    if data_streams and engine == "opensearch":
        assets += [
            TemplateAsset("ism policy", name, _hash_in_description(with_hash(body)))
            for name, body in ism_policies(retention).items()
        ]
    assets += [
        TemplateAsset("component template", name, with_hash(body))
        for name, body in component_templates(data_streams=data_streams, engine=engine).items()
    ]
    assets += [
        TemplateAsset("index template", name, with_hash(body))
        for name, body in index_templates(data_streams=data_streams, engine=engine).items()
    ]
    return assets


_HASH_MARK = " · mlmon-elk hash "


def _hash_in_description(body: Body) -> Body:
    """An ISM policy keeps no ``_meta``: its hash is carried at the end of the description."""
    moved = {k: v for k, v in body.items() if k != "_meta"}
    moved["description"] = f"{body['description']}{_HASH_MARK}{body['_meta']['hash']}"
    return moved


def engine_of(client: Elasticsearch) -> Engine:
    """``opensearch`` or ``elasticsearch``, from ``GET /``."""
    version = client.info().body.get("version", {})
    return "opensearch" if version.get("distribution") == "opensearch" else "elasticsearch"


def has_ism(client: Elasticsearch) -> bool:
    """Whether this OpenSearch has the ISM plugin (it answers ``GET _plugins/_ism/policies``)."""
    from elasticsearch import ApiError

    try:
        client.perform_request("GET", "/_plugins/_ism/policies", headers=_JSON)
    except ApiError as exc:
        if exc.meta.status in (400, 404, 405):  # "no handler found for uri"
            return False
        raise
    return True


_JSON = {"accept": "application/json", "content-type": "application/json"}


def installed_hash(client: Elasticsearch, asset: TemplateAsset) -> str | None:
    """The content hash of the installed version of ``asset``.

    Returns ``""`` when an asset of that name exists without our hash (someone
    else's, or an older mlmon-elk) and ``None`` when there is none.
    """
    from elasticsearch import NotFoundError

    try:
        if asset.kind == "ilm policy":
            found = client.ilm.get_lifecycle(name=asset.name).body
            meta = found[asset.name]["policy"].get("_meta", {})
        elif asset.kind == "ism policy":
            found = client.perform_request("GET", f"/{asset.path}", headers=_JSON).body
            description = str(found["policy"].get("description", ""))
            return description.rpartition(_HASH_MARK)[2] if _HASH_MARK in description else ""
        elif asset.kind == "component template":
            found = client.cluster.get_component_template(name=asset.name).body
            meta = found["component_templates"][0]["component_template"].get("_meta", {})
        else:
            found = client.indices.get_index_template(name=asset.name).body
            meta = found["index_templates"][0]["index_template"].get("_meta", {})
    except NotFoundError:
        return None
    return str(meta.get("hash", ""))


def plan_templates(
    client: Elasticsearch,
    *,
    data_streams: bool = True,
    retention: Retention = DEFAULT_RETENTION,
    engine: Engine | None = None,
) -> list[tuple[TemplateAsset, Step]]:
    """Read what is installed and decide, per asset, what to do (writes nothing).

    ``engine`` is read from the cluster when not given.
    """
    from elasticsearch import ApiError

    engine = engine or engine_of(client)
    ism = engine == "opensearch" and data_streams and has_ism(client)
    plan = []
    for asset in template_assets(data_streams=data_streams, retention=retention, engine=engine):
        if asset.kind == "ism policy" and not ism:
            plan.append(
                (asset, Step("elasticsearch", asset.kind, asset.name, Action.SKIPPED, ISM_MISSING))
            )
            continue
        try:
            current = installed_hash(client, asset)
        except ApiError as exc:
            msg = f"cannot read {asset.path}: {_reason(exc)}"
            raise SetupError(msg) from exc
        if current is None:
            action, detail = Action.CREATE, ""
        elif current == asset.hash:
            action, detail = Action.UNCHANGED, ""
        else:
            action, detail = Action.UPDATE, "content differs" if current else "not ours yet"
        plan.append((asset, Step("elasticsearch", asset.kind, asset.name, action, detail)))
    return plan


def put_asset(client: Elasticsearch, asset: TemplateAsset) -> None:
    """Write one asset (create or replace)."""
    from elasticsearch import ApiError

    try:
        if asset.kind == "ilm policy":
            client.ilm.put_lifecycle(name=asset.name, policy=asset.body)
        elif asset.kind == "ism policy":
            _put_ism_policy(client, asset)
        elif asset.kind == "component template":
            client.cluster.put_component_template(name=asset.name, **asset.body)
        else:
            client.indices.put_index_template(name=asset.name, **asset.body)
    except ApiError as exc:
        msg = f"cannot write {asset.path}: {_reason(exc)}"
        raise SetupError(msg) from exc


def _put_ism_policy(client: Elasticsearch, asset: TemplateAsset) -> None:
    """Create an ISM policy, or replace it (ISM wants the current sequence number for that)."""
    from elasticsearch import NotFoundError

    params: dict[str, object] = {}
    try:
        current = client.perform_request("GET", f"/{asset.path}", headers=_JSON).body
        params = {"if_seq_no": current["_seq_no"], "if_primary_term": current["_primary_term"]}
    except NotFoundError:
        pass
    client.perform_request(
        "PUT", f"/{asset.path}", params=params, headers=_JSON, body={"policy": asset.body}
    )


def install_templates(
    client: Elasticsearch,
    *,
    data_streams: bool = True,
    retention: Retention = DEFAULT_RETENTION,
    dry_run: bool = False,
    engine: Engine | None = None,
) -> list[str]:
    """Put the policies and templates that differ; returns the paths (to be) written.

    Args:
        client: The Elasticsearch client.
        data_streams: Install the data-stream variant (with ILM or ISM retention)
            or the plain-index variant.
        retention: How long documents are kept (data-stream variant only).
        dry_run: Only read and report.
        engine: ``elasticsearch`` or ``opensearch``; read from the cluster when not given.

    Raises:
        SetupError: When Elasticsearch refuses to read or write an asset.
    """
    written = []
    plan = plan_templates(client, data_streams=data_streams, retention=retention, engine=engine)
    for asset, step in plan:
        if not step.changes:
            continue
        if not dry_run:
            put_asset(client, asset)
        written.append(asset.path)
    return written


def _reason(exc: Exception) -> str:
    info = getattr(exc, "info", None)
    if isinstance(info, dict):
        error = info.get("error")
        if isinstance(error, dict) and error.get("reason"):
            return f"{error.get('type', 'error')}: {error['reason']}"
        if isinstance(error, str):
            return error
    return str(exc)
