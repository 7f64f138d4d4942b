"""Data views and dashboards are import-ready for Kibana 8.14+ and match the contract.

Structural checks on the generated saved objects: every reference resolves,
every by-value Lens layer's data view reference is repeated on its dashboard,
ids and names come from ``mlmon_elk.contract``, and every field a visualization
reads (in a column or a KQL filter) is mapped by the index templates with a type
the operation can aggregate.
"""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

import pytest

from mlmon_elk.contract import Check, Dataset, DataView, Field, Status, Transition, stream_name
from mlmon_elk.stack import dashboards, lens
from mlmon_elk.stack.dashboards import (
    DATA_VIEW_DATASETS,
    MINIMUM_KIBANA,
    TYPE_MIGRATION_VERSIONS,
    dashboard_visualizations,
    saved_objects,
    stamp_of,
)
from mlmon_elk.stack.templates import (
    mapped_type,
    outcome_mappings,
    prediction_mappings,
    result_mappings,
)

OBJECTS = saved_objects()
DASHBOARDS = [o for o in OBJECTS if o["type"] == "dashboard"]
VIEWS = {o["id"]: o for o in OBJECTS if o["type"] == "index-pattern"}

MAPPINGS = {
    DataView.PREDICTIONS: prediction_mappings(),
    DataView.CHECKS: result_mappings(),
    DataView.ALERTS: result_mappings(),
    DataView.OUTCOMES: outcome_mappings(),
}

KQL_TERM = re.compile(r'([\w.@]+) : (?:"([^"]*)"|\(([^)]*)\))')

ALLOWED_VALUES: dict[str, set[str]] = {
    Field.CHECK: set(Check),
    Field.STATUS: set(Status),
    Field.TRANSITION: set(Transition),
    Field.EVENT_DATASET: set(Dataset),
    Field.EVENT_OUTCOME: {"success", "failure", "unknown"},
    Field.RULE_NAME: set(Check),
}

AGGREGATABLE = {"keyword", "double", "long", "date", "constant_keyword"}


def _version(number: str) -> tuple[int, ...]:
    return tuple(int(p) for p in number.split("."))


def _kql_terms(query: str) -> list[tuple[str, list[str]]]:
    terms = []
    for field_name, single, group in KQL_TERM.findall(query):
        values = [single] if single else re.findall(r'"([^"]*)"', group)
        terms.append((field_name, values))
    return terms


def test_every_object_carries_migration_fields_no_newer_than_the_oldest_kibana() -> None:
    """Kibana runs only later migrations and never refuses the objects as too new."""
    for obj in OBJECTS:
        assert obj["coreMigrationVersion"] == dashboards.CORE_MIGRATION_VERSION
        assert obj["typeMigrationVersion"] == TYPE_MIGRATION_VERSIONS[obj["type"]]
        assert _version(obj["typeMigrationVersion"]) <= _version(MINIMUM_KIBANA)
        assert _version(obj["coreMigrationVersion"]) <= _version(MINIMUM_KIBANA)
        assert set(obj) >= {"attributes", "id", "references", "type"}


def test_data_views_are_the_contract_ones_and_match_the_streams() -> None:
    """Ids are contract.DataView values; each title matches its stream in every namespace."""
    assert set(VIEWS) == set(DataView)
    for view_id, view in VIEWS.items():
        attributes = view["attributes"]
        assert attributes["timeFieldName"] == Field.TIMESTAMP
        dataset = DATA_VIEW_DATASETS[DataView(view_id)]
        for namespace in ("default", "prod"):
            assert fnmatch.fnmatchcase(stream_name(dataset, namespace), attributes["title"])
        for json_attribute in ("fieldFormatMap", "fieldAttrs", "runtimeFieldMap", "fields"):
            json.loads(attributes[json_attribute])
        for field_name in json.loads(attributes["fieldFormatMap"]):
            assert mapped_type(field_name, MAPPINGS[DataView(view_id)]) is not None, field_name


def test_run_summaries_and_shipper_counters_share_the_views_of_their_streams() -> None:
    """The checks view sees run summaries and the predictions view sees shipper counters."""
    checks = VIEWS[DataView.CHECKS]["attributes"]["title"]
    predictions = VIEWS[DataView.PREDICTIONS]["attributes"]["title"]
    assert fnmatch.fnmatchcase(stream_name(Dataset.RUN), checks)
    assert fnmatch.fnmatchcase(stream_name(Dataset.SHIPPER), predictions)


@pytest.mark.parametrize("board", DASHBOARDS, ids=lambda d: d["id"])
def test_lens_layer_references_are_repeated_on_the_dashboard(board: dict[str, Any]) -> None:
    """Each by-value layer's reference appears on the dashboard as ``<panelIndex>:<name>``."""
    panels = json.loads(board["attributes"]["panelsJSON"])
    expected = []
    for panel in panels:
        assert panel["type"] == "lens"
        assert panel["gridData"]["i"] == panel["panelIndex"]
        expected += [
            {"type": ref["type"], "id": ref["id"], "name": f"{panel['panelIndex']}:{ref['name']}"}
            for ref in panel["embeddableConfig"]["attributes"]["references"]
        ]
    assert sorted(board["references"], key=str) == sorted(expected, key=str)
    for ref in board["references"]:
        assert ref["type"] == "index-pattern"
        assert ref["id"] in VIEWS


