"""Elasticsearch index templates and retention for the data streams (DESIGN.md §6).

Pure functions returning request bodies; ``mlmon_elk.stack.install`` puts them.
The mappings are the contract of DESIGN.md §3 and §5 in Elasticsearch terms:
typed feature paths through dynamic templates, ``date_detection`` off, and
``mlmon.context`` stored but not indexed.

Two variants share the mappings:

* **data streams** (Elasticsearch 8.14+, OpenSearch 2.x): ``data_stream: {}`` and
  a retention policy per document family for rollover and deletion — ILM on
  Elasticsearch, ISM on OpenSearch (:func:`ism_policies`) — plus, on
  Elasticsearch, settings only it knows (``ignore_dynamic_beyond_limit``, the
  ``mlmon-custom`` hook, ``constant_keyword``);
* **plain indices** (servers without data streams): the portable subset,
  without retention.

Retention uses ILM rather than the data stream lifecycle on purpose: ILM is on
every supported version with a basic license, can roll over by size as well as
age, and is what Logstash's and Kibana's own docs assume. The writers always use
``create``, so the same code works on both variants.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from mlmon_elk.contract import KEYWORD_IGNORE_ABOVE, Dataset
from mlmon_elk.errors import ConfigError

TEMPLATE_PRIORITY = 500
"""Above the built-in ``logs-*-*`` template (100) and Fleet's (up to 200)."""

TOTAL_FIELDS_LIMIT = 10_000
"""Wide models: every feature costs one or more fields (default limit 1,000)."""


MANAGED_BY = "mlmon-elk"

INVALID_DATASET = "mlmon.invalid"
"""Dataset of lines Logstash could not parse or route (``logs-mlmon.invalid-<ns>``)."""

CUSTOM_COMPONENT = "mlmon-custom"
"""Optional component template users may create to override our settings."""

Body = dict[str, Any]

Engine = Literal["elasticsearch", "opensearch"]
"""Which search engine the templates are for (``version.distribution`` of ``GET /``)."""

_KEYWORD: Body = {"type": "keyword", "ignore_above": KEYWORD_IGNORE_ABOVE}
_DOUBLE: Body = {"type": "double"}
_LONG: Body = {"type": "long"}
_DATE: Body = {"type": "date"}
_TEXT: Body = {"type": "text"}
_STORED_ONLY: Body = {"type": "keyword", "index": False, "doc_values": False}

_DURATION = re.compile(r"^[1-9][0-9]*(d|h|m)$")


@dataclass(frozen=True, slots=True)
class Retention:
    """How long documents are kept (data-stream variant only).

    Predictions are the bulk of the data and are kept for a short time; check
    results, run summaries, alerts and invalid lines are small and kept longer.
    Durations count from rollover (ILM semantics) and use ``d``, ``h`` or ``m``.
    """

    predictions: str = "30d"
    results: str = "365d"
    rollover_max_age: str = "7d"
    rollover_max_primary_shard_size: str = "50gb"

    def __post_init__(self) -> None:
        for name in ("predictions", "results", "rollover_max_age"):
            value = getattr(self, name)
            if not _DURATION.match(value):
                msg = f"retention {name}: {value!r} is not a duration like '30d', '12h' or '90m'"
                raise ConfigError(msg)


DEFAULT_RETENTION = Retention()

PREDICTION_POLICY = "mlmon-predictions"
RESULT_POLICY = "mlmon-results"


def ilm_policies(retention: Retention = DEFAULT_RETENTION) -> dict[str, Body]:
    """ILM policies by name: rollover in the hot phase, then deletion."""

    def policy(delete_after: str, description: str) -> Body:
        rollover = {
            "max_age": retention.rollover_max_age,
            "max_primary_shard_size": retention.rollover_max_primary_shard_size,
        }
        return {
            "phases": {
                "hot": {"min_age": "0ms", "actions": {"rollover": rollover}},
                "delete": {"min_age": delete_after, "actions": {"delete": {}}},
            },
            "_meta": {"managed_by": MANAGED_BY, "description": description},
        }

    return {
        PREDICTION_POLICY: policy(retention.predictions, "mlmon-elk prediction documents"),
        RESULT_POLICY: policy(
            retention.results, "mlmon-elk check results, alerts, outcomes, invalid lines"
        ),
    }


_POLICY_DATASETS: dict[str, tuple[str, ...]] = {
    PREDICTION_POLICY: (Dataset.PREDICTION,),
    RESULT_POLICY: (Dataset.CHECK, Dataset.ALERT, INVALID_DATASET, Dataset.OUTCOME),
}


