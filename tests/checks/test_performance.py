"""Performance metrics from counts, and the two performance checks' rule."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlmon_elk.checks.finding import decide
from mlmon_elk.checks.performance import (
    binned_auc,
    estimate,
    estimated_performance,
    expected_accuracy,
    from_confusion,
    performance,
)
from mlmon_elk.checks.settings import CheckSettings
from mlmon_elk.contract import Status
from mlmon_elk.profile.performance import (
    OutcomeCounts,
    PerformanceProfile,
    PerformanceWindow,
    ResidualSums,
    Task,
)
from mlmon_elk.profile.performance_build import performance_profile

SETTINGS = CheckSettings()


def test_binned_auc_is_the_mann_whitney_auc_on_distinct_bins() -> None:
    """With one score per bin the binned AUC equals the rank statistic exactly."""
    rng = np.random.default_rng(0)
    pos_scores = rng.integers(0, 50, 300)
    neg_scores = rng.integers(0, 50, 500)
    pos = np.bincount(pos_scores, minlength=50)
    neg = np.bincount(neg_scores, minlength=50)
    u = stats.mannwhitneyu(pos_scores, neg_scores).statistic
    assert binned_auc(pos.tolist(), neg.tolist()) == pytest.approx(u / (300 * 500))
    assert binned_auc([0, 0], [1, 2]) is None


def test_confusion_gives_accuracy_and_per_class_scores() -> None:
    m = from_confusion({("a", "a"): 8, ("a", "b"): 2, ("b", "a"): 1, ("b", "b"): 9})
    assert m.accuracy == pytest.approx(17 / 20)
    assert m.per_class["a"]["precision"] == pytest.approx(8 / 9)
    assert m.per_class["a"]["recall"] == pytest.approx(0.8)
    assert m.per_class["b"]["f1"] == pytest.approx(2 * (9 / 11) * 0.9 / (9 / 11 + 0.9))


def scored(seed: int, n: int, shift: float = 0.0) -> pd.DataFrame:
    """A calibrated score: the label is drawn with the score's probability."""
    rng = np.random.default_rng(seed)
    score = np.clip(rng.beta(2, 3, n) + shift, 0, 1)
    return pd.DataFrame({"y": rng.random(n) < score, "score": score})


def window_of(
    profile: PerformanceProfile, frame: pd.DataFrame, labelled: float = 1.0
) -> PerformanceWindow:
    edges = np.asarray(profile.edges)
    bins = np.searchsorted(edges, frame["score"].to_numpy(), side="right")
    size = len(edges) + 1
    keep = np.arange(len(frame)) < labelled * len(frame)
    y = frame["y"].to_numpy()
    return PerformanceWindow(
        predictions=len(frame),
        outcomes=OutcomeCounts(
            labelled=int(keep.sum()),
            score_bins={
                "true": tuple(np.bincount(bins[keep & y], minlength=size).tolist()),
                "false": tuple(np.bincount(bins[keep & ~y], minlength=size).tolist()),
            },
            score_sums=tuple(
                np.bincount(bins[keep], weights=frame["score"].to_numpy()[keep], minlength=size)
            ),
        ),
        scores=tuple(np.bincount(bins, minlength=size).tolist()),
    )


@pytest.fixture(scope="module")
def profile() -> PerformanceProfile:
    return performance_profile(scored(1, 50_000), target="y", predictions=["score"])


def test_the_estimate_matches_realized_performance_while_calibrated(
    profile: PerformanceProfile,
) -> None:
    """CBPE's premise: calibrated scores, unchanged concept → estimate ≈ realized, also when
    the scores move (within a bin the baseline's rate stands for the window's: large moves
    inside the open end bins make the estimate lag, documented)."""
    window = window_of(profile, scored(2, 20_000, shift=0.1))
    realized = performance(profile, window, SETTINGS).context
    assert expected_accuracy(profile, window.scores or ()) == pytest.approx(
        realized["accuracy"], abs=0.01
    )
    est = estimate(profile, window.scores or ())
    assert est.roc_auc == pytest.approx(realized["roc_auc"], abs=0.01)


def test_flipped_labels_fire_performance_not_the_estimate(profile: PerformanceProfile) -> None:
    frame = scored(3, 2000)
    flip = np.arange(2000) % 3 == 0
    frame.loc[flip, "y"] = ~frame.loc[flip, "y"]
    window = window_of(profile, frame, labelled=0.5)
    real = decide(performance(profile, window, SETTINGS), 1e-9, SETTINGS)
    assert real.status is Status.CRITICAL
    assert real.count == 1000
    assert "labelled (50.0% of 2,000 predictions)" in real.summary
    est = estimated_performance(profile, window, SETTINGS)
    assert est is not None
    assert decide(est, est.p_value, SETTINGS).status is Status.OK


def test_a_clean_window_is_ok_and_few_labels_are_insufficient(profile: PerformanceProfile) -> None:
    finding = performance(profile, window_of(profile, scored(4, 3000)), SETTINGS)
    assert decide(finding, finding.p_value, SETTINGS).status is Status.OK
    few = performance(profile, window_of(profile, scored(5, 3000), labelled=0.02), SETTINGS)
    result = decide(few, None, SETTINGS)
    assert result.status is Status.INSUFFICIENT_DATA
    assert "(min_labels)" in result.summary


def test_a_regressor_alerts_on_a_relative_rise_of_its_mae() -> None:
    rng = np.random.default_rng(6)
    base = rng.normal(0, 1, 5000)
    profile = PerformanceProfile(
        task=Task.REGRESSION,
        target="y",
        rows=len(base),
        predicted="yhat",
        residuals=sums(base),
    )
    worse = rng.normal(0.5, 1.3, 800)
    window = PerformanceWindow(800, OutcomeCounts(labelled=800, residuals=sums(worse)))
    finding = performance(profile, window, SETTINGS)
    assert finding.metric == "mae_rise"
    assert finding.value == pytest.approx(np.abs(worse).mean() / np.abs(base).mean() - 1)
    assert decide(finding, finding.p_value, SETTINGS).status.is_alert
    same = PerformanceWindow(800, OutcomeCounts(800, residuals=sums(rng.normal(0, 1, 800))))
    quiet = performance(profile, same, SETTINGS)
    assert not decide(quiet, quiet.p_value, SETTINGS).status.is_alert
    assert math.isclose(sums(base).rmse, float(np.sqrt(np.mean(base**2))))


def sums(r: np.ndarray) -> ResidualSums:
    return ResidualSums(
        count=len(r),
        sum=float(r.sum()),
        sum_squares=float((r**2).sum()),
        sum_positive=float(r[r >= 0].sum()),
        sum_negative=float(r[r < 0].sum()),
    )