@pytest.mark.parametrize("board", DASHBOARDS, ids=lambda d: d["id"])
def test_panels_fit_the_grid_without_overlapping(board: dict[str, Any]) -> None:
    """Panels are inside Kibana's 48-column grid, with unique indexes, and never overlap."""
    panels = json.loads(board["attributes"]["panelsJSON"])
    indexes = [p["panelIndex"] for p in panels]
    assert len(set(indexes)) == len(indexes)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridData"]
        assert grid["x"] >= 0
        assert grid["x"] + grid["w"] <= 48
        covered = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not covered & cells, panel["title"]
        cells |= covered


@pytest.mark.parametrize("board", DASHBOARDS, ids=lambda d: d["id"])
def test_lens_state_is_internally_consistent(board: dict[str, Any]) -> None:
    """Accessors, column order, formula references and layer ids all point at real columns."""
    for vis in dashboard_visualizations(board):
        (layer_id, layer), *others = vis["state"]["datasourceStates"]["formBased"]["layers"].items()
        assert others == []
        columns = layer["columns"]
        order = layer["columnOrder"]
        assert sorted(order) == sorted(columns)
        bucketed = [columns[c]["isBucketed"] for c in order]
        assert bucketed == sorted(bucketed, reverse=True), "bucketed columns come first"
        (ref,) = vis["references"]
        assert ref["name"] == f"indexpattern-datasource-layer-{layer_id}"
        state = vis["state"]["visualization"]
        if vis["visualizationType"] == "lnsXY":
            (xy_layer,) = state["layers"]
            assert xy_layer["layerId"] == layer_id
            used = [xy_layer["xAccessor"], *xy_layer["accessors"], xy_layer.get("splitAccessor")]
        elif vis["visualizationType"] == "lnsMetric":
            assert state["layerId"] == layer_id
            used = [state["metricAccessor"]]
        else:
            assert vis["visualizationType"] == "lnsDatatable"
            assert state["layerId"] == layer_id
            used = [c["columnId"] for c in state["columns"]] + [state["sorting"]["columnId"]]
        for column_id in filter(None, used):
            assert column_id in columns, (vis["title"], column_id)
        for column in columns.values():
            for referenced in column.get("references", []):
                assert referenced in columns
            order = column.get("params", {}).get("orderBy", {})
            if order.get("type") == "column":
                assert order["columnId"] in columns
                assert not columns[order["columnId"]]["isBucketed"]


@pytest.mark.parametrize("board", DASHBOARDS, ids=lambda d: d["id"])
def test_every_field_a_panel_reads_is_mapped_and_aggregatable(board: dict[str, Any]) -> None:
    """Columns and filters use only fields the templates map, with types Lens can aggregate."""
    for vis in dashboard_visualizations(board):
        (ref,) = vis["references"]
        mappings = MAPPINGS[DataView(ref["id"])]
        (layer,) = vis["state"]["datasourceStates"]["formBased"]["layers"].values()
        for column in layer["columns"].values():
            fields = [
                column.get("sourceField"),
                *column.get("params", {}).get("secondaryFields", []),
            ]
            fields.append(column.get("params", {}).get("sortField"))
            for field_name in filter(None, fields):
                if field_name == "___records___":
                    continue
                kind = mapped_type(field_name, mappings)
                assert kind in AGGREGATABLE, (vis["title"], field_name, kind)
                if column["operationType"] in ("average", "percentile", "sum"):
                    assert kind in ("double", "long"), (vis["title"], field_name)
        queries = [vis["state"]["query"]["query"]]
        queries += [c["filter"]["query"] for c in layer["columns"].values() if "filter" in c]
        for query in filter(None, queries):
            terms = _kql_terms(query)
            assert terms, query
            for field_name, values in terms:
                assert mapped_type(field_name, mappings) is not None, (vis["title"], field_name)
                if field_name in ALLOWED_VALUES:
                    assert set(values) <= ALLOWED_VALUES[field_name], (field_name, values)


def test_dashboards_cover_what_the_issue_asks_for() -> None:
    """Overview, Data quality and Alerts show the promised charts on the right data views."""
    titles = {
        board["id"]: {
            (v["title"], v["references"][0]["id"]) for v in dashboard_visualizations(board)
        }
        for board in DASHBOARDS
    }
    overview = titles[dashboards.OVERVIEW]
    assert ("Predictions per model version", DataView.PREDICTIONS) in overview
    assert ("Latency percentiles (ms)", DataView.PREDICTIONS) in overview
    assert ("Error rate by model", DataView.PREDICTIONS) in overview
    assert ("New alerts by severity", DataView.ALERTS) in overview
    quality = {t for t, view in titles[dashboards.DATA_QUALITY] if view == DataView.CHECKS}
    assert len(quality) == len(titles[dashboards.DATA_QUALITY])
    for expected in ("Presence rate", "Missing (NA) rate", "Category shares", "Unseen", "drift"):
        assert any(expected in t for t in quality), expected
    alerts = titles[dashboards.ALERTS]
    assert ("Alerts", DataView.ALERTS) in alerts
    assert any(view == DataView.PREDICTIONS for _, view in alerts)


