"""``setup`` installs the stack assets in order, reports every failure, and is idempotent.

Elasticsearch is the ``es_bare`` server (osmem-server, or a real cluster when
``MLMON_TEST_ES_URL`` is set); Kibana is a real local HTTP server implementing
the API subset setup uses (``tests/stack/fake_kibana.py``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlmon_elk.contract import DataView
from mlmon_elk.errors import SetupError
from mlmon_elk.stack import dashboards, rules
from mlmon_elk.stack.assets import asset_dir
from mlmon_elk.stack.install import has_ism, plan_templates
from mlmon_elk.stack.kibana import KibanaConnection
from mlmon_elk.stack.plan import Action
from mlmon_elk.stack.setup import SetupOptions, run_setup
from mlmon_elk.stack.templates import index_templates
from tests.conftest import EsTarget
from tests.stack.fake_kibana import FakeKibana, basic, running

RULE_IDS = {r["id"] for r in rules.rules()}
DASHBOARD_IDS = {dashboards.OVERVIEW, dashboards.DATA_QUALITY, dashboards.ALERTS}


def fast(**overrides: object) -> SetupOptions:
    """Options with short waits, so a test never sleeps long."""
    values: dict[str, object] = {"wait_seconds": 5.0, "poll_seconds": 0.01, **overrides}
    return SetupOptions(**values)  # type: ignore[arg-type]


def at(fake: FakeKibana, **overrides: object) -> KibanaConnection:
    """A connection to the fake Kibana."""
    return KibanaConnection(url=fake.url, **overrides)  # type: ignore[arg-type]


def test_setup_installs_every_asset(es_bare: EsTarget, kibana: FakeKibana) -> None:
    """Templates in Elasticsearch; data views, dashboards, connector and rules in Kibana."""
    before = plan_templates(es_bare.client, data_streams=es_bare.data_streams)
    report = run_setup(es_bare.client, at(kibana), fast())

    for name in index_templates(data_streams=es_bare.data_streams):
        assert es_bare.client.indices.exists_index_template(name=name)
    space = kibana.space()
    assert {i for t, i in space.objects if t == "index-pattern"} == set(DataView)
    assert {i for t, i in space.objects if t == "dashboard"} == DASHBOARD_IDS
    assert set(space.connectors) == {"mlmon-server-log"}
    assert set(space.rules) == RULE_IDS
    assert all(rule["enabled"] for rule in space.rules.values())
    es_steps = [(s.name, s.action) for s in report.steps if s.service == "elasticsearch"]
    assert es_steps == [(step.name, step.action) for _, step in before]
    assert {s.action for s in report.steps if s.service == "kibana"} == {Action.CREATE}
    kibana_steps = [(s.kind, s.name) for s in report.steps if s.service == "kibana"]
    assert len(kibana_steps) == len(DataView) + len(DASHBOARD_IDS) + 1 + len(RULE_IDS)


def test_kibana_requests_come_in_dependency_order(es_bare: EsTarget, kibana: FakeKibana) -> None:
    """Status first, then saved objects, then the connector, then rules that use it."""
    run_setup(es_bare.client, at(kibana), fast())

    def first(predicate: str) -> int:
        return next(n for n, r in enumerate(kibana.requests) if predicate in f"{r.method} {r.path}")

    status = first("GET /api/status")
    export = first("POST /api/saved_objects/_export")
    imported = first("POST /api/saved_objects/_import")
    connector = first("POST /api/actions/connector/")
    rule = first("POST /api/alerting/rule/")
    assert status < export < imported < connector < rule
    writes = kibana.writes
    assert all("kbn-xsrf" in r.headers for r in writes)
    (import_request,) = [r for r in writes if r.path.endswith("/_import")]
    assert import_request.query == {"overwrite": ["true"]}
    assert import_request.headers["content-type"].startswith("multipart/form-data; boundary=")


def test_second_run_changes_nothing(es_bare: EsTarget, kibana: FakeKibana) -> None:
    """Running setup twice writes nothing the second time, on either service."""
    run_setup(es_bare.client, at(kibana), fast())
    writes_before = len(kibana.writes)
    counts_before = dict(kibana.write_counts)

    again = run_setup(es_bare.client, at(kibana), fast())

    assert again.changes == []
    assert {s.action for s in again.steps} <= {Action.UNCHANGED, Action.SKIPPED}
    assert len(kibana.writes) == writes_before
    assert kibana.write_counts == counts_before
    assert "0 created, 0 updated" in again.summary()


def test_dry_run_reads_but_writes_nothing(es_bare: EsTarget, kibana: FakeKibana) -> None:
    """A dry run plans every asset as a creation and leaves both services untouched."""
    before = plan_templates(es_bare.client, data_streams=es_bare.data_streams)
    report = run_setup(es_bare.client, at(kibana), fast(dry_run=True))

    assert report.changes
    assert {s.action for s in report.steps if s.service == "kibana"} == {Action.CREATE}
    assert kibana.writes == []
    assert kibana.space().objects == {}
    after = plan_templates(es_bare.client, data_streams=es_bare.data_streams)
    assert [s for _, s in after] == [s for _, s in before]
    assert "would be created" in report.summary()


def test_dry_run_after_setup_plans_nothing(es_bare: EsTarget, kibana: FakeKibana) -> None:
    """Once installed, a dry run reports every asset unchanged."""
    run_setup(es_bare.client, at(kibana), fast())
    report = run_setup(es_bare.client, at(kibana), fast(dry_run=True))
    assert report.changes == []


def test_dry_run_without_a_stack_lists_assets_unchecked() -> None:
    """With nothing reachable, a dry run still lists what it would install."""
    report = run_setup(
        None, KibanaConnection(url="http://127.0.0.1:9"), fast(dry_run=True, wait_seconds=0.0)
    )
    assert {s.action for s in report.steps} == {Action.UNKNOWN}
    assert {s.name for s in report.steps if s.kind == "rule"} == RULE_IDS
    assert "not reachable" in report.notes[0]


def test_only_changed_objects_are_reimported(es_bare: EsTarget, kibana: FakeKibana) -> None:
    """An outdated dashboard is imported again; everything else is left alone."""
    run_setup(es_bare.client, at(kibana), fast())
    stored = kibana.space().objects[("dashboard", dashboards.OVERVIEW)]
    stored["attributes"]["description"] = "an older version\n\nmlmon-elk assets 000000000000"
    counts_before = dict(kibana.write_counts)

    report = run_setup(es_bare.client, at(kibana), fast())

    assert [(s.kind, s.name) for s in report.changes] == [("dashboard", dashboards.OVERVIEW)]
    changed = {k for k, v in kibana.write_counts.items() if counts_before.get(k) != v}
    assert changed == {f"dashboard/{dashboards.OVERVIEW}"}


def test_per_object_import_errors_are_reported(
    es_bare: EsTarget, kibana: FakeKibana, tmp_path: Path
) -> None:
    """Errors inside an HTTP 200 import answer fail setup and name each object."""
    assets = tmp_path / "kibana_dashboards"
    shutil.copytree(asset_dir("kibana_dashboards"), assets)
    lines = (assets / "saved_objects.ndjson").read_text().splitlines()
    broken = []
    for line in lines:
        obj = json.loads(line)
        if obj["id"] == dashboards.ALERTS:
            obj["references"][0]["id"] = "no-such-view"
        broken.append(json.dumps(obj))
    (assets / "saved_objects.ndjson").write_text("\n".join(broken) + "\n")

    with pytest.raises(SetupError) as failure:
        run_setup(es_bare.client, at(kibana), fast(assets=assets))

    message = str(failure.value)
    assert f"dashboard {dashboards.ALERTS}" in message
    assert "missing_references" in message
    assert "index-pattern no-such-view" in message


def test_rule_edited_in_kibana_is_restored_but_stays_disabled(
    es_bare: EsTarget, kibana: FakeKibana
) -> None:
    """Setup puts back the shipped parameters without re-enabling a rule someone disabled."""
    run_setup(es_bare.client, at(kibana), fast())
    rule = kibana.space().rules["mlmon-analyzer-silent"]
    rule["enabled"] = False
    rule["params"]["timeWindowSize"] = 99

    report = run_setup(es_bare.client, at(kibana), fast())

    assert [(s.kind, s.name, s.action) for s in report.changes] == [
        ("rule", "mlmon-analyzer-silent", Action.UPDATE)
    ]
    restored = kibana.space().rules["mlmon-analyzer-silent"]
    assert restored["params"]["timeWindowSize"] == 2 * rules.ANALYZER_INTERVAL_MINUTES
    assert restored["enabled"] is False


def test_setup_waits_for_kibana_to_become_available(es_bare: EsTarget, kibana: FakeKibana) -> None:
    """While /api/status answers 503, setup polls instead of failing."""
    kibana.unavailable_polls = 3
    run_setup(es_bare.client, at(kibana), fast())
    assert sum(r.path == "/api/status" for r in kibana.requests) == 4
    assert set(kibana.space().rules) == RULE_IDS


def test_setup_gives_up_when_kibana_never_becomes_available(kibana: FakeKibana) -> None:
    """A Kibana that stays unavailable fails setup with the reason, after the wait."""
    kibana.unavailable_polls = 10_000
    with pytest.raises(SetupError, match=r"Kibana not ready after 0\.2s"):
        run_setup(None, at(kibana), fast(wait_seconds=0.2))


def test_kibana_older_than_the_assets_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Objects authored for 8.14 are never sent to an older Kibana."""
    monkeypatch.delenv("MLMON_KIBANA_USERNAME", raising=False)
    with running(FakeKibana(version="8.10.4")) as fake:
        with pytest.raises(SetupError, match=r"Kibana 8\.10\.4 is too old"):
            run_setup(None, at(fake), fast())
        assert fake.writes == []


