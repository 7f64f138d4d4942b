"""Kibana alert rules and connectors as code (bodies for the alerting and actions APIs).

Four rules, all stack rule types (no Observability app needed):

* **new critical alert** — an Elasticsearch query on the alert stream for
  ``mlmon.status: critical`` and ``mlmon.transition`` ``new`` or ``escalated``
  (a warning that became critical); notifies once per such alert document
  (hits already seen by the previous run are excluded);
* **analyzer silent** — fewer than one run summary (``event.dataset: mlmon.run``)
  in two analyzer intervals;
* **no predictions for a model** — an ES|QL query listing models that sent
  predictions in the last day but none in the last 15 minutes (a plain count
  cannot see a model that stopped: its group simply disappears);
* **latency over SLA** — an ES|QL query for model versions whose p95 latency over
  the last 5 minutes exceeds the SLA.

Every rule notifies through one connector; the shipped default is Kibana's
server log, which needs no credentials. :func:`retarget` rewrites the actions
for the Slack, webhook and index connector variants.
"""

from __future__ import annotations

import json
from typing import Any

from mlmon_elk.contract import Dataset, Field, Status, Transition

Body = dict[str, Any]

CONSUMER = "alerts"
"""Stack rules created outside a solution app."""

DEFAULT_CONNECTOR = "server-log"

ANALYZER_INTERVAL_MINUTES = 5
"""The analyzer's default schedule; the silence rule waits two intervals."""

LATENCY_SLA_MS = 500
LATENCY_MIN_PREDICTIONS = 20
"""Fewer predictions than this in the window say nothing about a percentile."""

SILENT_AFTER_MINUTES = 15
"""A model that sent nothing for this long, after sending in the last day."""

QUERY_MATCHED = "query matched"
"""Action group of the Elasticsearch query rule type."""

TAGS = ["mlmon"]


def _stream(dataset: Dataset) -> str:
    return f"logs-{dataset}-*"


def _es_query(filters: list[Body]) -> str:
    return json.dumps({"query": {"bool": {"filter": filters}}}, sort_keys=True)


def _term(field_name: str, value: str) -> Body:
    return {"term": {field_name: value}}


def _action(message: str, *, level: str, notify_when: str, throttle: str | None = None) -> Body:
    frequency: Body = {"summary": False, "notify_when": notify_when, "throttle": throttle}
    return {
        "group": QUERY_MATCHED,
        "id": connector_id(DEFAULT_CONNECTOR),
        "params": {"level": level, "message": message},
        "frequency": frequency,
    }


def new_critical_alert() -> Body:
    """A critical alert from the analyzer: new, or a warning escalated to critical."""
    message = (
        "mlmon-elk: new critical alert(s)\n"
        "{{#context.hits}}- {{_source.message}}\n{{/context.hits}}"
        "{{context.link}}"
    )
    return {
        "id": "mlmon-new-critical-alert",
        "name": "mlmon: new critical alert",
        "rule_type_id": ".es-query",
        "consumer": CONSUMER,
        "tags": TAGS,
        "schedule": {"interval": "1m"},
        "params": {
            "searchType": "esQuery",
            "index": [_stream(Dataset.ALERT)],
            "timeField": Field.TIMESTAMP,
            "esQuery": _es_query(
                [
                    _term(Field.STATUS, Status.CRITICAL),
                    {"terms": {Field.TRANSITION: [Transition.NEW, Transition.ESCALATED]}},
                ]
            ),
            "size": 100,
            "threshold": [0],
            "thresholdComparator": ">",
            # Generous window so late-written alerts are still seen; the rule
            # never notifies twice for one document.
            "timeWindowSize": 15,
            "timeWindowUnit": "m",
            "excludeHitsFromPreviousRun": True,
            "aggType": "count",
            "groupBy": "all",
        },
        "actions": [_action(message, level="error", notify_when="onActiveAlert")],
    }


def analyzer_silent(interval_minutes: int = ANALYZER_INTERVAL_MINUTES) -> Body:
    """No analyzer run summary for two intervals."""
    window = 2 * interval_minutes
    message = (
        f"mlmon-elk: the analyzer wrote no run summary in the last {window} minutes;"
        " check that `mlmon-elk serve` is running and can reach Elasticsearch."
    )
    return {
        "id": "mlmon-analyzer-silent",
        "name": "mlmon: analyzer silent",
        "rule_type_id": ".es-query",
        "consumer": CONSUMER,
        "tags": TAGS,
        "schedule": {"interval": f"{interval_minutes}m"},
        "params": {
            "searchType": "esQuery",
            "index": [_stream(Dataset.CHECK)],
            "timeField": Field.TIMESTAMP,
            "esQuery": _es_query([_term(Field.EVENT_DATASET, Dataset.RUN)]),
            "size": 0,
            "threshold": [1],
            "thresholdComparator": "<",
            "timeWindowSize": window,
            "timeWindowUnit": "m",
            "excludeHitsFromPreviousRun": False,
            "aggType": "count",
            "groupBy": "all",
        },
        "actions": [_action(message, level="warn", notify_when="onActionGroupChange")],
    }


def _esql_rule(rule_id: str, name: str, esql: str, window: tuple[int, str], schedule: str) -> Body:
    return {
        "id": rule_id,
        "name": name,
        "rule_type_id": ".es-query",
        "consumer": CONSUMER,
        "tags": TAGS,
        "schedule": {"interval": schedule},
        "params": {
            "searchType": "esqlQuery",
            "esqlQuery": {"esql": esql},
            "timeField": Field.TIMESTAMP,
            "size": 100,
            "threshold": [0],
            "thresholdComparator": ">",
            "timeWindowSize": window[0],
            "timeWindowUnit": window[1],
        },
    }


