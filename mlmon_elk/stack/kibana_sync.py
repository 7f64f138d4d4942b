"""Bring Kibana's saved objects, connectors and rules in line with the assets.

Each ``plan_*`` function reads what Kibana has and returns what it would do per
asset, without writing; each ``apply_*`` function writes exactly the planned
changes. Comparisons look only at what survives Kibana's own migrations, so a
second run finds nothing to do:

* dashboards carry a content stamp at the end of their description;
* data views are compared on title, time field and name (field formats and
  popularity counts are the user's to change);
* connectors on name, type and configuration (secrets cannot be read back);
* rules on name, tags, schedule, parameters and actions — only the keys the
  asset sets, since Kibana fills in defaults for the others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from mlmon_elk.errors import SetupError
from mlmon_elk.stack.dashboards import stamp_of
from mlmon_elk.stack.kibana import Kibana, KibanaError
from mlmon_elk.stack.plan import Action, Step

Body = dict[str, Any]

IMPORT_PATH = "/api/saved_objects/_import"
EXPORT_PATH = "/api/saved_objects/_export"
DATA_VIEW_KEYS = ("title", "timeFieldName", "name")


def _key(saved_object: Body) -> tuple[str, str]:
    return (str(saved_object["type"]), str(saved_object["id"]))


def _parse_ndjson(text: str) -> list[Body]:
    objects = []
    for line in text.splitlines():
        if line.strip():
            body = json.loads(line)
            if isinstance(body, dict) and "type" in body:
                objects.append(body)
    return objects


def export_objects(kibana: Kibana, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Body]:
    """The installed versions of the given saved objects (missing ones are absent).

    The export API refuses a whole request when one object is missing (HTTP 400
    listing the missing ones), so those are dropped and the rest asked again.
    """
    wanted = list(keys)
    for _ in range(2):
        if not wanted:
            return {}
        body = {
            "objects": [{"type": t, "id": i} for t, i in wanted],
            "includeReferencesDeep": False,
            "excludeExportDetails": True,
        }
        try:
            answer = kibana.post(EXPORT_PATH, body)
        except KibanaError as exc:
            missing = _missing_from_export_error(exc)
            if exc.status != 400 or not missing:
                raise
            wanted = [k for k in wanted if k not in missing]
            continue
        return {_key(o): o for o in _parse_ndjson(answer.text)}
    msg = "Kibana keeps refusing to export the mlmon saved objects"
    raise SetupError(msg)


def _missing_from_export_error(exc: KibanaError) -> set[tuple[str, str]]:
    body = exc.body if isinstance(exc.body, dict) else {}
    objects = (body.get("attributes") or {}).get("objects") or []
    return {(str(o["type"]), str(o["id"])) for o in objects if "type" in o and "id" in o}


def saved_object_action(desired: Body, installed: Body | None) -> tuple[Action, str]:
    """What to do with one saved object, given the installed version (or none)."""
    if installed is None:
        return Action.CREATE, ""
    want, have = desired["attributes"], installed.get("attributes", {})
    if desired["type"] == "dashboard":
        if stamp_of(have) == stamp_of(want):
            return Action.UNCHANGED, ""
        return Action.UPDATE, "different version of the dashboard"
    if desired["type"] == "index-pattern":
        differing = [k for k in DATA_VIEW_KEYS if want.get(k) != have.get(k)]
        if not differing:
            return Action.UNCHANGED, ""
        return Action.UPDATE, "differs in " + ", ".join(differing)
    if want == have and desired.get("references", []) == installed.get("references", []):
        return Action.UNCHANGED, ""
    return Action.UPDATE, "content differs"


@dataclass(frozen=True, slots=True)
class SavedObjectPlan:
    """Saved objects to import, and a step per object."""

    to_import: list[Body]
    steps: list[Step]


def plan_saved_objects(kibana: Kibana, objects: list[Body]) -> SavedObjectPlan:
    """Compare the asset objects with Kibana's (reads only)."""
    installed = export_objects(kibana, [_key(o) for o in objects])
    to_import, steps = [], []
    for desired in objects:
        action, detail = saved_object_action(desired, installed.get(_key(desired)))
        if action is not Action.UNCHANGED:
            to_import.append(desired)
        steps.append(Step("kibana", desired["type"], desired["id"], action, detail))
    return SavedObjectPlan(to_import, steps)


def import_saved_objects(kibana: Kibana, objects: list[Body]) -> None:
    """Import ``objects`` (overwriting), failing with every per-object error.

    The import API answers HTTP 200 even when objects fail; the errors are in
    the body, one per object.
    """
    if not objects:
        return
    content = "".join(json.dumps(o, sort_keys=True) + "\n" for o in objects).encode()
    answer = kibana.post_file(IMPORT_PATH, "mlmon-elk.ndjson", content, query={"overwrite": "true"})
    body = answer.body if isinstance(answer.body, dict) else {}
    errors = body.get("errors") or []
    if errors or not body.get("success", False):
        lines = [_import_error_line(e) for e in errors] or [answer.text[:300]]
        msg = "Kibana refused some saved objects:\n  " + "\n  ".join(lines)
        raise SetupError(msg)


