"""The distribution checks on the baseline's bins, and the guards around PSI."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from mlmon_elk.checks import CheckSettings, ModelJob, check_run
from mlmon_elk.checks.result import CheckResult
from mlmon_elk.contract import Check, Role, Status
from mlmon_elk.profile.build import BuildOptions, build_baseline
from mlmon_elk.profile.frame import window_from_frame
from mlmon_elk.profile.window import ModelWindow

T = datetime(2024, 1, 1, tzinfo=UTC)


def squeezed_scores(n: int, rng: np.random.Generator, shift: float = 0.0) -> pd.DataFrame:
    """A score whose lowest decile sits in [0.00005, 0.00015] (a dense cluster), the rest
    spread over (0, 1): quantile edges are squeezed around the cluster."""
    low = rng.uniform(0.00005, 0.00015, n // 10)
    rest = rng.beta(2, 2, n - n // 10)
    return pd.DataFrame({"score": np.concatenate([low, rest]) + shift, "x": rng.random(n)})


def test_squeezed_quantile_edges_make_a_negligible_shift_a_notice_not_an_alert() -> None:
    """A 0.02 σ shift moves the whole lowest decile across an edge (a large PSI): W/σ says it
    is negligible, so it is a notice; a 0.5 σ shift is critical, a 0.1 σ shift alerts."""
    rng = np.random.default_rng(0)
    baseline = build_baseline(
        squeezed_scores(20_000, rng),
        model="m",
        version="1",
        options=BuildOptions(outputs=frozenset({"score"}), window_sizes=(500, 5_000)),
    )
    f = baseline.feature(Role.OUTPUT, "score")
    assert f is not None
    assert f.numeric is not None
    sigma = f.numeric.std

    def drift(shift: float) -> CheckResult:
        frame = squeezed_scores(5_000, rng, shift * sigma)
        window = window_from_frame(frame, baseline, start=T, end=T)
        job = ModelJob(ModelWindow("m", T, T, {"1": window}), {"1": baseline}, CheckSettings())
        (result,) = [
            r for w in check_run([job]) for r in w.results if r.check is Check.PREDICTION_DRIFT
        ]
        return result

    tiny = drift(0.02)
    assert tiny.value is not None
    assert tiny.value > 0.2  # PSI alone would call it critical
    assert tiny.status is Status.NOTICE
    assert "negligible on the value scale" in tiny.summary
    assert drift(0.1).status.is_alert
    assert drift(0.5).status is Status.CRITICAL
