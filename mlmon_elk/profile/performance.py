"""Model performance as counts: the baseline's held-out performance and a window's outcomes.

Pure dataclasses (no pandas), read by the checks. Both sides are *counts on
the same bins*, so realized, estimated and baseline performance are computed
by the same functions (:mod:`mlmon_elk.checks.performance`):

* a binary classifier with a score (probability of the positive class) is
  described by a histogram of the score per actual class on fixed bins; the
  decision threshold is one of the bin edges, so accuracy and the confusion
  matrix are exact, and ROC AUC is the binned AUC (ties within a bin count
  half). The baseline's positives per bin are its *calibration*, which the
  label-free estimate (CBPE) applies to a window's score histogram;
* a classifier without a score is described by its confusion matrix;
* a regressor by the sums of its residuals (predicted − actual): count, sum,
  sum of squares, and the sums of the positive and of the negative ones
  (MAE without a per-document absolute value).

Score bins follow the numeric-bin convention of the baseline: interior edges,
half-open ``[from, to)``, open below and above.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mlmon_elk.errors import BaselineError


class Task(StrEnum):
    """What the model predicts."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"


@dataclass(frozen=True, slots=True)
class PerformanceProfile:
    """The model's performance on held-out data, recorded in the baseline (``performance:``)."""

    task: Task
    target: str
    """Column of the actual value in the training data (for people)."""
    rows: int
    """Held-out rows with both an actual value and a prediction."""
    score: str | None = None
    """Output holding the probability of the positive class (binary classifiers)."""
    predicted: str | None = None
    """Output holding the predicted label (classifiers) or value (regressors)."""
    classes: tuple[str, ...] = ()
    """Class labels seen in the held-out target, as keywords (``label_text``)."""
    positive: str | None = None
    """The class the score is the probability of."""
    threshold: float = 0.5
    """Scores at or above it predict ``positive``; one of ``edges``."""
    edges: tuple[float, ...] = ()
    """Interior edges of the score bins (strictly increasing, ``threshold`` among them)."""
    bin_rows: tuple[int, ...] = ()
    """Held-out rows per score bin (``len(edges) + 1``)."""
    bin_positives: tuple[int, ...] = ()
    """Held-out rows of the positive class per score bin: the calibration."""
    confusion: Mapping[tuple[str, str], int] = field(default_factory=dict)
    """(actual, predicted) → held-out rows (classifiers without a score)."""
    residuals: ResidualSums | None = None
    """Residual sums on held-out data (regressors)."""

    def __post_init__(self) -> None:
        if self.score is not None:
            n = len(self.edges) + 1
            if len(self.bin_rows) != n or len(self.bin_positives) != n:
                msg = f"performance: {len(self.edges)} score edges need {n} bin counts"
                raise BaselineError(msg)
            if self.threshold not in self.edges:
                msg = f"performance: the threshold {self.threshold} is not a score edge"
                raise BaselineError(msg)
            if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
                msg = f"performance: score edges must be strictly increasing: {self.edges}"
                raise BaselineError(msg)
            if self.positive is None:
                msg = "performance: a score needs the positive class"
                raise BaselineError(msg)
        if self.task is Task.REGRESSION and self.residuals is None:
            msg = "performance: a regression baseline needs its residual sums"
            raise BaselineError(msg)

    @property
    def negative(self) -> str | None:
        """The other class of a binary classifier with a score."""
        others = [c for c in self.classes if c != self.positive]
        return others[0] if len(others) == 1 else None

    @property
    def threshold_bin(self) -> int:
        """Index of the first score bin that predicts the positive class."""
        return self.edges.index(self.threshold) + 1


@dataclass(frozen=True, slots=True)
class ResidualSums:
    """Sums of residuals (predicted − actual) of a regressor."""

    count: int
    sum: float
    sum_squares: float
    sum_positive: float
    """Sum of the residuals ≥ 0."""
    sum_negative: float
    """Sum of the residuals < 0 (≤ 0)."""

    @property
    def mae(self) -> float:
        return (self.sum_positive - self.sum_negative) / self.count if self.count else math.nan

    @property
    def rmse(self) -> float:
        return math.sqrt(self.sum_squares / self.count) if self.count else math.nan

    @property
    def bias(self) -> float:
        return self.sum / self.count if self.count else math.nan


