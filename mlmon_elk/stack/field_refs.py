"""Every field the shipped Kibana assets query, read out of the assets (pure).

Kibana cannot run everywhere, but what it would ask Elasticsearch can be
checked against the mappings the cluster really applies: a Lens column on a
field that is not mapped (or not aggregatable) shows an empty panel, and a
rule on one never fires. :func:`field_references` lists, per asset, the index
pattern and each field it names, and whether it aggregates on it:

* data views: the time field, the formatted fields;
* Lens panels: each column's ``sourceField`` (aggregated), ``fieldName``, its
  filter's KQL, and the panel's query and filters (KQL field names);
* ``.es-query`` rules: ``index``, ``timeField`` and the field names of the DSL;
* ES|QL rules: the ``FROM`` pattern and the source fields of ``WHERE``,
  ``EVAL`` and ``STATS … BY`` (names an ``EVAL`` or ``STATS`` defines are not
  source fields).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

RECORDS = "___records___"
"""Lens's pseudo-field of a document count."""


@dataclass(frozen=True, slots=True)
class FieldRef:
    """One field an asset references."""

    asset: str
    """e.g. ``dashboard mlmon-dashboard-overview: Predictions``."""
    pattern: str
    """The index pattern it is queried on, e.g. ``logs-mlmon.prediction-*``."""
    field: str
    aggregated: bool
    """Bucketed or metric'd on (needs an aggregatable type), not only filtered on."""


# A KQL field name stands before ':' (or a range operator); quoted values are removed first.
_KQL_FIELD = re.compile(r"([A-Za-z_@][\w.@-]*)\s*(?::|<=|>=|<|>)")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def kql_fields(query: str) -> set[str]:
    """The field names of a KQL query (``a.b : "x" and c >= 3`` → ``{a.b, c}``)."""
    return set(_KQL_FIELD.findall(_QUOTED.sub('""', query)))


_DSL_FIELD_KEYS = ("term", "terms", "range", "match", "match_phrase", "prefix", "wildcard")


def dsl_fields(query: object) -> Iterator[tuple[str, bool]]:
    """(field, aggregated) of a query DSL body, its aggregations and sort included."""
    if isinstance(query, Mapping):
        for key, value in query.items():
            if key in _DSL_FIELD_KEYS and isinstance(value, Mapping):
                yield from ((str(name), False) for name in value if name != "boost")
            elif key == "exists" and isinstance(value, Mapping):
                yield str(value["field"]), False
            elif key == "field" and isinstance(value, str):
                yield value, True  # only aggregations name their field with "field"
            elif key == "sort" and isinstance(value, list):
                for item in value:
                    names = [item] if isinstance(item, str) else list(item)
                    yield from ((str(n), True) for n in names)
            else:
                yield from dsl_fields(value)
    elif isinstance(query, list):
        for item in query:
            yield from dsl_fields(item)


_ESQL_NAME = re.compile(r"(?<![\w.@])([A-Za-z_@][\w.@]*+)(?!\s*\()")
_ESQL_WORDS = {
    "and", "or", "not", "is", "null", "in", "like", "rlike", "by", "asc", "desc", "true",
    "false", "minutes", "minute", "hours", "hour", "days", "day", "seconds", "second",
}  # fmt: skip


def esql_fields(query: str) -> tuple[str, set[str], set[str]]:
    """(FROM pattern, fields filtered on, fields aggregated) of an ES|QL query."""
    pattern = ""
    sources: dict[str, set[str]] = {}
    """Source fields behind each name an EVAL or STATS defines."""
    filtered: set[str] = set()
    aggregated: set[str] = set()

    def resolve(expression: str) -> set[str]:
        fields: set[str] = set()
        for name in _names(expression):
            fields |= sources.get(name, {name})
        return fields

    for command in (part.strip() for part in query.split("|")):
        word, _, rest = command.partition(" ")
        word = word.upper()
        rest = _QUOTED.sub('""', rest)
        if word == "FROM":
            pattern = rest.split(",")[0].split()[0]
        elif word in ("EVAL", "STATS"):
            # `name = expression, …` defines names; STATS … BY groups.
            body, _, by = rest.partition(" BY ")
            for assignment in body.split(","):
                name, eq, expression = assignment.partition("=")
                fields = resolve(expression if eq else name)
                (aggregated if word == "STATS" else filtered).update(fields)
                if eq:
                    sources[name.strip()] = fields
            aggregated.update(resolve(by))
        elif word in ("WHERE", "SORT", "KEEP", "DROP"):
            filtered.update(n for n in _names(rest) if n not in sources)
    return pattern, filtered - aggregated, aggregated