def ism_policies(retention: Retention = DEFAULT_RETENTION) -> dict[str, Body]:
    """OpenSearch ISM policies by name: the same rollover and deletion as :func:`ilm_policies`.

    ISM has no ``_meta``; the content hash goes into the description instead
    (:func:`with_hash` puts it under ``_meta`` and the installer moves it).
    ``ism_template`` attaches the policy to every new backing index of the streams.
    """

    def policy(name: str, delete_after: str, description: str) -> Body:
        patterns = [
            f"{prefix}logs-{d}-*" for d in _POLICY_DATASETS[name] for prefix in ("", ".ds-")
        ]
        rollover = {
            "min_index_age": retention.rollover_max_age,
            "min_primary_shard_size": retention.rollover_max_primary_shard_size,
        }
        return {
            "description": description,
            "default_state": "hot",
            "states": [
                {
                    "name": "hot",
                    "actions": [{"rollover": rollover}],
                    # Like ILM's delete phase: the age counts from rollover.
                    "transitions": [
                        {"state_name": "delete", "conditions": {"min_rollover_age": delete_after}}
                    ],
                },
                {"name": "delete", "actions": [{"delete": {}}], "transitions": []},
            ],
            "ism_template": [{"index_patterns": patterns, "priority": TEMPLATE_PRIORITY}],
        }

    return {
        PREDICTION_POLICY: policy(
            PREDICTION_POLICY, retention.predictions, "mlmon-elk prediction documents"
        ),
        RESULT_POLICY: policy(
            RESULT_POLICY,
            retention.results,
            "mlmon-elk check results, alerts, outcomes, invalid lines",
        ),
    }


def _dynamic(name: str, path_match: str, mapping: Body) -> Body:
    return {name: {"path_match": path_match, "mapping": mapping}}


def _common_properties(data_streams: bool, engine: Engine = "elasticsearch") -> Body:
    # OpenSearch's constant_keyword needs its value in the mapping; a keyword serves.
    constant = data_streams and engine == "elasticsearch"
    ds_field = {"type": "constant_keyword"} if constant else _KEYWORD
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
                "reason": _KEYWORD,
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


def prediction_mappings(*, data_streams: bool = True, engine: Engine = "elasticsearch") -> Body:
    """Mappings of ``logs-mlmon.prediction-*`` (predictions and shipper counters)."""
    properties = _common_properties(data_streams, engine)
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
            # Free text is searchable but never aggregated (no doc values, no norms).
            _dynamic("inputs_text", "mlmon.inputs.text.*", {"type": "text", "norms": False}),
            _dynamic("outputs_text", "mlmon.outputs.text.*", {"type": "text", "norms": False}),
            _dynamic("tokens", "mlmon.tokens.*", {"type": "keyword", "ignore_above": 256}),
            _dynamic("token_counts", "mlmon.token_count.*", _LONG),
            _dynamic("shipper_counters", "mlmon.shipper.*", _LONG),
            *_COMMON_DYNAMIC,
        ],
        "properties": properties,
    }


def result_mappings(*, data_streams: bool = True, engine: Engine = "elasticsearch") -> Body:
    """Mappings shared by ``logs-mlmon.check-*`` and ``logs-mlmon.alert-*``."""
    properties = _common_properties(data_streams, engine)
    # The alert sentence is searchable and, for the Alerts dashboard's table,
    # aggregatable as a whole.
    properties["message"] = {**_TEXT, "fields": {"keyword": _KEYWORD}}
    properties["rule"] = {"properties": {"name": _KEYWORD}}
    # When a performance result was evaluated: the latest of a window's is current.
    properties["event"]["properties"]["created"] = _DATE
    properties["mlmon"] = {
        "properties": {
            "model": {"properties": {"name": _KEYWORD, "version": _KEYWORD}},
            "feature": _KEYWORD,
            "role": _KEYWORD,
            "check": _KEYWORD,
            "metric": _KEYWORD,
            "value": _DOUBLE,
            "threshold": _DOUBLE,
            "p_value": _DOUBLE,
            "status": _KEYWORD,
            "severity": _KEYWORD,
            "transition": _KEYWORD,
            "clear_windows": _LONG,
            "key": _KEYWORD,
            "window": {"properties": {"count": _LONG, "sample_rate": _DOUBLE}},
            "expected": _DOUBLE,
            "observed": _DOUBLE,
            # A performance result's realized metrics, whichever one it is about.
            "realized": {
                "properties": {
                    "accuracy": _DOUBLE,
                    "roc_auc": _DOUBLE,
                    "mae": _DOUBLE,
                    "rmse": _DOUBLE,
                    "bias": _DOUBLE,
                    "labelled_share": _DOUBLE,
                }
            },
            "context": {"type": "object", "enabled": False},
            # Run summaries: the few fields that are not counts are mapped;
            # counts of any name are numbers (dynamic template below).
            "run": {
                "type": "object",
                "dynamic": True,
                "properties": {
                    "id": _KEYWORD,
                    "status": _KEYWORD,
                    "started": _DATE,
                    "models": _KEYWORD,
                    "errors": _TEXT,
                    "notes": _TEXT,
                },
            },
        }
    }
    return {
        "date_detection": False,
        "numeric_detection": False,
        "dynamic_templates": [
            # Run summary figures are doubles whatever their first value.
            *(
                {
                    f"run_{json_type}s": {
                        "path_match": "mlmon.run.*",
                        "match_mapping_type": json_type,
                        "mapping": _DOUBLE,
                    }
                }
                for json_type in ("long", "double")
            ),
            *_COMMON_DYNAMIC,
        ],
        "properties": properties,
    }


