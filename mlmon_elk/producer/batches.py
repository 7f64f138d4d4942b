"""Batches: one prediction document per row.

A batch is a pandas DataFrame, a list or tuple of mappings, a 2-D numpy array
(with ``feature_names``) or a structured numpy array. pandas and numpy are
recognised by duck typing and never imported here. Every row of a batch gets
the batch's latency (each row waited for the whole call), its own
prediction id and its own outputs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from mlmon_elk.producer.builder import Document, DocumentBuilder
from mlmon_elk.producer.call import PredictionCall


def is_batch(inputs: object) -> bool:
    """Whether ``inputs`` holds several rows rather than one prediction."""
    if inputs is None or isinstance(inputs, (Mapping, str, bytes)):
        return False
    if isinstance(inputs, (list, tuple)):
        return bool(inputs) and isinstance(inputs[0], Mapping)
    shape = getattr(inputs, "shape", None)
    if not isinstance(shape, tuple):
        return False
    if len(shape) == 2:
        return True  # DataFrame or 2-D array
    return len(shape) == 1 and bool(getattr(getattr(inputs, "dtype", None), "names", None))


def single_row(inputs: object) -> object:
    """A one-row pandas Series as the mapping it stands for; anything else unchanged."""
    if (
        not isinstance(inputs, Mapping)
        and getattr(inputs, "ndim", None) == 1
        and hasattr(inputs, "index")
        and hasattr(inputs, "to_dict")
    ):
        return inputs.to_dict()
    return inputs


def input_rows(inputs: Any, feature_names: Sequence[object] | None = None) -> list[Any]:
    """The rows of a batch, each a mapping of input name → value."""
    if isinstance(inputs, (list, tuple)):
        return list(inputs)
    if hasattr(inputs, "columns") and hasattr(inputs, "to_dict"):  # DataFrame
        return list(inputs.to_dict("records"))
    names = getattr(getattr(inputs, "dtype", None), "names", None)
    if names:  # structured array: rows are tuples
        return [dict(zip(names, row, strict=False)) for row in inputs.tolist()]
    rows = inputs.tolist()
    columns = list(feature_names) if feature_names is not None else None
    if columns is None or (rows and len(columns) != len(rows[0])):
        columns = [str(i) for i in range(len(rows[0]) if rows else 0)]
    return [dict(zip(columns, row, strict=False)) for row in rows]


def output_rows(outputs: Any, count: int) -> list[Any]:
    """One outputs value per row.

    Raises:
        ValueError: ``outputs`` does not have one entry per row.
    """
    if outputs is None:
        return [None] * count
    if hasattr(outputs, "columns") and hasattr(outputs, "to_dict"):  # DataFrame
        rows = list(outputs.to_dict("records"))
    elif isinstance(outputs, Mapping):
        columns = {key: _values(col) for key, col in outputs.items()}
        if any(col is None for col in columns.values()):  # scalars: the same for every row
            return [outputs] * count
        lengths = {len(col) for col in columns.values() if col is not None}
        if lengths != {count}:
            msg = f"outputs: columns of {sorted(lengths)} values for {count} rows"
            raise ValueError(msg)
        return [
            {key: col[i] for key, col in columns.items() if col is not None} for i in range(count)
        ]
    else:
        values = _values(outputs)
        if values is None:
            msg = "outputs: a batch needs one output per row (a list, array, Series or DataFrame)"
            raise ValueError(msg)
        rows = values
    if len(rows) != count:
        msg = f"outputs: {len(rows)} values for {count} rows"
        raise ValueError(msg)
    return rows


def id_rows(prediction_id: object, count: int) -> list[object]:
    """One prediction id per row: given ones, ``<id>-<row>`` for one string, or generated.

    Raises:
        ValueError: A sequence of ids does not have one id per row.
    """
    if prediction_id is None:
        return [None] * count
    if isinstance(prediction_id, str):
        return [f"{prediction_id}-{i}" for i in range(count)]
    ids = _values(prediction_id)
    if ids is None or len(ids) != count:
        msg = f"prediction_id: expected one string or {count} ids"
        raise ValueError(msg)
    return ids


def _values(column: object) -> list[Any] | None:
    if isinstance(column, (str, bytes, Mapping)):
        return None
    if isinstance(column, (list, tuple)):
        return list(column)
    if hasattr(column, "tolist") and getattr(column, "ndim", 0) >= 1:
        return list(column.tolist())
    return None


def batch_documents(
    builder: DocumentBuilder, call: PredictionCall, created: float | None = None
) -> tuple[list[Document], list[str]]:
    """Documents for every row of a batch call, and the problems found on the way.

    Each row is the call with that row's inputs, outputs, id and timestamp
    (``created`` when the call has none). A problem (outputs or ids that do
    not match the rows) never loses the rows: they are logged without the
    mismatched part, and the problem is returned for the handler to report.
    """
    problems: list[str] = []
    rows = input_rows(call.inputs, call.feature_names)
    try:
        outs = output_rows(call.outputs, len(rows))
    except ValueError as exc:
        problems.append(str(exc))
        outs = [None] * len(rows)
    try:
        ids = id_rows(call.prediction_id, len(rows))
    except ValueError as exc:
        problems.append(str(exc))
        ids = [None] * len(rows)
    try:
        stamps = timestamp_rows(
            call.timestamp if call.timestamp is not None else created, len(rows)
        )
    except ValueError as exc:
        problems.append(str(exc))
        stamps = [time.time()] * len(rows)
    docs = [
        builder.prediction(
            call._replace(inputs=row, outputs=out, prediction_id=pid, timestamp=stamp)
        )
        for row, out, pid, stamp in zip(rows, outs, ids, stamps, strict=True)
    ]
    return docs, problems


def timestamp_rows(timestamp: object, count: int) -> list[Any]:
    """One timestamp per row: the batch's one (now when None) or one given per row.

    Per-row timestamps are a list, tuple, array or Series (``list(df.ts)``,
    ``df.ts``, ``df.ts.to_numpy()``); each row's is checked when its document is built.

    Raises:
        ValueError: Per-row timestamps do not have one per row.
    """
    if timestamp is None:
        return [time.time()] * count  # one moment for the whole batch
    dtype = getattr(timestamp, "dtype", None)
    if getattr(dtype, "kind", None) == "M" and getattr(timestamp, "ndim", 0) == 1:
        if hasattr(timestamp, "index"):  # a pandas Series: Timestamps, time zone kept
            values: list[Any] | None = list(timestamp.tolist())  # type: ignore[attr-defined]
        else:  # numpy datetime64: microseconds, which Python's datetime holds
            values = list(timestamp.astype("datetime64[us]").tolist())  # type: ignore[attr-defined]
    else:
        values = _values(timestamp)
    if values is None:
        return [timestamp] * count
    if len(values) != count:
        msg = f"timestamp: {len(values)} values for {count} rows (the batch is logged as of now)"
        raise ValueError(msg)
    return values
