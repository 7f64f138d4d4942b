"""Install the index templates and retention policies (the I/O side of ``templates``).

Idempotent by construction: every body carries a content hash in ``_meta.hash``;
an asset whose installed hash matches is left alone, so running setup twice
writes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from mlmon_elk.errors import SetupError
from mlmon_elk.stack.plan import Action, Step
from mlmon_elk.stack.templates import (
    DEFAULT_RETENTION,
    Body,
    Retention,
    component_templates,
    ilm_policies,
    index_templates,
    with_hash,
)

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

AssetKind = Literal["ilm policy", "component template", "index template"]


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
            "component template": "_component_template",
            "index template": "_index_template",
        }[self.kind]
        return f"{prefix}/{self.name}"

    @property
    def hash(self) -> str:
        """The content hash this body records."""
        return str(self.body["_meta"]["hash"])


def template_assets(
    *, data_streams: bool = True, retention: Retention = DEFAULT_RETENTION
) -> list[TemplateAsset]:
    """Every asset in install order: policies, then components, then index templates.

    Index templates refer to components and components to policies, so this
    order never leaves a dangling reference, even half-way through.
    """
    assets: list[TemplateAsset] = []
    if data_streams:
        assets += [
            TemplateAsset("ilm policy", name, with_hash(body))
            for name, body in ilm_policies(retention).items()
        ]
    assets += [
        TemplateAsset("component template", name, with_hash(body))
        for name, body in component_templates(data_streams=data_streams).items()
    ]
    assets += [
        TemplateAsset("index template", name, with_hash(body))
        for name, body in index_templates(data_streams=data_streams).items()
    ]
    return assets


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
    client: Elasticsearch, *, data_streams: bool = True, retention: Retention = DEFAULT_RETENTION
) -> list[tuple[TemplateAsset, Step]]:
    """Read what is installed and decide, per asset, what to do (writes nothing)."""
    from elasticsearch import ApiError

    plan = []
    for asset in template_assets(data_streams=data_streams, retention=retention):
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
        elif asset.kind == "component template":
            client.cluster.put_component_template(name=asset.name, **asset.body)
        else:
            client.indices.put_index_template(name=asset.name, **asset.body)
    except ApiError as exc:
        msg = f"cannot write {asset.path}: {_reason(exc)}"
        raise SetupError(msg) from exc


def install_templates(
    client: Elasticsearch,
    *,
    data_streams: bool = True,
    retention: Retention = DEFAULT_RETENTION,
    dry_run: bool = False,
) -> list[str]:
    """Put the policies and templates that differ; returns the paths (to be) written.

    Args:
        client: The Elasticsearch client.
        data_streams: Install the data-stream variant (with ILM retention) or
            the plain-index variant.
        retention: How long documents are kept (data-stream variant only).
        dry_run: Only read and report.

    Raises:
        SetupError: When Elasticsearch refuses to read or write an asset.
    """
    written = []
    for asset, step in plan_templates(client, data_streams=data_streams, retention=retention):
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
