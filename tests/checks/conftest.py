"""A small synthetic baseline, built by the real builder, shared by the check tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlmon_elk.contract import Kind
from mlmon_elk.profile.baseline import Baseline
from mlmon_elk.profile.build import BuildOptions, build_baseline

WORDS = [f"w{i}" for i in range(60)]


def training_frame(n: int, seed: int = 0) -> pd.DataFrame:
    """Mixed-type training rows: numeric, categorical, text and a score output."""
    rng = np.random.default_rng(seed)
    x = rng.normal(50, 10, n)
    x[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "color": rng.choice(["red", "green", "blue", "cyan"], n, p=[0.4, 0.3, 0.2, 0.1]),
            "note": [" ".join(rng.choice(WORDS, 5)) for _ in range(n)],
            "score": rng.beta(2, 5, n),
        }
    )


@pytest.fixture(scope="session")
def baseline() -> Baseline:
    return build_baseline(
        training_frame(20_000),
        model="m",
        version="1",
        options=BuildOptions(
            outputs=frozenset({"score"}), kinds={"note": Kind.TEXT}, window_sizes=(500, 5_000)
        ),
    )