def no_predictions(silent_after_minutes: int = SILENT_AFTER_MINUTES) -> Body:
    """A model that sent predictions in the last day but none recently."""
    esql = "\n".join(
        [
            f"FROM {_stream(Dataset.PREDICTION)}",
            f'| WHERE {Field.EVENT_DATASET} == "{Dataset.PREDICTION}"',
            f"| EVAL model = {Field.MODEL_NAME}",
            f"| STATS last_seen = MAX({Field.TIMESTAMP}) BY model",
            f"| WHERE last_seen < NOW() - {silent_after_minutes} minutes",
            "| SORT model",
        ]
    )
    message = (
        f"mlmon-elk: no predictions for {silent_after_minutes} minutes from\n"
        "{{#context.hits}}- {{_source.model}} (last seen {{_source.last_seen}})\n"
        "{{/context.hits}}"
    )
    rule = _esql_rule(
        "mlmon-no-predictions", "mlmon: no predictions for a model", esql, (1, "d"), "5m"
    )
    rule["actions"] = [
        _action(message, level="warn", notify_when="onThrottleInterval", throttle="1h")
    ]
    return rule


def latency_over_sla(
    sla_ms: float = LATENCY_SLA_MS, min_predictions: int = LATENCY_MIN_PREDICTIONS
) -> Body:
    """p95 latency of a model version over the SLA in the last five minutes."""
    esql = "\n".join(
        [
            f"FROM {_stream(Dataset.PREDICTION)}",
            f'| WHERE {Field.EVENT_DATASET} == "{Dataset.PREDICTION}"'
            f" AND {Field.LATENCY_MS} IS NOT NULL",
            f"| EVAL model = {Field.MODEL_NAME}, version = {Field.MODEL_VERSION}",
            f"| STATS p95_ms = PERCENTILE({Field.LATENCY_MS}, 95), predictions = COUNT(*)"
            " BY model, version",
            f"| WHERE predictions >= {min_predictions} AND p95_ms > {sla_ms:g}",
            "| SORT p95_ms DESC",
        ]
    )
    message = (
        f"mlmon-elk: p95 latency over the {sla_ms:g} ms SLA\n"
        "{{#context.hits}}- {{_source.model}} {{_source.version}}: p95 {{_source.p95_ms}} ms"
        " over {{_source.predictions}} predictions\n{{/context.hits}}"
    )
    rule = _esql_rule("mlmon-latency-over-sla", "mlmon: latency over SLA", esql, (5, "m"), "1m")
    rule["actions"] = [
        _action(message, level="warn", notify_when="onThrottleInterval", throttle="15m")
    ]
    return rule


def rules() -> list[Body]:
    """Every rule body (with its ``id``), notifying through the default connector."""
    return [new_critical_alert(), analyzer_silent(), no_predictions(), latency_over_sla()]


# ---- Connectors ----------------------------------------------------------------


def connector_id(kind: str) -> str:
    """Id of the connector of a kind, e.g. ``mlmon-server-log``."""
    return f"mlmon-{kind}"


def connectors() -> dict[str, Body]:
    """Connector bodies by kind. ``${VAR}`` values are read from the environment by setup."""
    return {
        "server-log": {
            "id": connector_id("server-log"),
            "name": "mlmon-elk: Kibana server log",
            "connector_type_id": ".server-log",
            "config": {},
            "secrets": {},
        },
        "index": {
            "id": connector_id("index"),
            "name": "mlmon-elk: notifications index",
            "connector_type_id": ".index",
            "config": {
                "index": "mlmon-notifications",
                "refresh": False,
                "executionTimeField": Field.TIMESTAMP,
            },
            "secrets": {},
        },
        "slack": {
            "id": connector_id("slack"),
            "name": "mlmon-elk: Slack",
            "connector_type_id": ".slack",
            "config": {},
            "secrets": {"webhookUrl": "${MLMON_SLACK_WEBHOOK_URL}"},
        },
        "webhook": {
            "id": connector_id("webhook"),
            "name": "mlmon-elk: webhook",
            "connector_type_id": ".webhook",
            "config": {
                "url": "${MLMON_WEBHOOK_URL}",
                "method": "post",
                "headers": {"Content-Type": "application/json"},
                "hasAuth": False,
            },
            "secrets": {},
        },
    }


def retarget(rule: Body, connector: Body) -> Body:
    """``rule`` with its actions sent through ``connector`` instead of the server log.

    The message stays the same; only the shape of the action parameters changes
    with the connector type.
    """
    actions = []
    for action in rule["actions"]:
        message = action["params"]["message"]
        kind = connector["connector_type_id"]
        if kind == ".server-log":
            params: Body = {"level": action["params"].get("level", "warn"), "message": message}
        elif kind == ".slack":
            params = {"message": message}
        elif kind == ".webhook":
            # Kibana escapes mustache values for JSON in webhook bodies.
            body = {"rule": "{{rule.name}}", "text": message, "link": "{{context.link}}"}
            params = {"body": json.dumps(body, indent=2)}
        elif kind == ".index":
            params = {
                "documents": [
                    {"rule": {"id": "{{rule.id}}", "name": "{{rule.name}}"}, "message": message}
                ]
            }
        else:
            msg = f"connector type {kind!r} is not supported by mlmon-elk rules"
            raise ValueError(msg)
        actions.append({**action, "id": connector["id"], "params": params})
    return {**rule, "actions": actions}
