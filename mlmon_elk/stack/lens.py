"""A small builder for by-value Lens panels (the JSON Kibana stores in dashboards).

Only the shapes mlmon-elk's dashboards need: XY charts, metrics and tables over
one form-based layer. The JSON follows real Kibana 8.x exports (form-based
datasource, ``columnOrder``, index-pattern references named
``indexpattern-datasource-layer-<layerId>``); ids are deterministic so the
generated NDJSON is stable and diffable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Body = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Column:
    """One Lens column; ``helpers`` are the hidden sub-columns a formula needs."""

    id: str
    spec: Body
    helpers: tuple[tuple[str, Body], ...] = ()


def _labelled(label: str | None, default: str) -> Body:
    return {"label": label, "customLabel": True} if label else {"label": default}


def _filter(kql: str | None) -> Body:
    return {"filter": {"query": kql, "language": "kuery"}} if kql else {}


def date_histogram(column_id: str = "time", field_name: str = "@timestamp") -> Column:
    """Time buckets on ``field_name`` with Kibana's automatic interval."""
    return Column(
        column_id,
        {
            "label": field_name,
            "dataType": "date",
            "operationType": "date_histogram",
            "sourceField": field_name,
            "isBucketed": True,
            "scale": "interval",
            "params": {"interval": "auto", "includeEmptyRows": True, "dropPartials": False},
        },
    )


def count(column_id: str, label: str | None = None, *, kql: str | None = None) -> Column:
    """Number of documents (optionally only those matching ``kql``)."""
    return Column(
        column_id,
        {
            **_labelled(label, "Count of records"),
            "dataType": "number",
            "operationType": "count",
            "sourceField": "___records___",
            "isBucketed": False,
            "scale": "ratio",
            "params": {"emptyAsNull": True},
            **_filter(kql),
        },
    )


def metric(
    operation: str,
    field_name: str,
    column_id: str,
    label: str | None = None,
    *,
    kql: str | None = None,
    data_type: str = "number",
    **params: Any,
) -> Column:
    """A metric over one field: ``average``, ``max``, ``percentile``, ``last_value``…"""
    if operation == "last_value":
        params.setdefault("sortField", "@timestamp")
    elif data_type == "number":
        params.setdefault("emptyAsNull", True)
    return Column(
        column_id,
        {
            **_labelled(label, f"{operation} of {field_name}"),
            "dataType": data_type,
            "operationType": operation,
            "sourceField": field_name,
            "isBucketed": False,
            "scale": "ratio" if data_type == "number" else "ordinal",
            "params": params,
            **_filter(kql),
        },
    )


def terms(
    field_name: str,
    column_id: str,
    label: str | None = None,
    *,
    size: int = 10,
    order_by: str | None = None,
    secondary: tuple[str, ...] = (),
    other_bucket: bool = False,
    missing_bucket: bool = False,
) -> Column:
    """Top values of a keyword field (several fields: Kibana's multi-terms).

    ``order_by`` is the id of a metric column in the same layer; without it the
    buckets are ordered alphabetically.
    """
    order: Body = {"type": "column", "columnId": order_by} if order_by else {"type": "alphabetical"}
    params: Body = {
        "size": size,
        "orderBy": order,
        "orderDirection": "desc" if order_by else "asc",
        "otherBucket": other_bucket,
        "missingBucket": missing_bucket,
        "parentFormat": {"id": "multi_terms" if secondary else "terms"},
        "include": [],
        "exclude": [],
        "includeIsRegex": False,
        "excludeIsRegex": False,
    }
    if secondary:
        params["secondaryFields"] = list(secondary)
    return Column(
        column_id,
        {
            **_labelled(label, f"Top {size} values of {field_name}"),
            "dataType": "string",
            "operationType": "terms",
            "sourceField": field_name,
            "isBucketed": True,
            "scale": "ordinal",
            "params": params,
        },
    )


def share_of_documents(column_id: str, label: str, kql: str) -> Column:
    """Formula ``count(kql='…') / count()``: the share of documents matching ``kql``.

    Lens stores a formula together with the sub-columns it was parsed into
    (two counts and a ``math`` node), exactly as the editor would save it.
    """
    formula = f"count(kql='{kql}') / count()"
    part, whole, ratio = (f"{column_id}X{i}" for i in range(3))
    helper: Body = {
        "label": f"Part of {label}",
        "customLabel": True,
        "dataType": "number",
        "isBucketed": False,
        "scale": "ratio",
    }
    counted: Body = {
        **helper,
        "operationType": "count",
        "sourceField": "___records___",
        "params": {"emptyAsNull": False},
    }
    math: Body = {
        **helper,
        "operationType": "math",
        "params": {
            "tinymathAst": {
                "type": "function",
                "name": "divide",
                "args": [part, whole],
                "location": {"min": 0, "max": len(formula)},
                "text": formula,
            }
        },
        "references": [part, whole],
    }
    return Column(
        column_id,
        {
            "label": label,
            "customLabel": True,
            "dataType": "number",
            "operationType": "formula",
            "isBucketed": False,
            "scale": "ratio",
            "params": {
                "formula": formula,
                "isFormulaBroken": False,
                "format": {"id": "percent", "params": {"decimals": 1}},
            },
            "references": [ratio],
        },
        helpers=(
            (part, {**counted, "filter": {"query": kql, "language": "kuery"}}),
            (whole, counted),
            (ratio, math),
        ),
    )


