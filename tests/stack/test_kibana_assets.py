"""The committed ``kibana_dashboards/`` files are exactly what the builder generates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlmon_elk.errors import SetupError
from mlmon_elk.stack import kibana_assets, rules
from mlmon_elk.stack.assets import asset_dir
from mlmon_elk.stack.dashboards import saved_objects

DIRECTORY = asset_dir("kibana_dashboards")


def test_committed_files_equal_the_generated_ones() -> None:
    """Regenerate with ``python -m mlmon_elk.stack.kibana_assets`` when this fails."""
    for relative, content in kibana_assets.asset_files().items():
        assert (DIRECTORY / relative).read_text(encoding="utf-8") == content, relative


def test_no_stale_generated_file_is_left_behind() -> None:
    """Every NDJSON, rule and connector file in the directory is one the builder makes."""
    generated = set(kibana_assets.asset_files())
    on_disk = {
        str(p.relative_to(DIRECTORY))
        for pattern in ("*.ndjson", "rules/*", "connectors/*")
        for p in DIRECTORY.glob(pattern)
    }
    assert on_disk == generated


def test_every_ndjson_line_is_one_saved_object() -> None:
    """Import-ready: one JSON object per line, newline-terminated, nothing else."""
    text = (DIRECTORY / kibana_assets.SAVED_OBJECTS_FILE).read_text(encoding="utf-8")
    assert text.endswith("\n")
    lines = text.splitlines()
    assert len(lines) == len(saved_objects())
    for line in lines:
        body = json.loads(line)
        assert {"type", "id", "attributes", "references"} <= set(body)
    assert kibana_assets.load_saved_objects(DIRECTORY) == saved_objects()


def test_rule_and_connector_files_are_named_by_their_ids() -> None:
    """``rules/<id>.json`` holds the rule ``<id>``; connectors are named by kind."""
    loaded = kibana_assets.load_rules(DIRECTORY)
    assert sorted(r["id"] for r in loaded) == sorted(r["id"] for r in rules.rules())
    assert kibana_assets.connector_kinds(DIRECTORY) == sorted(rules.connectors())
    for kind in rules.connectors():
        assert kibana_assets.load_connector(DIRECTORY, kind)["id"] == rules.connector_id(kind)


def test_export_summary_lines_are_skipped(tmp_path: Path) -> None:
    """A file exported from Kibana (with its summary line) loads as its objects."""
    exported = tmp_path / kibana_assets.SAVED_OBJECTS_FILE
    exported.write_text(
        '{"type":"index-pattern","id":"a","attributes":{},"references":[]}\n'
        '{"exportedCount":1,"missingRefCount":0,"missingReferences":[]}\n'
    )
    assert [o["id"] for o in kibana_assets.load_saved_objects(tmp_path)] == ["a"]


def test_a_broken_line_is_named_with_its_number(tmp_path: Path) -> None:
    """A damaged NDJSON file fails with file and line, before anything is sent."""
    (tmp_path / kibana_assets.SAVED_OBJECTS_FILE).write_text('{"type":"x","id":"1"}\n{oops\n')
    with pytest.raises(SetupError, match=r"saved_objects\.ndjson:2: not JSON"):
        kibana_assets.load_saved_objects(tmp_path)


def test_env_references_are_resolved_or_named() -> None:
    """``${VAR}`` values are filled from the environment; missing ones are all listed."""
    body = {"secrets": {"url": "${A}", "token": "Bearer ${B}"}, "config": {"n": 1}}
    resolved = kibana_assets.resolve_env(body, {"A": "https://x", "B": "t0k"})
    assert resolved == {"secrets": {"url": "https://x", "token": "Bearer t0k"}, "config": {"n": 1}}
    with pytest.raises(SetupError, match="A, B"):
        kibana_assets.resolve_env(body, {})


def test_generator_writes_into_any_directory(tmp_path: Path) -> None:
    """``python -m mlmon_elk.stack.kibana_assets DIR`` writes the full set there."""
    assert kibana_assets.main([str(tmp_path)]) == 0
    for relative, content in kibana_assets.asset_files().items():
        assert (tmp_path / relative).read_text(encoding="utf-8") == content


# The keys of Kibana's create-API body schemas (``createBodySchema`` of the alerting
# plugin's rule create route, ``createConnectorRequestBodySchema`` of the actions
# plugin); kbn/config-schema objects reject any other key, ``id`` included.
RULE_BODY_KEYS = {
    "name",
    "rule_type_id",
    "enabled",
    "consumer",
    "tags",
    "throttle",
    "params",
    "schedule",
    "actions",
    "notify_when",
    "alert_delay",
    "flapping",
    "dashboards",
}
CONNECTOR_BODY_KEYS = {"name", "connector_type_id", "config", "secrets"}


def test_files_are_request_bodies_kibana_accepts_as_they_are() -> None:
    """No ``id`` in a body (Kibana takes it from the path); only keys the create APIs know."""
    for path in (DIRECTORY / kibana_assets.RULES_DIR).glob("*.json"):
        body = json.loads(path.read_text())
        assert set(body) <= RULE_BODY_KEYS, (path.name, set(body) - RULE_BODY_KEYS)
    for path in (DIRECTORY / kibana_assets.CONNECTORS_DIR).glob("*.json"):
        body = json.loads(path.read_text())
        assert set(body) <= CONNECTOR_BODY_KEYS, (path.name, set(body) - CONNECTOR_BODY_KEYS)


def test_a_copy_whose_files_still_carry_ids_loads(tmp_path: Path) -> None:
    """Customised copies made from the older files (with ``id``) keep working."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.json").write_text('{"id": "custom", "name": "n"}')
    assert kibana_assets.load_rules(tmp_path) == [{"id": "custom", "name": "n"}]


# ``minimumLicenseRequired`` of Kibana's connector types (stack_connectors plugin).
MINIMUM_LICENCE = {".server-log": "Basic", ".index": "Basic", ".slack": "Gold", ".webhook": "Gold"}


def test_docs_say_which_licence_each_connector_needs() -> None:
    stack_md = (Path(__file__).resolve().parents[2] / "docs" / "stack.md").read_text()
    for kind, body in rules.connectors().items():
        row = next(line for line in stack_md.splitlines() if line.startswith(f"| `{kind}`"))
        assert MINIMUM_LICENCE[body["connector_type_id"]] in row, row
