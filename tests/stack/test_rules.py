"""Alert rules and connectors are valid for Kibana and read only mapped contract fields."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from mlmon_elk.contract import Dataset, Field, Status, Transition
from mlmon_elk.stack import rules
from mlmon_elk.stack.kibana_assets import env_references
from mlmon_elk.stack.templates import mapped_type, prediction_mappings, result_mappings
from tests.stack.fake_kibana import validate_es_query_params

RULES = rules.rules()
CONNECTORS = rules.connectors()

STREAM_MAPPINGS = {
    f"logs-{Dataset.PREDICTION}-*": prediction_mappings(),
    f"logs-{Dataset.CHECK}-*": result_mappings(),
    f"logs-{Dataset.ALERT}-*": result_mappings(),
}

ESQL_FIELD = re.compile(r"(@timestamp|\b(?:mlmon|event|service|labels)\.[\w.]+)")
ESQL_ALIASES = {"model", "version", "last_seen", "p95_ms", "predictions"}


def _terms(query: Any) -> list[tuple[str, str]]:
    """Every value a ``term`` or ``terms`` clause of an Elasticsearch query asks for."""
    found = []
    if isinstance(query, dict):
        for key, value in query.items():
            if key == "term":
                ((field_name, term),) = value.items()
                found.append((field_name, term))
            elif key == "terms":
                ((field_name, terms),) = value.items()
                found += [(field_name, term) for term in terms]
            else:
                found += _terms(value)
    elif isinstance(query, list):
        for item in query:
            found += _terms(item)
    return found


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r["id"])
def test_rule_parameters_pass_kibanas_es_query_schema(rule: dict[str, Any]) -> None:
    """Parameters satisfy the .es-query rule type's validation (stack_alerts)."""
    assert rule["rule_type_id"] == ".es-query"
    assert rule["consumer"] == rules.CONSUMER
    assert validate_es_query_params(rule["params"]) is None
    assert rule["id"].startswith("mlmon-")
    assert rule["tags"] == rules.TAGS
    assert re.fullmatch(r"[1-9][0-9]*[smhd]", rule["schedule"]["interval"])


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r["id"])
def test_rule_queries_read_mapped_fields_with_contract_values(rule: dict[str, Any]) -> None:
    """DSL terms and ES|QL field names exist in the stream's mappings; values come from contract."""
    params = rule["params"]
    allowed: dict[str, set[str]] = {
        Field.STATUS: set(Status),
        Field.TRANSITION: set(Transition),
        Field.EVENT_DATASET: set(Dataset),
    }
    if params["searchType"] == "esQuery":
        (index,) = params["index"]
        mappings = STREAM_MAPPINGS[index]
        terms = _terms(json.loads(params["esQuery"]))
        assert terms
        for field_name, value in terms:
            assert mapped_type(field_name, mappings) == "keyword", field_name
            assert value in allowed[field_name]
        assert mapped_type(params["timeField"], mappings) == "date"
    else:
        esql = params["esqlQuery"]["esql"]
        source = re.match(r"FROM (\S+)", esql)
        assert source is not None
        mappings = STREAM_MAPPINGS[source.group(1)]
        code = re.sub(r'"[^"]*"', '""', esql[source.end() :])
        for field_name in ESQL_FIELD.findall(code):
            assert mapped_type(field_name, mappings) is not None, field_name
        for field_name, value in re.findall(r'([\w.]+) == "([^"]*)"', esql):
            assert value in allowed[field_name]
        assert params["threshold"] == [0]
        assert params["thresholdComparator"] == ">"