def test_wrong_credentials_fail_with_the_http_reason(
    kibana: FakeKibana, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 401 from Kibana ends setup at once with Kibana's message: waiting would not help."""
    monkeypatch.setenv("MLMON_KIBANA_PASSWORD", "wrong")
    with pytest.raises(SetupError, match="HTTP 401"):
        run_setup(None, at(kibana), fast(wait_seconds=60.0))
    assert [r.path for r in kibana.requests] == ["/api/status"]
    with pytest.raises(SetupError, match="HTTP 401"):
        run_setup(None, at(kibana), fast(dry_run=True))


def test_kibana_credentials_fall_back_to_elasticsearch_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without MLMON_KIBANA_* variables, the Elasticsearch credentials are used."""
    for name in ("MLMON_KIBANA_API_KEY", "MLMON_KIBANA_USERNAME", "MLMON_ES_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLMON_ES_USERNAME", "elastic")
    monkeypatch.setenv("MLMON_ES_PASSWORD", "es-secret")
    with running(FakeKibana(credentials=basic("elastic", "es-secret"))) as fake:
        run_setup(None, at(fake), fast())
        assert set(fake.space().rules) == RULE_IDS


def test_api_key_in_id_colon_key_form_is_encoded(monkeypatch: pytest.MonkeyPatch) -> None:
    """``MLMON_KIBANA_API_KEY=id:key`` is sent as ``ApiKey base64(id:key)``."""
    monkeypatch.setenv("MLMON_KIBANA_API_KEY", "abc:def")
    with running(FakeKibana(credentials="ApiKey YWJjOmRlZg==")) as fake:
        run_setup(None, at(fake), fast())
        assert set(fake.space().rules) == RULE_IDS


def test_assets_go_to_the_chosen_space(kibana: FakeKibana) -> None:
    """With a space, every Kibana asset is created under /s/<space>/."""
    run_setup(None, at(kibana, space="ml-team"), fast())
    assert set(kibana.space("ml-team").rules) == RULE_IDS
    assert kibana.space().objects == {}
    assert all(r.path.startswith("/s/ml-team/") for r in kibana.writes)


def test_slack_connector_takes_its_secret_from_the_environment(
    kibana: FakeKibana, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--connector slack`` takes the webhook from MLMON_SLACK_WEBHOOK_URL; rules use it."""
    monkeypatch.setenv("MLMON_SLACK_WEBHOOK_URL", "https://hooks.example.com/T0/B0/x")
    run_setup(None, at(kibana), fast(connector="slack"))

    connector = kibana.space().connectors["mlmon-slack"]
    assert connector["secrets"] == {"webhookUrl": "https://hooks.example.com/T0/B0/x"}
    for rule in kibana.space().rules.values():
        (action,) = rule["actions"]
        assert action["id"] == "mlmon-slack"
        assert set(action["params"]) == {"message"}


def test_missing_connector_secret_is_named(
    kibana: FakeKibana, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without its environment variable, the Slack connector is refused before any write."""
    monkeypatch.delenv("MLMON_SLACK_WEBHOOK_URL", raising=False)
    with pytest.raises(SetupError, match="MLMON_SLACK_WEBHOOK_URL"):
        run_setup(None, at(kibana), fast(connector="slack"))
    assert kibana.writes == []


def test_unknown_connector_kind_lists_the_available_ones(kibana: FakeKibana) -> None:
    """A typo in --connector names the kinds that exist."""
    with pytest.raises(SetupError, match="available: index, server-log, slack, webhook"):
        run_setup(None, at(kibana), fast(connector="pager"))


def test_connector_of_another_type_is_not_overwritten(kibana: FakeKibana) -> None:
    """An existing connector with our id but another type stops setup with advice."""
    kibana.space().connectors["mlmon-server-log"] = {
        "id": "mlmon-server-log",
        "name": "someone else's",
        "connector_type_id": ".webhook",
        "config": {},
    }
    with pytest.raises(SetupError, match="delete it in Kibana"):
        run_setup(None, at(kibana), fast())


def test_auto_installs_data_streams_with_the_engines_retention(es_bare: EsTarget) -> None:
    """``auto`` installs data streams, retained by ILM on Elasticsearch and by ISM on
    OpenSearch — or says plainly that retention is not enforced where ISM is missing."""
    if not es_bare.data_streams:
        pytest.skip("osmem-server (the no-Java fallback) has no data streams")
    report = run_setup(es_bare.client, None, fast())
    assert "data-stream variant" in report.notes[0]
    policies = [s for s in report.steps if s.kind.endswith("policy")]
    assert [s.name for s in policies] == ["mlmon-predictions", "mlmon-results"]
    if es_bare.engine == "elasticsearch":
        assert {s.kind for s in policies} == {"ilm policy"}
    elif not has_ism(es_bare.client):
        assert {(s.kind, s.action) for s in policies} == {("ism policy", Action.SKIPPED)}
        assert "retention is not enforced" in str(policies[0])
    else:
        assert {s.kind for s in policies} == {"ism policy"}
        assert {s.action for s in policies} <= {Action.CREATE, Action.UPDATE}
    stream = es_bare.client.indices.get_index_template(name="mlmon-prediction")
    assert "data_stream" in stream["index_templates"][0]["index_template"]


def test_plain_indices_when_asked(es_bare: EsTarget) -> None:
    """``--index-mode plain`` installs the portable variant: no data streams, no retention —
    and where mlmon data streams already exist, the engine's refusal is named."""
    found = es_bare.client.options(ignore_status=404).indices.get_data_stream(name="logs-mlmon.*")
    if streams := [s["name"] for s in found.get("data_streams", [])]:
        with pytest.raises(SetupError, match="would cause data streams") as refused:
            run_setup(es_bare.client, None, fast(index_mode="plain"))
        assert any(name in str(refused.value) for name in streams)
        return
    report = run_setup(es_bare.client, None, fast(index_mode="plain"))
    assert "plain-index variant" in report.notes[0]
    assert not [s for s in report.steps if s.kind.endswith("policy")]
    template = es_bare.client.indices.get_index_template(name="mlmon-prediction")
    assert "data_stream" not in template["index_templates"][0]["index_template"]