def outcome_mappings(*, data_streams: bool = True, engine: Engine = "elasticsearch") -> Body:
    """Mappings of ``logs-mlmon.outcome-*``: ground truth joined to its prediction.

    Every field the performance aggregations read is mapped explicitly (the
    prediction's time as a date, the score and residual as doubles, actual and
    predicted values under typed ``num``/``cat`` paths like features).
    """
    properties = _common_properties(data_streams, engine)
    typed = {"properties": {"num": _DOUBLE, "cat": _KEYWORD}}
    properties["mlmon"] = {
        "properties": {
            "schema": _LONG,
            "model": {"properties": {"name": _KEYWORD, "version": _KEYWORD}},
            "prediction_id": _KEYWORD,
            "prediction_time": _DATE,
            "actual": typed,
            "predicted": typed,
            "score": _DOUBLE,
            "residual": _DOUBLE,
        }
    }
    return {
        "date_detection": False,
        "numeric_detection": False,
        "dynamic_templates": list(_COMMON_DYNAMIC),
        "properties": properties,
    }


def invalid_mappings(*, data_streams: bool = True, engine: Engine = "elasticsearch") -> Body:
    """Mappings of ``logs-mlmon.invalid-*``: accept anything, index almost nothing.

    A line lands here because it could not be parsed or routed, so its fields
    cannot be trusted: everything but the few fields below stays in ``_source``
    only (``dynamic: false``), and no document is rejected for its shape.
    """
    properties = _common_properties(data_streams, engine)
    del properties["labels"]  # would map unknown label keys dynamically
    properties["event"]["properties"]["original"] = _STORED_ONLY
    return {"dynamic": False, "date_detection": False, "properties": properties}


def _settings(data_streams: bool, engine: Engine) -> Body:
    settings: Body = {
        "index.mapping.total_fields.limit": TOTAL_FIELDS_LIMIT,
        "index.codec": "best_compression",
    }
    if data_streams and engine == "elasticsearch":
        # Beyond the limit, new dynamic fields go to `_ignored` instead of the
        # whole prediction being rejected (Elasticsearch 8.13+).
        settings["index.mapping.total_fields.ignore_dynamic_beyond_limit"] = True
    return settings


def _meta(description: str) -> Body:
    return {"managed_by": MANAGED_BY, "description": description}


def component_templates(
    *, data_streams: bool = True, engine: Engine = "elasticsearch"
) -> dict[str, Body]:
    """Component templates by name: settings, lifecycle and one mapping per family.

    The lifecycle components (data-stream variant on Elasticsearch only) name the
    ILM policies of :func:`ilm_policies`, which carry the durations; on OpenSearch
    the ISM policies attach themselves to the indices (``ism_template``).
    """
    templates: dict[str, Body] = {
        "mlmon-settings": {
            "template": {
                "settings": _settings(data_streams, engine),
                # Marks every index made from these templates, on either engine (setup's
                # repair of streams created before the templates looks for it).
                "mappings": {"_meta": {"managed_by": MANAGED_BY}},
            },
            "_meta": _meta("mlmon-elk index settings and the mapping mark"),
        },
        "mlmon-prediction-mappings": {
            "template": {"mappings": prediction_mappings(data_streams=data_streams, engine=engine)},
            "_meta": _meta("mlmon-elk prediction document mappings"),
        },
        "mlmon-result-mappings": {
            "template": {"mappings": result_mappings(data_streams=data_streams, engine=engine)},
            "_meta": _meta("mlmon-elk check result and alert mappings"),
        },
        "mlmon-outcome-mappings": {
            "template": {"mappings": outcome_mappings(data_streams=data_streams, engine=engine)},
            "_meta": _meta("mlmon-elk outcome (ground truth) mappings"),
        },
        "mlmon-invalid-mappings": {
            "template": {"mappings": invalid_mappings(data_streams=data_streams, engine=engine)},
            "_meta": _meta("mlmon-elk mappings for lines Logstash could not parse"),
        },
    }
    if data_streams and engine == "elasticsearch":
        for name, policy in (("prediction", PREDICTION_POLICY), ("result", RESULT_POLICY)):
            templates[f"mlmon-{name}-lifecycle"] = {
                "template": {"settings": {"index.lifecycle.name": policy}},
                "_meta": _meta(f"mlmon-elk retention through ILM policy {policy}"),
            }
    return templates


