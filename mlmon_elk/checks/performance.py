"""``performance`` and ``estimated_performance``: is the model getting worse?

Both compare a window with the baseline's performance on held-out data
(``PerformanceProfile``) and follow the alert rule of every check: the effect
(a drop of accuracy or ROC AUC, a relative rise of MAE) must reach a minimum
**and** be significant for the window's count after the run's correction.

* ``performance`` uses the outcomes logged for the window's predictions
  (realized performance, by prediction time). Accuracy's drop is tested with
  a one-sided binomial test against the baseline accuracy; ROC AUC's with the
  Hanley–McNeil standard error at the window's positives and negatives; the
  check takes the metric that fires (or moved most), its p-value doubled for
  the two metrics looked at. Regressors: MAE's relative rise, z-test on the
  window's absolute residuals. Fewer than ``min_labels`` outcomes →
  ``insufficient_data``.
* ``estimated_performance`` (binary classifiers with a score) needs no labels:
  it applies the baseline's calibration — the share of positives per score bin
  on held-out data — to the window's score histogram, the idea of NannyML's
  CBPE. The expected accuracy is Σ n_b·a_b / n with a_b the baseline's
  accuracy in bin b; the expected ROC AUC is the binned AUC of the expected
  positives n_b·q_b and negatives n_b·(1 − q_b). Valid while the scores stay
  calibrated and P(label | score) does not change (no concept drift); it
  detects degradation that comes from the scores moving (covariate shift),
  never a change in the relation between inputs and label.

All metrics are pure functions of counts, shared with the baseline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlmon_elk.checks.finding import Finding, pct, pts, too_few
from mlmon_elk.checks.settings import CheckSettings
from mlmon_elk.contract import Check
from mlmon_elk.profile import distributions
from mlmon_elk.profile.performance import (
    OutcomeCounts,
    PerformanceProfile,
    PerformanceWindow,
    ResidualSums,
    Task,
)

MIN_CLASS_ROWS = 10
"""ROC AUC needs at least this many labelled positives and negatives."""


@dataclass(frozen=True, slots=True)
class ClassifierMetrics:
    """Classification metrics of one set of counts."""

    count: int
    correct: int
    positives: int = 0
    negatives: int = 0
    roc_auc: float | None = None
    per_class: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """Class → precision, recall, F1 (and support)."""
    calibration_error: float | None = None
    """Expected calibration error: Σ_b |positives_b − Σ scores_b| / n."""

    @property
    def accuracy(self) -> float:
        return self.correct / self.count if self.count else math.nan


# ------------------------------------------------------------------ metrics


def binned_auc(positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    """ROC AUC of scores given as counts per ascending bin (ties in a bin count half)."""
    p_total, n_total = sum(positives), sum(negatives)
    if p_total <= 0 or n_total <= 0:
        return None
    below = 0.0
    wins = 0.0
    for p, n in zip(positives, negatives, strict=True):
        wins += p * (below + 0.5 * n)
        below += n
    return wins / (p_total * n_total)


def auc_standard_error(auc: float, positives: float, negatives: float) -> float:
    """Hanley & McNeil (1982) standard error of an AUC with these class counts."""
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    var = (
        auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)
    ) / (positives * negatives)
    return math.sqrt(max(var, 1e-12))


def per_class(confusion: Mapping[tuple[str, str], int]) -> dict[str, dict[str, float]]:
    """Precision, recall and F1 of every actual or predicted class."""
    classes = sorted({a for a, _ in confusion} | {p for _, p in confusion})
    out: dict[str, dict[str, float]] = {}
    for c in classes:
        tp = confusion.get((c, c), 0)
        predicted = sum(n for (_, p), n in confusion.items() if p == c)
        actual = sum(n for (a, _), n in confusion.items() if a == c)
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[c] = {"precision": precision, "recall": recall, "f1": f1, "support": actual}
    return out


def from_confusion(confusion: Mapping[tuple[str, str], int]) -> ClassifierMetrics:
    """Metrics of a confusion matrix (actual, predicted) → count."""
    return ClassifierMetrics(
        count=sum(confusion.values()),
        correct=sum(n for (a, p), n in confusion.items() if a == p),
        per_class=per_class(confusion),
    )


def from_score_bins(
    profile: PerformanceProfile,
    positives: Sequence[float],
    negatives: Sequence[float],
    score_sums: Sequence[float] = (),
) -> ClassifierMetrics:
    """Metrics of a binary classifier from its score histogram per class.

    Bins from ``profile.threshold_bin`` on predict the positive class.
    """
    t = profile.threshold_bin
    pos_label, neg_label = profile.positive or "1", profile.negative or "0"
    tp, fn = sum(positives[t:]), sum(positives[:t])
    fp, tn = sum(negatives[t:]), sum(negatives[:t])
    confusion = {
        (pos_label, pos_label): round(tp),
        (pos_label, neg_label): round(fn),
        (neg_label, pos_label): round(fp),
        (neg_label, neg_label): round(tn),
    }
    count = round(tp + fn + fp + tn)
    calibration = None
    if score_sums and count:
        calibration = sum(abs(p - s) for p, s in zip(positives, score_sums, strict=True)) / count
    return ClassifierMetrics(
        count=count,
        correct=round(tp + tn),
        positives=round(tp + fn),
        negatives=round(fp + tn),
        roc_auc=binned_auc(positives, negatives),
        per_class=per_class(confusion),
        calibration_error=calibration,
    )


def baseline_classifier(profile: PerformanceProfile) -> ClassifierMetrics:
    """The held-out metrics recorded in the baseline."""
    if profile.score is None:
        return from_confusion(profile.confusion)
    negatives = [r - p for r, p in zip(profile.bin_rows, profile.bin_positives, strict=True)]
    return from_score_bins(profile, profile.bin_positives, negatives)


def window_classifier(profile: PerformanceProfile, outcomes: OutcomeCounts) -> ClassifierMetrics:
    """Realized metrics of a window's outcomes."""
    if profile.score is None:
        return from_confusion(outcomes.confusion)
    size = len(profile.edges) + 1
    empty = (0,) * size
    positives = outcomes.score_bins.get(profile.positive or "", empty)
    negatives = outcomes.score_bins.get(profile.negative or "", empty)
    return from_score_bins(profile, positives, negatives, outcomes.score_sums)