@dataclass(frozen=True, slots=True)
class OutcomeCounts:
    """One model version's outcomes whose prediction time falls in the window."""

    labelled: int
    """Outcome documents counted (with an actual value of the task's kind and
    what the task needs from the prediction)."""
    score_bins: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    """Actual class → outcomes per score bin (binary classifiers with a score)."""
    score_sums: tuple[float, ...] = ()
    """Sum of the scores per bin, all classes (calibration)."""
    confusion: Mapping[tuple[str, str], int] = field(default_factory=dict)
    """(actual, predicted) → outcomes (classifiers without a score)."""
    residuals: ResidualSums | None = None


@dataclass(frozen=True, slots=True)
class PerformanceWindow:
    """What the performance checks of one version see in one window."""

    predictions: int
    """Prediction documents of the version in the window (the labelled share's denominator)."""
    outcomes: OutcomeCounts | None = None
    scores: tuple[int, ...] | None = None
    """Predictions per score bin (for the estimate); ``None`` without a score."""


# --------------------------------------------------------------------- YAML edge


def performance_to_dict(p: PerformanceProfile) -> dict[str, Any]:
    """The YAML-ready mapping of ``p``."""
    out: dict[str, Any] = {"task": str(p.task), "target": p.target, "rows": p.rows}
    if p.score is not None:
        out["score"] = p.score
    if p.predicted is not None:
        out["predicted"] = p.predicted
    if p.classes:
        out["classes"] = list(p.classes)
    if p.score is not None:
        out.update(
            positive=p.positive,
            threshold=p.threshold,
            edges=list(p.edges),
            bin_rows=list(p.bin_rows),
            bin_positives=list(p.bin_positives),
        )
    if p.confusion:
        out["confusion"] = [[a, b, n] for (a, b), n in sorted(p.confusion.items())]
    if p.residuals is not None:
        r = p.residuals
        out["residuals"] = {
            "count": r.count,
            "sum": r.sum,
            "sum_squares": r.sum_squares,
            "sum_positive": r.sum_positive,
            "sum_negative": r.sum_negative,
        }
    return out


def performance_from_dict(data: object, where: str) -> PerformanceProfile:
    """Validate the ``performance:`` mapping of a baseline.

    Raises:
        BaselineError: naming the key that is missing or malformed.
    """
    if not isinstance(data, Mapping):
        msg = f"{where}: expected a mapping"
        raise BaselineError(msg)
    try:
        task = Task(data["task"])
        residuals = None
        if "residuals" in data:
            r = data["residuals"]
            residuals = ResidualSums(
                count=int(r["count"]),
                sum=float(r["sum"]),
                sum_squares=float(r["sum_squares"]),
                sum_positive=float(r["sum_positive"]),
                sum_negative=float(r["sum_negative"]),
            )
        return PerformanceProfile(
            task=task,
            target=str(data["target"]),
            rows=int(data["rows"]),
            score=None if data.get("score") is None else str(data["score"]),
            predicted=None if data.get("predicted") is None else str(data["predicted"]),
            classes=tuple(str(c) for c in data.get("classes", ())),
            positive=None if data.get("positive") is None else str(data["positive"]),
            threshold=float(data.get("threshold", 0.5)),
            edges=tuple(float(e) for e in data.get("edges", ())),
            bin_rows=tuple(int(n) for n in data.get("bin_rows", ())),
            bin_positives=tuple(int(n) for n in data.get("bin_positives", ())),
            confusion={(str(a), str(b)): int(n) for a, b, n in data.get("confusion", ())},
            residuals=residuals,
        )
    except BaselineError as exc:
        msg = f"{where}: {exc}"
        raise BaselineError(msg) from exc
    except (KeyError, TypeError, ValueError) as exc:
        msg = f"{where}: malformed performance profile ({type(exc).__name__}: {exc})"
        raise BaselineError(msg) from exc