_FAMILIES: dict[str, tuple[str, str]] = {
    # index template name: (mappings component, lifecycle component)
    Dataset.PREDICTION: ("mlmon-prediction-mappings", "mlmon-prediction-lifecycle"),
    Dataset.CHECK: ("mlmon-result-mappings", "mlmon-result-lifecycle"),
    Dataset.ALERT: ("mlmon-result-mappings", "mlmon-result-lifecycle"),
    INVALID_DATASET: ("mlmon-invalid-mappings", "mlmon-result-lifecycle"),
    # Outcomes arrive late and are small: kept as long as the results they feed.
    Dataset.OUTCOME: ("mlmon-outcome-mappings", "mlmon-result-lifecycle"),
}


def index_templates(
    *, data_streams: bool = True, engine: Engine = "elasticsearch"
) -> dict[str, Body]:
    """Composable index templates by name, one per stream family."""
    templates: dict[str, Body] = {}
    for dataset, (mappings, lifecycle) in _FAMILIES.items():
        composed_of = ["mlmon-settings", mappings]
        body: Body = {
            "index_patterns": [f"logs-{dataset}-*"],
            "priority": TEMPLATE_PRIORITY,
            "composed_of": composed_of,
            "_meta": _meta(f"mlmon-elk {dataset} documents"),
        }
        if data_streams:
            body["data_stream"] = {}
        if data_streams and engine == "elasticsearch":
            # OpenSearch has neither ILM components nor optional (missing) components.
            composed_of += [lifecycle, CUSTOM_COMPONENT]
            body["ignore_missing_component_templates"] = [CUSTOM_COMPONENT]
        templates[template_name(dataset)] = body
    return templates


def template_name(dataset: str) -> str:
    """Index template name of a dataset, e.g. ``mlmon-prediction``."""
    return f"mlmon-{dataset.removeprefix('mlmon.')}"


def content_hash(body: Body) -> str:
    """A short, stable digest of a request body, ignoring ``_meta.hash`` itself.

    Stored in ``_meta.hash`` so setup can tell whether an installed asset is
    already what it would write, without comparing Elasticsearch's normalised
    echo of it.
    """
    meta = {k: v for k, v in body.get("_meta", {}).items() if k != "hash"}
    canonical = json.dumps({**body, "_meta": meta}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def with_hash(body: Body) -> Body:
    """``body`` with its :func:`content_hash` recorded in ``_meta.hash``."""
    return {**body, "_meta": {**body.get("_meta", {}), "hash": content_hash(body)}}


def mapped_type(field: str, mappings: Body) -> str | None:
    """The type ``field`` gets under ``mappings``, or ``None`` if it is not mapped.

    Explicit properties (and multi-fields such as ``message.keyword``) win;
    otherwise the first dynamic template whose ``path_match`` matches decides,
    as in Elasticsearch. Catch-all templates without ``path_match`` and those
    restricted to a ``match_mapping_type`` other than ``string`` are skipped: the
    question is whether the contract maps the field, not whether any JSON value
    would be accepted.
    Used by tests to prove every field a dashboard or rule reads is mapped.
    """
    node: Body | None = {"properties": mappings.get("properties", {})}
    parts = field.split(".")
    for i, part in enumerate(parts):
        children = node.get("properties", {}) if node is not None else {}
        if part in children:
            node = children[part]
            continue
        multi = node.get("fields", {}) if node is not None else {}
        if i == len(parts) - 1 and part in multi:
            return str(multi[part]["type"])
        node = None
        break
    if node is not None:
        if node.get("enabled") is False:
            return "object"
        return str(node.get("type", "object"))
    for entry in mappings.get("dynamic_templates", []):
        (spec,) = entry.values()
        if spec.get("match_mapping_type", "string") != "string" or "path_match" not in spec:
            continue
        if fnmatch.fnmatchcase(field, spec["path_match"]):
            return str(spec["mapping"]["type"])
    return None