def test_the_four_promised_rules_exist() -> None:
    """New critical alert, analyzer silent, no predictions, latency over SLA."""
    by_id = {r["id"]: r for r in RULES}
    critical = json.loads(by_id["mlmon-new-critical-alert"]["params"]["esQuery"])
    assert (Field.STATUS, Status.CRITICAL) in _terms(critical)
    assert (Field.TRANSITION, Transition.NEW) in _terms(critical)
    assert (Field.TRANSITION, Transition.ESCALATED) in _terms(critical)  # warning → critical
    silent = by_id["mlmon-analyzer-silent"]["params"]
    assert (Field.EVENT_DATASET, Dataset.RUN) in _terms(json.loads(silent["esQuery"]))
    assert silent["thresholdComparator"] == "<"
    assert silent["timeWindowSize"] == 2 * rules.ANALYZER_INTERVAL_MINUTES
    assert (
        "MAX(@timestamp) BY model" in by_id["mlmon-no-predictions"]["params"]["esqlQuery"]["esql"]
    )
    latency = by_id["mlmon-latency-over-sla"]["params"]["esqlQuery"]["esql"]
    assert f"p95_ms > {rules.LATENCY_SLA_MS}" in latency


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r["id"])
def test_actions_use_the_default_connector_and_valid_mustache(rule: dict[str, Any]) -> None:
    """Every action notifies the shipped server-log connector; mustache sections are balanced."""
    for action in rule["actions"]:
        assert action["id"] == CONNECTORS[rules.DEFAULT_CONNECTOR]["id"]
        assert action["group"] == rules.QUERY_MATCHED
        message = action["params"]["message"]
        opened = re.findall(r"\{\{#([\w.]+)\}\}", message)
        closed = re.findall(r"\{\{/([\w.]+)\}\}", message)
        assert opened == closed
        assert message.count("{{") == message.count("}}")
        frequency = action["frequency"]
        assert frequency["notify_when"] in (
            "onActionGroupChange",
            "onActiveAlert",
            "onThrottleInterval",
        )
        if frequency["notify_when"] == "onThrottleInterval":
            assert frequency["throttle"]
        for placeholder in re.findall(r"\{\{\s*_source\.(\w+)\s*\}\}", message):
            if rule["params"]["searchType"] == "esqlQuery":
                assert placeholder in ESQL_ALIASES, placeholder
            else:
                assert placeholder == "message"


def test_connectors_hold_no_secrets() -> None:
    """Secrets and URLs are ``${VAR}`` references resolved from the environment at setup."""
    for kind, connector in CONNECTORS.items():
        assert connector["id"] == rules.connector_id(kind)
        for value in connector["secrets"].values():
            assert re.fullmatch(r"\$\{[A-Z0-9_]+\}", value)
    assert env_references(CONNECTORS["slack"]) == {"MLMON_SLACK_WEBHOOK_URL"}
    assert env_references(CONNECTORS["webhook"]) == {"MLMON_WEBHOOK_URL"}
    assert env_references(CONNECTORS["server-log"]) == set()


@pytest.mark.parametrize("kind", sorted(CONNECTORS))
def test_retargeted_actions_fit_their_connector_type(kind: str) -> None:
    """Server log, Slack, webhook and index actions get the parameters their type expects."""
    connector = CONNECTORS[kind]
    expected = {
        ".server-log": {"level", "message"},
        ".slack": {"message"},
        ".webhook": {"body"},
        ".index": {"documents"},
    }[connector["connector_type_id"]]
    for rule in RULES:
        retargeted = rules.retarget(rule, connector)
        assert retargeted["params"] == rule["params"]
        for action, original in zip(retargeted["actions"], rule["actions"], strict=True):
            assert action["id"] == connector["id"]
            assert set(action["params"]) == expected
            params = action["params"]
            if kind == "webhook":
                message = json.loads(params["body"])["text"]
            elif kind == "index":
                message = params["documents"][0]["message"]
            else:
                message = params["message"]
            assert message == original["params"]["message"]


def test_unsupported_connector_type_is_refused() -> None:
    """A connector type the rules cannot format is an error, not a silent no-op."""
    with pytest.raises(ValueError, match="not supported"):
        rules.retarget(RULES[0], {"id": "x", "connector_type_id": ".pagerduty"})