@dataclass(frozen=True, slots=True)
class Visualization:
    """A by-value Lens visualization over one layer of one data view."""

    title: str
    visualization_type: str
    data_view: str
    layer_id: str
    columns: tuple[Column, ...]
    visualization: Body
    query: str = ""
    description: str = ""
    ignore_global_filters: bool = False
    """Follow only the dashboard's time range, not its filters (other data views' fields)."""

    @property
    def reference_name(self) -> str:
        """Name of the layer's data view reference inside the Lens attributes."""
        return f"indexpattern-datasource-layer-{self.layer_id}"

    def attributes(self) -> Body:
        """The Lens saved-object attributes (``embeddableConfig.attributes``)."""
        columns: Body = {}
        for column in self.columns:
            columns[column.id] = column.spec
            columns.update(dict(column.helpers))
        return {
            "title": self.title,
            "description": self.description,
            "visualizationType": self.visualization_type,
            "type": "lens",
            "references": [
                {"type": "index-pattern", "id": self.data_view, "name": self.reference_name}
            ],
            "state": {
                "visualization": self.visualization,
                "query": {"query": self.query, "language": "kuery"},
                "filters": [],
                "datasourceStates": {
                    "formBased": {
                        "layers": {
                            self.layer_id: {
                                "columns": columns,
                                "columnOrder": list(columns),
                                "incompleteColumns": {},
                                "sampling": 1,
                                "ignoreGlobalFilters": self.ignore_global_filters,
                            }
                        }
                    },
                    "textBased": {"layers": {}},
                },
                "internalReferences": [],
                "adHocDataViews": {},
            },
        }


_AXES = {"x": True, "yLeft": True, "yRight": True}


def xy(
    title: str,
    data_view: str,
    layer_id: str,
    *,
    x: Column,
    ys: tuple[Column, ...],
    split: Column | None = None,
    series: str = "line",
    query: str = "",
    description: str = "",
) -> Visualization:
    """A time series or bar chart: ``ys`` against ``x``, optionally split by ``split``."""
    layer: Body = {
        "layerId": layer_id,
        "layerType": "data",
        "seriesType": series,
        "xAccessor": x.id,
        "accessors": [y.id for y in ys],
    }
    if split is not None:
        layer["splitAccessor"] = split.id
    visualization = {
        "legend": {"isVisible": True, "position": "right"},
        "valueLabels": "hide",
        "fittingFunction": "None",
        "axisTitlesVisibilitySettings": _AXES,
        "tickLabelsVisibilitySettings": _AXES,
        "gridlinesVisibilitySettings": _AXES,
        "labelsOrientation": {"x": 0, "yLeft": 0, "yRight": 0},
        "preferredSeriesType": series,
        "layers": [layer],
    }
    columns = (x, *([split] if split else []), *ys)
    return Visualization(
        title, "lnsXY", data_view, layer_id, columns, visualization, query, description
    )


def single_metric(
    title: str, data_view: str, layer_id: str, value: Column, *, query: str = ""
) -> Visualization:
    """One big number."""
    visualization = {"layerId": layer_id, "layerType": "data", "metricAccessor": value.id}
    return Visualization(title, "lnsMetric", data_view, layer_id, (value,), visualization, query)


def table(
    title: str,
    data_view: str,
    layer_id: str,
    columns: tuple[Column, ...],
    *,
    sort_by: str,
    query: str = "",
    description: str = "",
) -> Visualization:
    """A data table; rows are the bucketed columns, sorted descending by ``sort_by``."""
    visualization = {
        "layerId": layer_id,
        "layerType": "data",
        "columns": [{"columnId": c.id, "isTransposed": False} for c in columns],
        "sorting": {"columnId": sort_by, "direction": "desc"},
    }
    return Visualization(
        title, "lnsDatatable", data_view, layer_id, columns, visualization, query, description
    )


@dataclass(frozen=True, slots=True)
class Placed:
    """A visualization at a place on the dashboard grid (48 columns wide)."""

    visualization: Visualization
    x: int
    y: int
    w: int
    h: int
    panel_index: str = field(default="")
