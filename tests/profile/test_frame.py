"""A DataFrame window is counted exactly like the baseline was profiled."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from mlmon_elk.contract import Kind, Role
from mlmon_elk.profile.build import BuildOptions, build_baseline
from mlmon_elk.profile.frame import window_from_frame

T = datetime(2024, 1, 1, tzinfo=UTC)


def test_window_counts_follow_the_baseline() -> None:
    """Bins, top/other/unseen, tokens, nulls, absent keys, overrides and new inputs are counted."""
    train = pd.DataFrame(
        {
            "x": np.arange(100, dtype=float),
            "c": ["a"] * 60 + ["b"] * 30 + ["z"] * 10,
            "zip": [1000] * 100,
            "t": ["hello world again and again"] * 100,
        }
    )
    b = build_baseline(
        train,
        model="m",
        version="1",
        options=BuildOptions(kinds={"zip": Kind.CAT, "t": Kind.TEXT}, top_categories=2),
    )
    window = pd.DataFrame(
        {
            "x": [5.0, 500.0, np.nan, 7.0],
            "c": ["a", "z", "new", None],
            "zip": [1000, 1000, 2000, 1000],
            "t": ["hello mars", "world", None, "again"],
            "extra": [1, 2, 3, 4],
        }
    )
    absent = {"x": np.array([False, False, False, True])}
    w = window_from_frame(window, b, start=T, end=T, absent=absent)
    x = w.feature(Role.INPUT, "x")
    assert x is not None
    assert (x.present, x.null) == (3, 1)
    assert x.numeric is not None
    assert (x.numeric.count, x.numeric.above_max) == (2, 1)
    c = w.feature(Role.INPUT, "c")
    assert c is not None
    assert c.categorical is not None
    assert c.categorical.top == (("a", 1), ("b", 0))
    assert (c.categorical.other, c.categorical.unseen) == (1, 1)
    z = w.feature(Role.INPUT, "zip")
    assert z is not None
    assert z.categorical is not None
    assert z.categorical.unseen_examples == (("2000", 1),)
    t = w.feature(Role.INPUT, "t")
    assert t is not None
    assert t.text is not None
    assert (t.text.documents, t.text.tokens, t.text.oov_tokens) == (3, 4, 1)
    assert w.present_names == {"x": 3, "c": 4, "zip": 4, "t": 4, "extra": 4}
