"""Kibana data views and dashboards as code (saved objects for the import API).

Authored for the oldest Kibana mlmon-elk supports (8.14): the migration fields
are those a real 8.x export carries (``coreMigrationVersion`` 8.8.0; data views
at 8.0.0, dashboards at 8.9.0), so Kibana 8.14+ and 9.x import them and run only
the migrations that came later. Every Lens panel is by value, and each of its
data view references is repeated on the dashboard prefixed by the panel index —
without that Kibana reports "Could not find data view" after import.

Names of fields, checks, statuses and transitions come from ``contract``; tests
check that every field used here is mapped by the index templates.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any

from mlmon_elk.contract import Check, Dataset, DataView, Field, Status, Transition
from mlmon_elk.stack import lens
from mlmon_elk.stack.lens import Placed, Visualization

Body = dict[str, Any]

CORE_MIGRATION_VERSION = "8.8.0"
TYPE_MIGRATION_VERSIONS = {"index-pattern": "8.0.0", "dashboard": "8.9.0"}
"""From real Kibana 8.x exports; older than every supported Kibana, never newer."""

MINIMUM_KIBANA = "8.14.0"

STAMP_PREFIX = "mlmon-elk assets "
"""Dashboards end their description with this and a content hash, so setup can
tell an installed dashboard is already the one it would import."""

DATA_VIEW_PATTERNS = {
    DataView.PREDICTIONS: f"logs-{Dataset.PREDICTION}-*",
    DataView.CHECKS: f"logs-{Dataset.CHECK}-*",
    DataView.ALERTS: f"logs-{Dataset.ALERT}-*",
    DataView.OUTCOMES: f"logs-{Dataset.OUTCOME}-*",
}
"""Data view id → index pattern (data streams or plain indices of any namespace)."""

DATA_VIEW_DATASETS = {
    DataView.PREDICTIONS: Dataset.PREDICTION,
    DataView.CHECKS: Dataset.CHECK,
    DataView.ALERTS: Dataset.ALERT,
    DataView.OUTCOMES: Dataset.OUTCOME,
}

OVERVIEW = "mlmon-dashboard-overview"
DATA_QUALITY = "mlmon-dashboard-data-quality"
ALERTS = "mlmon-dashboard-alerts"


def kql_is(field_name: str, value: str) -> str:
    """KQL for ``field_name`` equal to ``value``."""
    return f'{field_name} : "{value}"'


def kql_any(field_name: str, values: tuple[str, ...]) -> str:
    """KQL for ``field_name`` equal to any of ``values``."""
    return f"{field_name} : (" + " or ".join(f'"{v}"' for v in values) + ")"


PREDICTIONS_ONLY = kql_is(Field.EVENT_DATASET, Dataset.PREDICTION)
CHECKS_ONLY = kql_is(Field.EVENT_DATASET, Dataset.CHECK)
FAILED = kql_is(Field.EVENT_OUTCOME, "failure")
NEW_ALERTS = kql_is(Field.TRANSITION, Transition.NEW)
NOT_OK = kql_any(Field.STATUS, (Status.WARNING, Status.CRITICAL))


def _saved_object(
    object_type: str, object_id: str, attributes: Body, references: list[Body]
) -> Body:
    return {
        "attributes": attributes,
        "coreMigrationVersion": CORE_MIGRATION_VERSION,
        "id": object_id,
        "managed": False,
        "references": references,
        "type": object_type,
        "typeMigrationVersion": TYPE_MIGRATION_VERSIONS[object_type],
    }


def _formats(*fields: tuple[str, Body]) -> str:
    return json.dumps(dict(fields), sort_keys=True)


_RESULT_NUMBER: Body = {"id": "number", "params": {"pattern": "0,0.[0000]"}}

DATA_VIEW_FORMATS = {
    DataView.PREDICTIONS: _formats(
        (Field.LATENCY_MS, {"id": "number", "params": {"pattern": "0,0.[0]"}}),
        (
            Field.EVENT_DURATION,
            {
                "id": "duration",
                "params": {"inputFormat": "nanoseconds", "outputFormat": "humanizePrecise"},
            },
        ),
    ),
    DataView.CHECKS: _formats(
        *(
            (f, _RESULT_NUMBER)
            for f in (Field.VALUE, Field.THRESHOLD, Field.EXPECTED, Field.OBSERVED)
        )
    ),
    DataView.ALERTS: _formats(
        *(
            (f, _RESULT_NUMBER)
            for f in (Field.VALUE, Field.THRESHOLD, Field.EXPECTED, Field.OBSERVED)
        )
    ),
    DataView.OUTCOMES: _formats(
        *((f, _RESULT_NUMBER) for f in (Field.SCORE, Field.RESIDUAL, Field.ACTUAL_NUM))
    ),
}

DATA_VIEW_NAMES = {
    DataView.PREDICTIONS: "mlmon predictions",
    DataView.CHECKS: "mlmon check results",
    DataView.ALERTS: "mlmon alerts",
    DataView.OUTCOMES: "mlmon outcomes",
}


def data_views() -> list[Body]:
    """The data views, ids from :class:`contract.DataView`."""
    return [
        _saved_object(
            "index-pattern",
            view,
            {
                "fieldAttrs": "{}",
                "fieldFormatMap": DATA_VIEW_FORMATS[view],
                "fields": "[]",
                "name": DATA_VIEW_NAMES[view],
                "runtimeFieldMap": "{}",
                "sourceFilters": "[]",
                "timeFieldName": Field.TIMESTAMP,
                "title": pattern,
            },
            [],
        )
        for view, pattern in DATA_VIEW_PATTERNS.items()
    ]


def dashboard(
    dashboard_id: str, title: str, description: str, panels: list[Placed], *, time_from: str
) -> Body:
    """A dashboard of by-value Lens panels, stamped with its content hash."""
    panel_json: list[Body] = []
    references: list[Body] = []
    for number, placed in enumerate(panels, start=1):
        index = placed.panel_index or f"p{number}"
        vis = placed.visualization
        panel_json.append(
            {
                "type": "lens",
                "gridData": {
                    "x": placed.x,
                    "y": placed.y,
                    "w": placed.w,
                    "h": placed.h,
                    "i": index,
                },
                "panelIndex": index,
                "embeddableConfig": {"attributes": vis.attributes(), "enhancements": {}},
                "title": vis.title,
            }
        )
        references.append(
            {"type": "index-pattern", "id": vis.data_view, "name": f"{index}:{vis.reference_name}"}
        )
    attributes: Body = {
        "title": title,
        "description": description,
        "panelsJSON": json.dumps(panel_json, sort_keys=True),
        "optionsJSON": json.dumps(
            {
                "useMargins": True,
                "syncColors": False,
                "syncCursor": True,
                "syncTooltips": False,
                "hidePanelTitles": False,
            }
        ),
        "timeRestore": True,
        "timeFrom": time_from,
        "timeTo": "now",
        "refreshInterval": {"pause": False, "value": 60_000},
        "kibanaSavedObjectMeta": {
            "searchSourceJSON": json.dumps(
                {"query": {"query": "", "language": "kuery"}, "filter": []}
            )
        },
        "version": 1,
    }
    return stamp(_saved_object("dashboard", dashboard_id, attributes, references))


def stamp(saved_object: Body) -> Body:
    """Append the content hash to the description (see :data:`STAMP_PREFIX`)."""
    digest = hashlib.sha256(json.dumps(saved_object, sort_keys=True).encode()).hexdigest()[:12]
    attributes = dict(saved_object["attributes"])
    attributes["description"] = f"{attributes['description']}\n\n{STAMP_PREFIX}{digest}".lstrip()
    return {**saved_object, "attributes": attributes}


def stamp_of(attributes: Body) -> str | None:
    """The stamp recorded in a dashboard's description, if any."""
    description = str(attributes.get("description", ""))
    _, found, digest = description.rpartition(STAMP_PREFIX)
    return digest.strip() if found else None