def test_alert_drill_down_panels_follow_the_time_range_not_alert_filters() -> None:
    """On the Alerts dashboard, prediction panels ignore filters made by clicking alerts."""
    (board,) = [b for b in DASHBOARDS if b["id"] == dashboards.ALERTS]
    for vis in dashboard_visualizations(board):
        (layer,) = vis["state"]["datasourceStates"]["formBased"]["layers"].values()
        on_predictions = vis["references"][0]["id"] == DataView.PREDICTIONS
        assert layer["ignoreGlobalFilters"] is on_predictions, vis["title"]


def test_data_quality_panels_cover_every_feature_check() -> None:
    """Each per-feature check name appears in some Data quality query."""
    (board,) = [b for b in DASHBOARDS if b["id"] == dashboards.DATA_QUALITY]
    queried: set[str] = set()
    for vis in dashboard_visualizations(board):
        for field_name, values in _kql_terms(vis["state"]["query"]["query"]):
            if field_name == Field.CHECK:
                queried |= set(values)
    feature_checks = {
        Check.FEATURE_VANISHED,
        Check.MISSING_SPIKE,
        Check.CATEGORY_SHIFT,
        Check.UNSEEN_CATEGORIES,
        Check.TEXT_OOV,
        Check.NUMERIC_DRIFT,
        Check.PREDICTION_DRIFT,
    }
    assert feature_checks <= queried


def test_dashboards_are_stamped_with_their_content() -> None:
    """Every dashboard ends its description with a content stamp setup can compare."""
    stamps = [stamp_of(board["attributes"]) for board in DASHBOARDS]
    assert all(s and len(s) == 12 for s in stamps)
    assert len(set(stamps)) == len(stamps)
    assert stamp_of({"description": "edited by hand"}) is None


def test_formula_column_is_stored_with_its_parsed_parts() -> None:
    """A ratio formula carries the two counts and the math node Lens would have saved."""
    column = lens.share_of_documents("rate", "Error rate", 'event.outcome : "failure"')
    parts = dict(column.helpers)
    assert column.spec["references"] == ["rateX2"]
    assert parts["rateX2"]["params"]["tinymathAst"]["args"] == ["rateX0", "rateX1"]
    assert parts["rateX0"]["filter"]["query"] == 'event.outcome : "failure"'
    assert "filter" not in parts["rateX1"]


def test_data_quality_shows_realized_against_estimated_performance_per_window() -> None:
    """One line chart over window ends: realized and estimated metrics and the baseline's."""
    (board,) = [b for b in DASHBOARDS if b["id"] == dashboards.DATA_QUALITY]
    (vis,) = [
        v for v in dashboard_visualizations(board) if v["title"].startswith("Model performance")
    ]
    assert vis["references"][0]["id"] == DataView.CHECKS
    (layer,) = vis["state"]["datasourceStates"]["formBased"]["layers"].values()
    (xy_layer,) = vis["state"]["visualization"]["layers"]
    assert xy_layer["seriesType"] == "line"
    assert layer["columns"][xy_layer["xAccessor"]]["sourceField"] == Field.EVENT_END
    lines = {
        layer["columns"][a]["label"]: (
            layer["columns"][a]["sourceField"],
            dict(_kql_terms(layer["columns"][a]["filter"]["query"])),
        )
        for a in xy_layer["accessors"]
    }
    for metric in ("accuracy", "ROC AUC"):
        source, terms = lines[f"estimated {metric}"]
        assert source == Field.OBSERVED
        assert terms[Field.CHECK] == [Check.ESTIMATED_PERFORMANCE]
    assert lines["baseline accuracy"][0] == Field.EXPECTED


def test_the_realized_lines_take_each_window_s_latest_evaluation_not_an_average() -> None:
    """Late outcomes leave several performance results per window: the newest one counts."""
    (board,) = [b for b in DASHBOARDS if b["id"] == dashboards.DATA_QUALITY]
    (vis,) = [
        v for v in dashboard_visualizations(board) if v["title"].startswith("Model performance")
    ]
    (layer,) = vis["state"]["datasourceStates"]["formBased"]["layers"].values()
    columns = {c["label"]: c for c in layer["columns"].values() if "label" in c}
    for label, field_name in (
        ("realized accuracy", Field.REALIZED_ACCURACY),
        ("realized ROC AUC", Field.REALIZED_ROC_AUC),
    ):
        column = columns[label]
        assert column["operationType"] == "last_value"
        assert column["sourceField"] == field_name
        assert column["params"]["sortField"] == Field.EVENT_CREATED
        assert dict(_kql_terms(column["filter"]["query"]))[Field.CHECK] == [Check.PERFORMANCE]