def calibration_rates(profile: PerformanceProfile) -> list[float]:
    """Share of positives per score bin on held-out data (empty bins: their side's rate)."""
    t = profile.threshold_bin
    rows, pos = profile.bin_rows, profile.bin_positives
    below = sum(pos[:t]) / max(sum(rows[:t]), 1)
    above = sum(pos[t:]) / max(sum(rows[t:]), 1)
    return [
        p / r if r else (above if i >= t else below)
        for i, (r, p) in enumerate(zip(rows, pos, strict=True))
    ]


def estimate(profile: PerformanceProfile, scores: Sequence[int]) -> ClassifierMetrics:
    """Expected metrics of a window's score histogram under the baseline's calibration (CBPE)."""
    q = calibration_rates(profile)
    positives = [n * r for n, r in zip(scores, q, strict=True)]
    negatives = [n * (1 - r) for n, r in zip(scores, q, strict=True)]
    t = profile.threshold_bin
    correct = sum(positives[t:]) + sum(negatives[:t])
    return (
        ClassifierMetrics(
            count=sum(scores),
            correct=round(correct),
            positives=round(sum(positives)),
            negatives=round(sum(negatives)),
            roc_auc=binned_auc(positives, negatives),
        )
        if sum(scores)
        else ClassifierMetrics(count=0, correct=0)
    )


def expected_accuracy(profile: PerformanceProfile, scores: Sequence[int]) -> float:
    """CBPE accuracy without rounding (the estimate's headline)."""
    q = calibration_rates(profile)
    t = profile.threshold_bin
    total = sum(scores)
    if not total:
        return math.nan
    return (
        sum(n * (r if i >= t else 1 - r) for i, (n, r) in enumerate(zip(scores, q, strict=True)))
        / total
    )


def describe_baseline(profile: PerformanceProfile) -> str:
    """One line on the held-out performance a baseline records."""
    if profile.task is Task.REGRESSION and profile.residuals is not None:
        r = profile.residuals
        return (
            f"held-out performance ({profile.rows:,} rows, target {profile.target!r}):"
            f" MAE {r.mae:.4g}, RMSE {r.rmse:.4g}, bias {r.bias:+.3g}"
        )
    m = baseline_classifier(profile)
    auc = f", ROC AUC {m.roc_auc:.3f}" if m.roc_auc is not None else ""
    return (
        f"held-out performance ({profile.rows:,} rows, target {profile.target!r}):"
        f" accuracy {pct(m.accuracy)}{auc}"
    )


# ------------------------------------------------------------------- checks


@dataclass(frozen=True, slots=True)
class _Candidate:
    metric: str
    expected: float
    observed: float
    drop: float
    threshold: float
    p_value: float