def _names(expression: str) -> set[str]:
    return {n for n in _ESQL_NAME.findall(expression) if n.lower() not in _ESQL_WORDS}


def field_references(
    saved_objects: Sequence[Mapping[str, Any]], rules: Sequence[Mapping[str, Any]]
) -> list[FieldRef]:
    """Every field the saved objects (data views, dashboards) and rules reference."""
    refs: list[FieldRef] = []
    titles = {
        o["id"]: o["attributes"]["title"] for o in saved_objects if o["type"] == "index-pattern"
    }
    runtime: dict[str, set[str]] = {}
    for obj in saved_objects:
        attributes = obj["attributes"]
        if obj["type"] == "index-pattern":
            name = f"data view {obj['id']}"
            pattern = attributes["title"]
            runtime[pattern] = set(json.loads(attributes.get("runtimeFieldMap") or "{}"))
            refs.append(FieldRef(name, pattern, attributes["timeFieldName"], aggregated=True))
            formats = json.loads(attributes.get("fieldFormatMap") or "{}")
            refs += [FieldRef(name, pattern, f, aggregated=False) for f in formats]
        elif obj["type"] == "dashboard":
            for panel in json.loads(attributes["panelsJSON"]):
                lens = panel.get("embeddableConfig", {}).get("attributes")
                if lens:
                    where = f"dashboard {obj['id']}: {panel.get('title') or lens.get('title')}"
                    refs += _lens_fields(where, lens, titles)
    for rule in rules:
        refs += _rule_fields(rule)
    return [r for r in refs if r.field not in runtime.get(r.pattern, set())]


def _lens_fields(where: str, lens: Mapping[str, Any], titles: Mapping[str, str]) -> list[FieldRef]:
    prefix = "indexpattern-datasource-layer-"
    layers_view = {
        ref["name"][len(prefix) :]: titles[ref["id"]]
        for ref in lens.get("references", [])
        if ref["name"].startswith(prefix)
    }
    state = lens["state"]
    refs: list[FieldRef] = []
    panel_kql = {*kql_fields(state.get("query", {}).get("query", ""))}
    for item in state.get("filters", []):
        panel_kql |= kql_fields(str(item.get("query", {}).get("query", "")))
        key = item.get("meta", {}).get("key")
        if key:
            panel_kql.add(str(key))
    layers = state["datasourceStates"].get("formBased", {}).get("layers", {})
    for layer_id, layer in layers.items():
        pattern = layers_view[layer_id]
        refs += [FieldRef(where, pattern, f, aggregated=False) for f in sorted(panel_kql)]
        for column in layer.get("columns", {}).values():
            source = column.get("sourceField")
            if source and source != RECORDS:
                refs.append(FieldRef(where, pattern, source, aggregated=True))
            for name in _values_of(column, "fieldName"):
                refs.append(FieldRef(where, pattern, name, aggregated=True))
            kql = (column.get("filter") or {}).get("query", "")
            refs += [FieldRef(where, pattern, f, aggregated=False) for f in kql_fields(kql)]
    return refs


def _values_of(value: object, key: str) -> Iterator[str]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            if k == key and isinstance(v, str):
                yield v
            else:
                yield from _values_of(v, key)
    elif isinstance(value, list):
        for item in value:
            yield from _values_of(item, key)


def _rule_fields(rule: Mapping[str, Any]) -> list[FieldRef]:
    where = f"rule {rule['id']}"
    params = rule["params"]
    if "esqlQuery" in params:
        pattern, filtered, aggregated = esql_fields(params["esqlQuery"]["esql"])
        refs = [FieldRef(where, pattern, f, aggregated=False) for f in sorted(filtered)]
        refs += [FieldRef(where, pattern, f, aggregated=True) for f in sorted(aggregated)]
        refs.append(FieldRef(where, pattern, params["timeField"], aggregated=False))
        return refs
    refs = []
    for pattern in params["index"]:
        refs.append(FieldRef(where, pattern, params["timeField"], aggregated=True))
        query = json.loads(params["esQuery"])
        refs += [FieldRef(where, pattern, f, agg) for f, agg in dsl_fields(query)]
    return refs