# ---- Overview ----------------------------------------------------------------


def _model_versions(column_id: str = "model") -> lens.Column:
    """Model name and version together (multi-terms), biggest first."""
    return lens.terms(
        Field.MODEL_NAME,
        column_id,
        "Model version",
        size=20,
        order_by="n",
        secondary=(Field.MODEL_VERSION,),
    )


def _p95() -> lens.Column:
    return lens.metric("percentile", Field.LATENCY_MS, "p95", "p95 latency (ms)", percentile=95)


def _error_rate() -> lens.Column:
    return lens.share_of_documents("rate", "Error rate", FAILED)


def _overview() -> Body:
    p, a = DataView.PREDICTIONS, DataView.ALERTS
    time = lens.date_histogram()
    predictions = lens.count("n", "Predictions")
    new_critical = f"{NEW_ALERTS} and {kql_is(Field.STATUS, Status.CRITICAL)}"
    count_tile = lens.single_metric("Predictions", p, "ov-n", predictions, query=PREDICTIONS_ONLY)
    p95_tile = lens.single_metric("Latency p95 (ms)", p, "ov-p95", _p95(), query=PREDICTIONS_ONLY)
    error_tile = lens.single_metric(
        "Error rate", p, "ov-err", _error_rate(), query=PREDICTIONS_ONLY
    )
    critical = lens.count("n", "New critical alerts")
    critical_tile = lens.single_metric(
        "New critical alerts", a, "ov-crit", critical, query=new_critical
    )
    volume = lens.xy(
        "Predictions per model version",
        p,
        "ov-volume",
        x=time,
        ys=(predictions,),
        split=_model_versions(),
        series="bar_stacked",
        query=PREDICTIONS_ONLY,
    )
    latency = lens.xy(
        "Latency percentiles (ms)",
        p,
        "ov-latency",
        x=time,
        ys=tuple(
            lens.metric("percentile", Field.LATENCY_MS, f"p{q}", f"p{q}", percentile=q)
            for q in (50, 95, 99)
        ),
        query=PREDICTIONS_ONLY,
    )
    errors = lens.xy(
        "Error rate by model",
        p,
        "ov-errors",
        x=time,
        ys=(_error_rate(),),
        split=lens.terms(Field.MODEL_NAME, "model", "Model", size=10),
        query=PREDICTIONS_ONLY,
    )
    alerts = lens.xy(
        "New alerts by severity",
        a,
        "ov-alerts",
        x=time,
        ys=(lens.count("n", "Alerts"),),
        split=lens.terms(Field.STATUS, "status", "Severity", size=5, order_by="n"),
        series="bar_stacked",
        query=NEW_ALERTS,
    )
    panels = [
        Placed(count_tile, 0, 0, 12, 6),
        Placed(p95_tile, 12, 0, 12, 6),
        Placed(error_tile, 24, 0, 12, 6),
        Placed(critical_tile, 36, 0, 12, 6),
        Placed(volume, 0, 6, 24, 14),
        Placed(latency, 24, 6, 24, 14),
        Placed(errors, 0, 20, 24, 14),
        Placed(alerts, 24, 20, 24, 14),
    ]
    return dashboard(
        OVERVIEW,
        "mlmon · Overview",
        "Traffic, latency and errors of the monitored models, and the alerts the analyzer raised.",
        panels,
        time_from="now-24h",
    )