def performance(
    profile: PerformanceProfile, window: PerformanceWindow, settings: CheckSettings
) -> Finding:
    """Realized performance of the window's labelled predictions against the baseline."""
    outcomes = window.outcomes or OutcomeCounts(labelled=0)
    n = outcomes.labelled
    share = n / window.predictions if window.predictions else 0.0
    labelled = f"{n:,} labelled ({pct(share)} of {window.predictions:,} predictions)"
    context: dict[str, Any] = {"labelled": n, "labelled_share": share}
    scores = window.scores
    if scores is not None and profile.score is not None and sum(scores) > 0:
        est = estimate(profile, scores)
        context["estimated_accuracy"] = expected_accuracy(profile, scores)
        context["estimated_roc_auc"] = est.roc_auc
    if n < settings.min_labels:
        return Finding(
            check=Check.PERFORMANCE,
            metric="accuracy_drop" if profile.task is Task.CLASSIFICATION else "mae_rise",
            count=n,
            feature=profile.target,
            insufficient=f"{n:,} labelled predictions < {settings.min_labels:,} (min_labels)",
            context=context,
        )
    if profile.task is Task.REGRESSION:
        return _regression(profile, outcomes, settings, context, labelled)
    baseline = baseline_classifier(profile)
    observed = window_classifier(profile, outcomes)
    context.update(_classifier_context(observed, "", baseline))
    candidates = _candidates(baseline, observed, settings)
    return _decide_candidates(
        candidates, Check.PERFORMANCE, profile, observed.count, context, labelled
    )


def estimated_performance(
    profile: PerformanceProfile, window: PerformanceWindow, settings: CheckSettings
) -> Finding | None:
    """Label-free performance estimate (binary classifiers with a score only)."""
    if profile.score is None or window.scores is None:
        return None
    n = sum(window.scores)
    context: dict[str, Any] = {}
    if window.outcomes is not None and window.outcomes.labelled:
        realized = window_classifier(profile, window.outcomes)
        context["realized_accuracy"] = realized.accuracy
        context["realized_roc_auc"] = realized.roc_auc
        context["labelled"] = window.outcomes.labelled
    if n < settings.min_rows:
        return Finding(
            check=Check.ESTIMATED_PERFORMANCE,
            metric="accuracy_drop",
            count=n,
            feature=profile.target,
            insufficient=too_few(n, settings.min_rows, "scored predictions"),
            context=context,
        )
    baseline = baseline_classifier(profile)
    est = estimate(profile, window.scores)
    accuracy = expected_accuracy(profile, window.scores)
    # Sampling noise of the estimate when nothing changed: rows drawn from the
    # baseline's score distribution, each contributing its bin's accuracy.
    q = calibration_rates(profile)
    t = profile.threshold_bin
    a = [r if i >= t else 1 - r for i, r in enumerate(q)]
    rows = sum(profile.bin_rows)
    shares = [r / rows for r in profile.bin_rows] if rows else [0.0] * len(a)
    mean = sum(s * x for s, x in zip(shares, a, strict=True))
    var = max(sum(s * x * x for s, x in zip(shares, a, strict=True)) - mean * mean, 1e-12)
    candidates = [
        _Candidate(
            "accuracy",
            baseline.accuracy,
            accuracy,
            baseline.accuracy - accuracy,
            settings.min_accuracy_drop,
            distributions.norm_sf((mean - accuracy) / math.sqrt(var / n)),
        )
    ]
    if baseline.roc_auc is not None and est.roc_auc is not None:
        candidates.append(_auc_candidate(baseline.roc_auc, est.roc_auc, est, settings))
    context.update(
        estimated_accuracy=accuracy,
        estimated_roc_auc=est.roc_auc,
        baseline_accuracy=baseline.accuracy,
        baseline_roc_auc=baseline.roc_auc,
    )
    return _decide_candidates(
        candidates, Check.ESTIMATED_PERFORMANCE, profile, n, context, f"{n:,} scored predictions"
    )


def _candidates(
    baseline: ClassifierMetrics, observed: ClassifierMetrics, settings: CheckSettings
) -> list[_Candidate]:
    p_acc = distributions.binom_cdf(observed.correct, observed.count, baseline.accuracy)
    out = [
        _Candidate(
            "accuracy",
            baseline.accuracy,
            observed.accuracy,
            baseline.accuracy - observed.accuracy,
            settings.min_accuracy_drop,
            p_acc,
        )
    ]
    if baseline.roc_auc is not None and observed.roc_auc is not None:
        out.append(_auc_candidate(baseline.roc_auc, observed.roc_auc, observed, settings))
    return out