def _import_error_line(error: Body) -> str:
    detail = error.get("error", {})
    kind = detail.get("type", "error")
    line = f"{error.get('type')} {error.get('id')} ({error.get('title', '')}): {kind}"
    if kind == "missing_references":
        refs = ", ".join(f"{r.get('type')} {r.get('id')}" for r in detail.get("references", []))
        line += f" — missing {refs}"
    elif detail.get("message"):
        line += f" — {detail['message']}"
    return line


# ---- Connectors ----------------------------------------------------------------


def _connector_path(connector_id: str) -> str:
    return f"/api/actions/connector/{quote(connector_id, safe='')}"


def _get_or_none(kibana: Kibana, path: str) -> Body | None:
    try:
        body = kibana.get(path).body
    except KibanaError as exc:
        if exc.status == 404:
            return None
        raise
    return body if isinstance(body, dict) else None


def _subset_differs(want: Any, have: Any) -> bool:
    """Whether ``have`` differs from ``want`` in any key ``want`` sets (recursively)."""
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return True
        return any(_subset_differs(v, have.get(k)) for k, v in want.items())
    if isinstance(want, list):
        if not isinstance(have, list) or len(want) != len(have):
            return True
        return any(_subset_differs(w, h) for w, h in zip(want, have, strict=True))
    return bool(want != have)


def connector_action(desired: Body, installed: Body | None) -> tuple[Action, str]:
    """What to do with the connector, given the installed one (or none)."""
    if installed is None:
        return Action.CREATE, ""
    if installed.get("is_preconfigured"):
        return Action.UNCHANGED, "preconfigured in kibana.yml"
    if installed.get("connector_type_id") != desired["connector_type_id"]:
        msg = (
            f"connector {desired['id']} exists with type {installed.get('connector_type_id')},"
            f" not {desired['connector_type_id']}; delete it in Kibana and run setup again"
        )
        raise SetupError(msg)
    differing = [k for k in ("name", "config") if _subset_differs(desired[k], installed.get(k, {}))]
    if not differing:
        return Action.UNCHANGED, ""
    return Action.UPDATE, "differs in " + ", ".join(differing)


def plan_connector(kibana: Kibana, connector: Body) -> Step:
    """Compare the connector with Kibana's (reads only)."""
    installed = _get_or_none(kibana, _connector_path(connector["id"]))
    action, detail = connector_action(connector, installed)
    return Step("kibana", "connector", connector["id"], action, detail)


def apply_connector(kibana: Kibana, connector: Body, step: Step) -> None:
    """Create or update the connector as planned (secrets are sent every time)."""
    path = _connector_path(connector["id"])
    if step.action is Action.CREATE:
        kibana.post(path, {k: v for k, v in connector.items() if k != "id"})
    elif step.action is Action.UPDATE:
        kibana.put(path, {k: connector[k] for k in ("name", "config", "secrets")})


# ---- Rules ---------------------------------------------------------------------

RULE_UPDATABLE = ("name", "tags", "schedule", "params", "actions")


def _rule_path(rule_id: str) -> str:
    return f"/api/alerting/rule/{quote(rule_id, safe='')}"


def rule_action(desired: Body, installed: Body | None) -> tuple[Action, str]:
    """What to do with one rule, given the installed one (or none)."""
    if installed is None:
        return Action.CREATE, ""
    for immutable in ("rule_type_id", "consumer"):
        if installed.get(immutable) != desired[immutable]:
            msg = (
                f"rule {desired['id']} exists with {immutable} {installed.get(immutable)!r},"
                f" not {desired[immutable]!r}; delete it in Kibana and run setup again"
            )
            raise SetupError(msg)
    differing = [k for k in RULE_UPDATABLE if _subset_differs(desired[k], installed.get(k))]
    if not differing:
        return Action.UNCHANGED, ""
    return Action.UPDATE, "differs in " + ", ".join(differing)


def plan_rule(kibana: Kibana, rule: Body) -> Step:
    """Compare one rule with Kibana's (reads only)."""
    installed = _get_or_none(kibana, _rule_path(rule["id"]))
    action, detail = rule_action(rule, installed)
    return Step("kibana", "rule", rule["id"], action, detail)


def apply_rule(kibana: Kibana, rule: Body, step: Step) -> None:
    """Create or update the rule as planned (an existing rule keeps its enabled state)."""
    path = _rule_path(rule["id"])
    if step.action is Action.CREATE:
        kibana.post(path, {k: v for k, v in rule.items() if k != "id"})
    elif step.action is Action.UPDATE:
        kibana.put(path, {k: rule[k] for k in RULE_UPDATABLE})