# ---- Data quality --------------------------------------------------------------


def _check_query(*checks: Check) -> str:
    return kql_is(Field.CHECK, checks[0]) if len(checks) == 1 else kql_any(Field.CHECK, checks)


def _against_threshold(
    title: str, layer: str, checks: tuple[Check, ...], what: str
) -> Visualization:
    return lens.xy(
        title,
        DataView.CHECKS,
        layer,
        x=lens.date_histogram(),
        ys=(
            lens.metric("average", Field.VALUE, "value", what),
            lens.metric("max", Field.THRESHOLD, "threshold", "threshold"),
        ),
        split=lens.terms(Field.FEATURE, "feature", "Feature", size=10, order_by="value"),
        query=_check_query(*checks),
        description="Each feature's metric per analyzer window, against its threshold.",
    )


def _rate_by_feature(title: str, layer: str, check: Check, what: str) -> Visualization:
    return lens.xy(
        title,
        DataView.CHECKS,
        layer,
        x=lens.date_histogram(),
        ys=(
            lens.metric("average", Field.OBSERVED, "observed", what),
            lens.metric("average", Field.EXPECTED, "expected", "baseline"),
        ),
        split=lens.terms(Field.FEATURE, "feature", "Feature", size=10, order_by="observed"),
        query=_check_query(check),
        description="Observed per window against the baseline (training) rate.",
    )


def _last(field_name: str, column_id: str, label: str, data_type: str = "number") -> lens.Column:
    return lens.metric("last_value", field_name, column_id, label, data_type=data_type)


