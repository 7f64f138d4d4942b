"""The baseline's performance part: task and columns read from the data, kept through YAML."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlmon_elk.errors import BaselineError
from mlmon_elk.profile.baseline import dump_baseline, load_baseline
from mlmon_elk.profile.build import BuildOptions, build_baseline
from mlmon_elk.profile.performance import Task
from mlmon_elk.profile.performance_build import performance_profile


def frame(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    return pd.DataFrame(
        {
            "x": x,
            "kind": rng.choice(["a", "b", "c"], n),
            "predicted_kind": rng.choice(["a", "b", "c"], n),
            "price": 10 + 3 * x + rng.normal(0, 1, n),
            "price_hat": 10 + 3 * x,
        }
    )


def test_a_multiclass_target_keeps_its_confusion_matrix(tmp_path: Path) -> None:
    """Labels without a score: a confusion matrix; the target is not a feature."""
    baseline = build_baseline(
        frame(6000),
        model="m",
        version="1",
        options=BuildOptions(target="kind", predictions=("predicted_kind",), window_sizes=(500,)),
    )
    assert "kind" not in {f.name for f in baseline.features}
    assert "predicted_kind" in {f.name for f in baseline.outputs}
    dump_baseline(baseline, tmp_path / "b.yaml")
    performance = load_baseline(tmp_path / "b.yaml").performance
    assert performance == baseline.performance
    assert performance is not None
    assert performance.task is Task.CLASSIFICATION
    assert performance.score is None
    # Measured on the rows carved out for calibration, not on the training rows.
    assert sum(performance.confusion.values()) == baseline.holdout_rows == 1200


def test_a_continuous_target_is_a_regression_with_residual_sums() -> None:
    data = frame()
    profile = performance_profile(data, target="price", predictions=["price_hat"])
    assert profile.task is Task.REGRESSION
    assert profile.residuals is not None
    residual = data["price_hat"] - data["price"]
    assert profile.residuals.mae == pytest.approx(residual.abs().mean())
    assert profile.residuals.bias == pytest.approx(residual.mean())


def test_a_score_needs_a_binary_target_and_a_known_positive_class() -> None:
    data = frame()
    data["p"] = 1 / (1 + np.exp(-data["x"]))
    with pytest.raises(BaselineError, match="needs a binary target"):
        performance_profile(data, target="kind", predictions=["p"])
    data["y"] = data["x"] > 0
    with pytest.raises(BaselineError, match="positive class 'yes' is not one of"):
        performance_profile(data, target="y", predictions=["p"], positive="yes")
    profile = performance_profile(data, target="y", predictions=["p"])
    assert (profile.positive, profile.threshold_bin) == ("true", profile.edges.index(0.5) + 1)