def _auc_candidate(
    expected: float, observed: float, counts: ClassifierMetrics, settings: CheckSettings
) -> _Candidate:
    if min(counts.positives, counts.negatives) < MIN_CLASS_ROWS:
        p = 1.0  # too few of one class for a trustworthy AUC: never fires
    else:
        se = auc_standard_error(expected, counts.positives, counts.negatives)
        p = distributions.norm_sf((expected - observed) / se)
    return _Candidate("roc_auc", expected, observed, expected - observed, settings.min_auc_drop, p)


def _decide_candidates(  # noqa: PLR0917 - private, called twice
    candidates: list[_Candidate],
    check: Check,
    profile: PerformanceProfile,
    count: int,
    context: dict[str, Any],
    counted: str,
) -> Finding:
    large = [c for c in candidates if c.drop >= c.threshold]
    chosen = (
        min(large, key=lambda c: c.p_value)
        if large
        else max(candidates, key=lambda c: c.drop / c.threshold)
    )
    others = "; ".join(
        f"{_label(c.metric)} {_show(c.metric, c.expected)} → {_show(c.metric, c.observed)}"
        for c in candidates
        if c is not chosen
    )
    name = _label(chosen.metric)
    return Finding(
        check=check,
        metric=f"{chosen.metric}_drop",
        count=count,
        feature=profile.target,
        value=chosen.drop,
        threshold=chosen.threshold,
        p_value=min(1.0, chosen.p_value * len(candidates)),
        expected=chosen.expected,
        observed=chosen.observed,
        head=f"{'estimated ' if check is Check.ESTIMATED_PERFORMANCE else ''}{name}"
        f" {_show(chosen.metric, chosen.expected)} → {_show(chosen.metric, chosen.observed)}",
        effect=f"−{chosen.drop * 100:.1f} pts" if chosen.drop >= 0 else pts(-chosen.drop),
        bound=f"{chosen.threshold * 100:.1f} pts",
        detail="; ".join(x for x in (counted, others) if x),
        context=context,
    )


def _regression(
    profile: PerformanceProfile,
    outcomes: OutcomeCounts,
    settings: CheckSettings,
    context: dict[str, Any],
    labelled: str,
) -> Finding:
    base = profile.residuals
    observed = outcomes.residuals
    if base is None or observed is None or not observed.count:  # pragma: no cover - guarded
        return Finding(
            check=Check.PERFORMANCE,
            metric="mae_rise",
            count=outcomes.labelled,
            feature=profile.target,
            insufficient="no residuals",
            context=context,
        )
    context.update(_regression_context(observed, ""), **_regression_context(base, "baseline_"))
    rise = observed.mae / base.mae - 1 if base.mae > 0 else math.inf
    spread = math.sqrt(max(observed.sum_squares / observed.count - observed.mae**2, 1e-12))
    z = (observed.mae - base.mae) / (spread / math.sqrt(observed.count))
    return Finding(
        check=Check.PERFORMANCE,
        metric="mae_rise",
        count=observed.count,
        feature=profile.target,
        value=rise,
        threshold=settings.min_mae_rise,
        p_value=distributions.norm_sf(z),
        expected=base.mae,
        observed=observed.mae,
        head=f"MAE {base.mae:.3g} → {observed.mae:.3g}",
        effect=f"{rise:+.0%}",
        bound=f"{settings.min_mae_rise:.0%}",
        detail=f"{labelled}; RMSE {base.rmse:.3g} → {observed.rmse:.3g};"
        f" bias {base.bias:+.3g} → {observed.bias:+.3g}",
        context=context,
    )


def _classifier_context(
    m: ClassifierMetrics, prefix: str, baseline: ClassifierMetrics
) -> dict[str, Any]:
    return {
        f"{prefix}accuracy": m.accuracy,
        f"{prefix}roc_auc": m.roc_auc,
        f"{prefix}calibration_error": m.calibration_error,
        f"{prefix}per_class": {c: dict(v) for c, v in m.per_class.items()},
        "baseline_accuracy": baseline.accuracy,
        "baseline_roc_auc": baseline.roc_auc,
    }


def _regression_context(r: ResidualSums, prefix: str) -> dict[str, Any]:
    return {f"{prefix}mae": r.mae, f"{prefix}rmse": r.rmse, f"{prefix}bias": r.bias}


def _label(metric: str) -> str:
    return {"accuracy": "accuracy", "roc_auc": "ROC AUC"}.get(metric, metric)


def _show(metric: str, value: float) -> str:
    return pct(value) if metric == "accuracy" else f"{value:.3f}"