def _performance() -> Visualization:
    """Realized against estimated performance per window, with the baseline's value.

    A window has one ``performance`` result per labelled count it was evaluated
    with (late outcomes re-evaluate it), so the realized lines take the *latest*
    result (``last_value`` by ``event.created``) of its mapped realized figures,
    never an average with superseded ones. The estimate and the baseline's value
    do not change with labels: ``mlmon.observed`` / ``mlmon.expected`` of the
    results about that metric (a result carries the metric that fired or moved
    most, so those lines can skip windows).
    """

    def line(check: Check, metric: str, field_name: str, column_id: str, label: str) -> lens.Column:
        kql = f"{kql_is(Field.CHECK, check)} and {kql_is(Field.METRIC, metric)}"
        return lens.metric("average", field_name, column_id, label, kql=kql)

    def latest(field_name: str, column_id: str, label: str) -> lens.Column:
        kql = kql_is(Field.CHECK, realized)
        return lens.metric(
            "last_value", field_name, column_id, label, kql=kql, sortField=Field.EVENT_CREATED
        )

    realized, estimated = Check.PERFORMANCE, Check.ESTIMATED_PERFORMANCE
    return lens.xy(
        "Model performance: realized vs estimated",
        DataView.CHECKS,
        "dq-performance",
        x=lens.date_histogram(field_name=Field.EVENT_END),
        ys=(
            latest(Field.REALIZED_ACCURACY, "acc", "realized accuracy"),
            line(estimated, "accuracy_drop", Field.OBSERVED, "est_acc", "estimated accuracy"),
            line(realized, "accuracy_drop", Field.EXPECTED, "base_acc", "baseline accuracy"),
            latest(Field.REALIZED_ROC_AUC, "auc", "realized ROC AUC"),
            line(estimated, "roc_auc_drop", Field.OBSERVED, "est_auc", "estimated ROC AUC"),
        ),
        split=lens.terms(Field.MODEL_VERSION, "version", "Model version", size=10),
        query=_check_query(realized, estimated),
        description="Per window end: realized performance (from outcomes; the latest "
        "evaluation of a window whose outcomes arrived late), the label-free estimate "
        "(from the score histogram) and the baseline's held-out value.",
    )


def _data_quality() -> Body:
    c = DataView.CHECKS
    presence = _rate_by_feature(
        "Presence rate by feature", "dq-presence", Check.FEATURE_VANISHED, "presence"
    )
    missing = _rate_by_feature(
        "Missing (NA) rate by feature", "dq-missing", Check.MISSING_SPIKE, "NA rate"
    )
    unseen = _against_threshold(
        "Unseen categories and out-of-vocabulary tokens",
        "dq-unseen",
        (Check.UNSEEN_CATEGORIES, Check.TEXT_OOV),
        "unseen rate",
    )
    drift = _against_threshold(
        "Input drift (numeric and categorical)",
        "dq-drift",
        (Check.NUMERIC_DRIFT, Check.CATEGORY_SHIFT),
        "drift",
    )
    prediction_drift = _against_threshold(
        "Prediction drift", "dq-prediction", (Check.PREDICTION_DRIFT,), "drift"
    )
    categories = lens.table(
        "Category shares: top mover, baseline vs window",
        c,
        "dq-categories",
        (
            lens.terms(Field.FEATURE, "feature", "Feature", size=50, order_by="value"),
            _last(Field.EXPECTED, "expected", "Baseline share"),
            _last(Field.OBSERVED, "observed", "Window share"),
            _last(Field.VALUE, "value", "Shift"),
            _last(Field.THRESHOLD, "threshold", "Threshold"),
            _last(Field.STATUS, "status", "Status", data_type="string"),
        ),
        sort_by="value",
        query=_check_query(Check.CATEGORY_SHIFT),
        description="Latest category_shift result per feature; details in mlmon.context.",
    )
    status = lens.xy(
        "Check results by status",
        c,
        "dq-status",
        x=lens.date_histogram(),
        ys=(lens.count("n", "Check results"),),
        split=lens.terms(Field.STATUS, "status", "Status", size=5, order_by="n"),
        series="bar_stacked",
        query=CHECKS_ONLY,
    )
    not_ok = lens.table(
        "Checks that are not ok",
        c,
        "dq-not-ok",
        (
            _model_versions(),
            lens.terms(Field.CHECK, "check", "Check", size=len(Check), order_by="n"),
            lens.terms(
                Field.FEATURE, "feature", "Feature", size=100, order_by="n", missing_bucket=True
            ),
            lens.count("n", "Windows not ok"),
            _last(Field.STATUS, "status", "Last status", data_type="string"),
            _last(Field.VALUE, "value", "Last value"),
            _last(Field.THRESHOLD, "threshold", "Threshold"),
            lens.metric("max", Field.TIMESTAMP, "seen", "Last seen", data_type="date"),
        ),
        sort_by="seen",
        query=f"{CHECKS_ONLY} and {NOT_OK}",
    )
    panels = [
        Placed(presence, 0, 0, 24, 14),
        Placed(missing, 24, 0, 24, 14),
        Placed(unseen, 0, 14, 24, 14),
        Placed(drift, 24, 14, 24, 14),
        Placed(categories, 0, 28, 24, 14),
        Placed(prediction_drift, 24, 28, 24, 14),
        Placed(status, 0, 42, 16, 14),
        Placed(not_ok, 16, 42, 32, 14),
        Placed(_performance(), 0, 56, 48, 14),
    ]
    return dashboard(
        DATA_QUALITY,
        "mlmon · Data quality",
        "Per-feature presence, missing values, unseen categories, drift and prediction drift, "
        "from the analyzer's check results, each against its threshold; model performance, "
        "realized and estimated.",
        panels,
        time_from="now-7d",
    )


