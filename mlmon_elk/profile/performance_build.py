"""The baseline's performance part: the model's predictions on held-out rows against the target.

The baseline builder has no model: the user passes the column(s) holding the
model's predictions on the held-out rows (``--target late --prediction score``).
Which column is what is read from the data:

* a categorical target (strings, bools, or integers with at most
  ``MAX_CLASSES`` distinct values) makes a classifier; a numeric prediction
  column with values in [0, 1] is the score of the positive class (binary
  targets only), any other prediction column is the predicted label;
* otherwise the model is a regressor and its one prediction column the predicted value.

Labels are keywords by the same rule as the handler's (:func:`label_text`),
so ``1``, ``1.0`` and ``True``/``"true"`` compare as the serving side logs them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mlmon_elk.contract import sanitize_name
from mlmon_elk.errors import BaselineError
from mlmon_elk.producer.outcomes import label_text
from mlmon_elk.profile.performance import PerformanceProfile, ResidualSums, Task

MAX_CLASSES = 50
"""More distinct integer target values than this make a regression target."""


def labels_of(column: pd.Series) -> pd.Series:
    """Keyword labels of a column (``None`` where a value has no label)."""
    return column.map(label_text, na_action="ignore").astype(object).where(column.notna(), None)


def infer_task(target: pd.Series) -> Task:
    """Classification for labels, regression for continuous numbers."""
    values = target.dropna()
    if values.empty:
        msg = f"target column {target.name!r} has no values"
        raise BaselineError(msg)
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return Task.CLASSIFICATION
    integral = bool(np.all(np.mod(values.to_numpy(dtype=float), 1.0) == 0))
    return Task.CLASSIFICATION if integral and values.nunique() <= MAX_CLASSES else Task.REGRESSION


def performance_profile(
    frame: pd.DataFrame,
    *,
    target: str,
    predictions: Sequence[str],
    positive: str | None = None,
    threshold: float = 0.5,
    score_bins: int = 20,
    task: Task | None = None,
) -> PerformanceProfile:
    """Measure the model's held-out performance from ``frame``'s target and prediction columns.

    Raises:
        BaselineError: a column is missing, or the columns do not describe a
            classifier or regressor (the message says which).
    """
    for column in (target, *predictions):
        if column not in frame.columns:
            msg = f"performance: column {column!r} is not in the held-out data"
            raise BaselineError(msg)
    if not predictions:
        msg = "performance: --target needs the model's prediction column(s) (--prediction)"
        raise BaselineError(msg)
    task = task or infer_task(frame[target])
    if task is Task.REGRESSION:
        return _regression(frame, target, predictions)
    actual = labels_of(frame[target])
    classes = tuple(sorted({str(c) for c in actual.dropna()}))
    score_col = next((c for c in predictions if _is_score(frame[c])), None)
    label_col = next((c for c in predictions if c != score_col), None)
    if score_col is not None:
        if len(classes) != 2:
            msg = (
                f"performance: score column {score_col!r} needs a binary target;"
                f" {target!r} has {len(classes)} classes"
            )
            raise BaselineError(msg)
        chosen = positive if positive is not None else _default_positive(classes)
        if chosen not in classes:
            msg = f"performance: positive class {chosen!r} is not one of {list(classes)}"
            raise BaselineError(msg)
        scores = pd.to_numeric(frame[score_col], errors="coerce")
        keep = actual.notna().to_numpy() & scores.notna().to_numpy()
        s = scores.to_numpy(dtype=float)[keep]
        is_positive = (actual.to_numpy()[keep] == chosen).astype(np.int64)
        edges = score_edges(s, score_bins, threshold)
        bins = np.searchsorted(np.asarray(edges), s, side="right")
        size = len(edges) + 1
        return PerformanceProfile(
            task=Task.CLASSIFICATION,
            target=target,
            rows=int(keep.sum()),
            score=sanitize_name(score_col),
            predicted=sanitize_name(label_col) if label_col is not None else None,
            classes=classes,
            positive=chosen,
            threshold=threshold,
            edges=edges,
            bin_rows=tuple(int(n) for n in np.bincount(bins, minlength=size)),
            bin_positives=tuple(
                int(n) for n in np.bincount(bins, weights=is_positive, minlength=size)
            ),
        )
    if label_col is None:  # pragma: no cover - predictions is not empty
        msg = "performance: no prediction column"
        raise BaselineError(msg)
    predicted = labels_of(frame[label_col])
    pairs = pd.DataFrame({"a": actual, "p": predicted}).dropna()
    confusion = {
        (str(a), str(b)): int(n)
        for a, b, n in pairs.groupby(["a", "p"]).size().reset_index().itertuples(index=False)
    }
    return PerformanceProfile(
        task=Task.CLASSIFICATION,
        target=target,
        rows=len(pairs),
        predicted=sanitize_name(label_col),
        classes=classes,
        confusion=confusion,
    )


def score_edges(scores: np.ndarray, bins: int, threshold: float) -> tuple[float, ...]:
    """Interior edges at the score's quantiles, with the threshold as one of them.

    Quantile bins give the binned ROC AUC its resolution where the scores are;
    the threshold edge makes accuracy exact. Edges are rounded to 6 digits (the
    YAML stays readable) and deduplicated.
    """
    quantiles = np.quantile(scores, np.linspace(0, 1, bins + 1)[1:-1]) if len(scores) else []
    edges = {round(float(q), 6) for q in quantiles} | {threshold}
    return tuple(sorted(edges))


def _regression(frame: pd.DataFrame, target: str, predictions: Sequence[str]) -> PerformanceProfile:
    if len(predictions) != 1:
        msg = f"performance: a regression target takes one prediction column, got {predictions}"
        raise BaselineError(msg)
    actual = pd.to_numeric(frame[target], errors="coerce")
    predicted = pd.to_numeric(frame[predictions[0]], errors="coerce")
    residual = (predicted - actual).dropna().to_numpy(dtype=float)
    residual = residual[np.isfinite(residual)]
    return PerformanceProfile(
        task=Task.REGRESSION,
        target=target,
        rows=len(residual),
        predicted=sanitize_name(predictions[0]),
        residuals=ResidualSums(
            count=len(residual),
            sum=float(residual.sum()),
            sum_squares=float(np.square(residual).sum()),
            sum_positive=float(residual[residual >= 0].sum()),
            sum_negative=float(residual[residual < 0].sum()),
        ),
    )


def _is_score(column: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
        return False
    values = column.dropna().to_numpy(dtype=float)
    if not len(values) or values.min() < 0 or values.max() > 1:
        return False
    # 0/1 predicted labels are labels, not scores.
    return not bool(np.all(np.mod(values, 1.0) == 0))


def _default_positive(classes: tuple[str, ...]) -> str:
    for usual in ("true", "1", "yes", "positive"):
        if usual in classes:
            return usual
    return classes[-1]
