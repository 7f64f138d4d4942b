"""Elasticsearch index templates for the three data streams (DESIGN.md §6).

Pure functions returning request bodies; installing them is ``mlmon_elk.stack.setup``.
The mappings are the contract of DESIGN.md §3 and §5 in Elasticsearch terms:
typed feature paths through dynamic templates, ``date_detection`` off, and
``mlmon.context`` stored but not indexed.

Two variants share the mappings: data streams (Elasticsearch) and plain
indices (clusters or test servers without data streams). The writers always
use ``create``, so the same code works on both.
"""

from __future__ import annotations

from typing import Any

from mlmon_elk.contract import Dataset

TEMPLATE_PRIORITY = 500
"""Above the built-in ``logs-*-*`` template (100) and Fleet's (up to 200)."""

TOTAL_FIELDS_LIMIT = 10_000
"""Wide models: every feature costs one or more fields (default limit 1,000)."""

KEYWORD_IGNORE_ABOVE = 1024
"""Longer categorical values are kept in ``_source`` but not aggregated."""

MANAGED_BY = "mlmon-elk"

Body = dict[str, Any]

_KEYWORD: Body = {"type": "keyword", "ignore_above": KEYWORD_IGNORE_ABOVE}
_DOUBLE: Body = {"type": "double"}
_LONG: Body = {"type": "long"}
_DATE: Body = {"type": "date"}
_TEXT: Body = {"type": "text"}


def _dynamic(name: str, path_match: str, mapping: Body) -> Body:
    return {name: {"path_match": path_match, "mapping": mapping}}


def _common_properties(data_streams: bool) -> Body:
    ds_field = {"type": "constant_keyword"} if data_streams else _KEYWORD
    return {
        "@timestamp": _DATE,
        "ecs": {"properties": {"version": _KEYWORD}},
        "message": _TEXT,
        "labels": {"type": "object", "dynamic": True},
        "tags": _KEYWORD,
        "data_stream": {
            "properties": {"type": ds_field, "dataset": ds_field, "namespace": ds_field}
        },
        "event": {
            "properties": {
                "kind": _KEYWORD,
                "dataset": _KEYWORD,
                "duration": _LONG,
                "outcome": _KEYWORD,
                "start": _DATE,
                "end": _DATE,
                "severity": _LONG,
                "reason": _TEXT,
            }
        },
        "service": {"properties": {"name": _KEYWORD, "version": _KEYWORD, "environment": _KEYWORD}},
        "error": {"properties": {"type": _KEYWORD, "message": _TEXT}},
    }


_COMMON_DYNAMIC: list[Body] = [
    _dynamic("labels_keyword", "labels.*", _KEYWORD),
    # Any other string stays a keyword: never text + .keyword, never a date.
    {"strings_as_keyword": {"match_mapping_type": "string", "mapping": _KEYWORD}},
]


def prediction_mappings(*, data_streams: bool = True) -> Body:
    """Mappings of ``logs-mlmon.prediction-*`` (predictions and shipper counters)."""
    properties = _common_properties(data_streams)
    properties["mlmon"] = {
        "properties": {
            "schema": _LONG,
            "model": {"properties": {"name": _KEYWORD, "version": _KEYWORD}},
            "prediction_id": _KEYWORD,
            "latency_ms": _DOUBLE,
            "present": _KEYWORD,
            "null": _KEYWORD,
            "invalid": _KEYWORD,
        }
    }
    return {
        "date_detection": False,
        "numeric_detection": False,
        "dynamic_templates": [
            _dynamic("inputs_num", "mlmon.inputs.num.*", _DOUBLE),
            _dynamic("outputs_num", "mlmon.outputs.num.*", _DOUBLE),
            _dynamic("inputs_cat", "mlmon.inputs.cat.*", _KEYWORD),
            _dynamic("outputs_cat", "mlmon.outputs.cat.*", _KEYWORD),
            _dynamic("inputs_text", "mlmon.inputs.text.*", {"type": "text", "norms": False}),
            _dynamic("tokens", "mlmon.tokens.*", {"type": "keyword", "ignore_above": 256}),
            _dynamic("token_counts", "mlmon.token_count.*", _LONG),
            _dynamic("shipper_counters", "mlmon.shipper.*", _LONG),
            *_COMMON_DYNAMIC,
        ],
        "properties": properties,
    }


def result_mappings(*, data_streams: bool = True) -> Body:
    """Mappings shared by ``logs-mlmon.check-*`` and ``logs-mlmon.alert-*``."""
    properties = _common_properties(data_streams)
    properties["rule"] = {"properties": {"name": _KEYWORD}}
    properties["mlmon"] = {
        "properties": {
            "model": {"properties": {"name": _KEYWORD, "version": _KEYWORD}},
            "feature": _KEYWORD,
            "check": _KEYWORD,
            "metric": _KEYWORD,
            "value": _DOUBLE,
            "threshold": _DOUBLE,
            "p_value": _DOUBLE,
            "status": _KEYWORD,
            "transition": _KEYWORD,
            "window": {"properties": {"count": _LONG}},
            "expected": _DOUBLE,
            "observed": _DOUBLE,
            "context": {"type": "object", "enabled": False},
            "run": {"type": "object", "dynamic": True},
        }
    }
    return {
        "date_detection": False,
        "numeric_detection": False,
        "dynamic_templates": list(_COMMON_DYNAMIC),
        "properties": properties,
    }


def component_templates(*, data_streams: bool = True) -> dict[str, Body]:
    """Component templates by name: settings and one mapping per document family."""
    settings: Body = {"index.mapping.total_fields.limit": TOTAL_FIELDS_LIMIT}
    meta = {"managed_by": MANAGED_BY}
    return {
        "mlmon-settings": {"template": {"settings": settings}, "_meta": meta},
        "mlmon-prediction-mappings": {
            "template": {"mappings": prediction_mappings(data_streams=data_streams)},
            "_meta": meta,
        },
        "mlmon-result-mappings": {
            "template": {"mappings": result_mappings(data_streams=data_streams)},
            "_meta": meta,
        },
    }


_MAPPINGS_OF = {
    Dataset.PREDICTION: "mlmon-prediction-mappings",
    Dataset.CHECK: "mlmon-result-mappings",
    Dataset.ALERT: "mlmon-result-mappings",
}


def index_templates(*, data_streams: bool = True) -> dict[str, Body]:
    """Composable index templates by name, one per data stream family."""
    templates: dict[str, Body] = {}
    for dataset, mappings in _MAPPINGS_OF.items():
        body: Body = {
            "index_patterns": [f"logs-{dataset}-*"],
            "priority": TEMPLATE_PRIORITY,
            "composed_of": ["mlmon-settings", mappings],
            "_meta": {"managed_by": MANAGED_BY},
        }
        if data_streams:
            body["data_stream"] = {}
        templates[f"mlmon-{dataset.removeprefix('mlmon.')}"] = body
    return templates