# ---- Alerts --------------------------------------------------------------------


def _alerts() -> Body:
    a, p = DataView.ALERTS, DataView.PREDICTIONS
    time = lens.date_histogram()
    timeline = lens.xy(
        "Alert timeline by severity (drag to zoom into a window)",
        a,
        "al-timeline",
        x=time,
        ys=(lens.count("n", "Alerts"),),
        split=lens.terms(Field.STATUS, "status", "Severity", size=5, order_by="n"),
        series="bar_stacked",
        query=NEW_ALERTS,
    )
    by_check = lens.xy(
        "Alerts by check",
        a,
        "al-checks",
        x=time,
        ys=(lens.count("n", "Alerts"),),
        split=lens.terms(Field.RULE_NAME, "check", "Check", size=len(Check), order_by="n"),
        series="bar_stacked",
        query=NEW_ALERTS,
    )
    table = lens.table(
        "Alerts",
        a,
        "al-table",
        (
            lens.terms("message.keyword", "message", "Alert", size=200, order_by="seen"),
            lens.metric("max", Field.TIMESTAMP, "seen", "Last seen", data_type="date"),
            _last(Field.STATUS, "status", "Severity", data_type="string"),
            _last(Field.TRANSITION, "transition", "Transition", data_type="string"),
            _last(Field.RULE_NAME, "check", "Check", data_type="string"),
        ),
        sort_by="seen",
        description="One row per alert sentence, latest first.",
    )
    # The drill-down: these follow the dashboard's time range (drag across the
    # timeline to select an alert's window) but ignore the filters made by
    # clicking alert rows, whose fields predictions do not have.
    window_volume = lens.xy(
        "Predictions in the selected window, per model version",
        p,
        "al-predictions",
        x=time,
        ys=(lens.count("n", "Predictions"),),
        split=_model_versions(),
        series="bar_stacked",
        query=PREDICTIONS_ONLY,
    )
    window_health = lens.xy(
        "Latency p95 and error rate in the selected window",
        p,
        "al-latency",
        x=time,
        ys=(_p95(), _error_rate()),
        query=PREDICTIONS_ONLY,
    )
    panels = [
        Placed(timeline, 0, 0, 24, 12),
        Placed(by_check, 24, 0, 24, 12),
        Placed(table, 0, 12, 48, 16),
        Placed(replace(window_volume, ignore_global_filters=True), 0, 28, 24, 12),
        Placed(replace(window_health, ignore_global_filters=True), 24, 28, 24, 12),
    ]
    return dashboard(
        ALERTS,
        "mlmon · Alerts",
        "Alerts from the analyzer. Drag across the timeline to zoom into an alert's window: "
        "the prediction panels below follow the selected time range.",
        panels,
        time_from="now-7d",
    )


def saved_objects() -> list[Body]:
    """Every saved object, data views first (dashboards reference them)."""
    return [*data_views(), _overview(), _data_quality(), _alerts()]


def dashboard_visualizations(saved_object: Body) -> list[Body]:
    """The Lens attributes of each panel of a dashboard saved object."""
    return [
        panel["embeddableConfig"]["attributes"]
        for panel in json.loads(saved_object["attributes"]["panelsJSON"])
        if panel["type"] == "lens"
    ]
