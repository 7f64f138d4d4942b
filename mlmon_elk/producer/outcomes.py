"""Ground truth: ``log_outcome`` and the outcome document (``event.dataset: mlmon.outcome``).

When the truth about a prediction becomes known (a loan defaulted, a flight
landed late), the serving app — or a batch job days later — logs it with the
prediction's id. The document goes through the same handler and transports as
predictions, to its own data stream ``logs-mlmon.outcome-<ns>``.

**The join is carried by the document.** Besides the actual value, an outcome
document carries what performance needs from its prediction: the model name
and version, the prediction's time (``mlmon.prediction_time``) and its score
or predicted value. Realized performance per window *by prediction time* is
then a pure aggregation on the outcome stream (filter on
``mlmon.prediction_time``), with no lookup of prediction documents at all. The
cost: the caller must still have these values when the outcome arrives (keep
them with the request id, or read them back from the prediction stream in the
batch job that logs outcomes); a copied value that differs from the logged
prediction is the caller's mistake and is not detected.

Never raises into the caller: a call without a prediction id or without an
actual value is counted by the handler as an encode error.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from mlmon_elk.contract import ECS_VERSION, SCHEMA_VERSION, Dataset
from mlmon_elk.producer import values as v
from mlmon_elk.producer.builder import MAX_PREDICTION_ID_CHARS, Document, DocumentBuilder
from mlmon_elk.producer.diagnostics import Diagnostics
from mlmon_elk.producer.labels import label_values
from mlmon_elk.producer.timestamps import epoch_seconds

if TYPE_CHECKING:
    from mlmon_elk.producer.api import Target

OUTCOME_ATTR: Final = "mlmon_outcome"
"""``LogRecord`` attribute carrying an :class:`OutcomeCall` (set by ``log_outcome``)."""

_diagnostics = Diagnostics()


class OutcomeCall(NamedTuple):
    """The values of one ``log_outcome`` call (see :func:`log_outcome`)."""

    prediction_id: Any
    outcome: Any
    prediction_time: float | dt.datetime | None = None
    score: Any = None
    predicted: Any = None
    labels: Mapping[Any, object] | None = None
    timestamp: float | dt.datetime | None = None
    model: str | None = None
    model_version: str | None = None

    def __repr__(self) -> str:  # short: other handlers may print the record's attributes
        return f"OutcomeCall(prediction_id={self.prediction_id!r})"


def label_text(value: object) -> str | None:
    """A class label as the keyword it is logged and compared as.

    Strings stay as they are; bools are ``"true"``/``"false"``; integers and
    integral floats are their decimal digits (``1``, ``1.0`` and ``np.int64(1)``
    are all ``"1"``, so a target column that pandas read as float still
    matches); other floats and everything unloggable have no label.
    The baseline builder applies the same function to the target column.
    """
    kind, logged = v.classify(value)
    if kind == v.CAT:
        return str(logged)
    if kind == v.NUM and float(logged).is_integer() and abs(logged) < 2**53:
        return str(int(logged))
    return None


def outcome_value(value: object) -> dict[str, Any] | None:
    """``{"num": …, "cat": …}`` of an actual or predicted value (the keys that apply).

    A number gets ``num``; a label (string, bool, integer) gets ``cat``; an
    integer gets both, so the same logging call serves classifiers with 0/1
    labels and regressors. ``None`` when the value is null or unloggable.
    """
    kind, logged = v.classify(value)
    out: dict[str, Any] = {}
    if kind == v.NUM:
        out["num"] = logged
    text = label_text(value)
    if text is not None:
        out["cat"] = text
    return out or None


def outcome_document(builder: DocumentBuilder, call: OutcomeCall) -> Document:
    """The outcome document of one call, with the handler's service, labels and model.

    Raises:
        ValueError: no prediction id, or no loggable actual value (the
            handler counts it as an encode error).
    """
    settings = builder.settings
    pid = "" if call.prediction_id is None else str(call.prediction_id)
    if not pid:
        msg = "log_outcome needs the prediction_id of the prediction it is about"
        raise ValueError(msg)
    actual = outcome_value(call.outcome)
    if actual is None:
        msg = f"outcome {call.outcome!r} of prediction {pid!r} is not a loggable value"
        raise ValueError(msg)
    now = epoch_seconds(call.timestamp)
    made = now if call.prediction_time is None else epoch_seconds(call.prediction_time)
    mlmon: Document = {
        "schema": SCHEMA_VERSION,
        "model": {
            "name": str(call.model) if call.model else settings.model,
            "version": str(call.model_version) if call.model_version else settings.model_version,
        },
        "prediction_id": pid[:MAX_PREDICTION_ID_CHARS],
        "prediction_time": builder.format_timestamp(made),
        "actual": actual,
    }
    predicted = outcome_value(call.predicted)
    if predicted is not None:
        mlmon["predicted"] = predicted
    score_kind, score = v.classify(call.score)
    if score_kind == v.NUM:
        mlmon["score"] = score
    if predicted is not None and "num" in predicted and "num" in actual:
        residual = predicted["num"] - actual["num"]
        if math.isfinite(residual):
            mlmon["residual"] = residual
    doc: Document = {
        "@timestamp": builder.format_timestamp(now),
        "ecs": {"version": ECS_VERSION},
        "event": {"kind": "event", "dataset": str(Dataset.OUTCOME)},
        "data_stream": {
            "type": "logs",
            "dataset": str(Dataset.OUTCOME),
            "namespace": settings.namespace,
        },
    }
    service = {
        "name": settings.service_name,
        "version": settings.service_version,
        "environment": settings.environment,
    }
    service = {k: val for k, val in service.items() if val is not None}
    if service:
        doc["service"] = service
    labels = {**settings.labels, **label_values(call.labels or {})}
    if labels:
        doc["labels"] = labels
    doc["mlmon"] = mlmon
    return doc


def log_outcome(
    target: Target,
    *,
    prediction_id: Any,
    outcome: Any,
    prediction_time: float | dt.datetime | None = None,
    score: Any = None,
    predicted: Any = None,
    labels: Mapping[Any, object] | None = None,
    timestamp: float | dt.datetime | None = None,
    model: str | None = None,
    model_version: str | None = None,
    level: int = logging.INFO,
) -> None:
    """Log the actual outcome of one prediction (ground truth). Never raises.

    Args:
        target: A ``logging.Logger`` (or ``LoggerAdapter``) with a
            ``PredictionHandler``, or the handler itself.
        prediction_id: The ``prediction_id`` the prediction was logged with.
        outcome: The actual value: a class label (string, bool, integer) or a number.
        prediction_time: When the prediction was made (epoch seconds or
            datetime); performance is counted in the window of this time.
            Default: now (an outcome known at prediction time).
        score: The prediction's probability of the positive class (binary classifiers).
        predicted: The prediction's label (classifiers) or value (regressors).
        labels: Flat segments, as for predictions.
        timestamp: When the outcome became known (default now).
        model: Model name instead of the handler's.
        model_version: Model version instead of the handler's.
        level: Logging level of the record (default INFO).

    Example:
        >>> import logging
        >>> log_outcome(logging.getLogger("predictions"), prediction_id="req-42",
        ...             outcome="late", score=0.71, prediction_time=1_700_000_000)
    """
    call = OutcomeCall(
        prediction_id,
        outcome,
        prediction_time,
        score,
        predicted,
        labels,
        timestamp,
        model,
        model_version,
    )
    try:
        from mlmon_elk.producer.handler import PredictionHandler

        if isinstance(target, PredictionHandler):
            target.log_outcome_call(call)
            return
        logger = target.logger if isinstance(target, logging.LoggerAdapter) else target
        if not logger.isEnabledFor(level):
            return
        record = logger.makeRecord(
            logger.name,
            level,
            "(log_outcome)",
            0,
            "mlmon outcome: prediction %s",
            (call.prediction_id,),
            None,
        )
        record.__dict__[OUTCOME_ATTR] = call
        logger.handle(record)
    except Exception as exc:  # never into the serving app
        _diagnostics.warning("log_outcome", "log_outcome failed: %r", exc)
