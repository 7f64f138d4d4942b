"""Baselines from training data: kinds, bins, vocabularies, held-out rates and calibration."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlmon_elk.contract import Check, Kind, Role
from mlmon_elk.errors import BaselineError, DataError
from mlmon_elk.profile.baseline import dump_baseline, load_baseline
from mlmon_elk.profile.build import (
    BuildOptions,
    build_baseline,
    categorical_profile,
    numeric_profile,
    read_table,
)


def frame(n: int = 6_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n).astype(float),
            "city.name": rng.choice(["a", "b", "c"], n),
            "vip": rng.random(n) < 0.1,
            "comment": [f"the item {i} arrived broken and late" for i in range(n)],
            "zip": rng.integers(1000, 1010, n),
            "id": np.arange(n),
        }
    )


def test_kinds_names_and_roles() -> None:
    """Kinds are inferred (bool → cat, prose → text), overridable; names are sanitised."""
    b = build_baseline(
        frame(),
        model="m",
        version="1",
        options=BuildOptions(
            kinds={"zip": Kind.CAT}, outputs=frozenset({"age"}), ignore=frozenset({"id"})
        ),
    )
    kinds = {f.name: (f.kind, f.role) for f in b.features}
    assert kinds == {
        "age": (Kind.NUM, Role.OUTPUT),
        "city_name": (Kind.CAT, Role.INPUT),
        "vip": (Kind.CAT, Role.INPUT),
        "comment": (Kind.TEXT, Role.INPUT),
        "zip": (Kind.CAT, Role.INPUT),
    }
    vip = b.feature(Role.INPUT, "vip")
    assert vip is not None
    assert vip.categorical is not None
    assert set(vip.categorical.vocabulary) == {"true", "false"}
    assert b.rows + b.holdout_rows == 6_000
    assert b.holdout_rows == 1_200


def test_numeric_bins_are_quantiles_with_empty_outer_bins() -> None:
    """Deciles of the data, the minimum as first edge, the next float after the maximum as last."""
    p = numeric_profile(np.arange(1000, dtype=float), 10)
    assert p.edges[0] == 0.0
    assert p.edges[-1] == np.nextafter(999.0, np.inf)
    assert p.shares[0] == 0.0
    assert p.shares[-1] == 0.0
    assert len(p.edges) == 11
    assert all(s == pytest.approx(0.1, abs=0.002) for s in p.shares[1:-1])
    constant = numeric_profile(np.full(10, 3.0), 10)
    assert constant.shares == (0.0, 1.0, 0.0)


def test_categorical_top_other_and_good_turing_unseen() -> None:
    """Top-k shares, the rest as other; without held-out data, unseen = share of singletons."""
    values = pd.Series(["a"] * 50 + ["b"] * 30 + ["c"] * 10 + [f"s{i}" for i in range(10)])
    p = categorical_profile(values, top=2)
    assert p.top == (("a", 0.5), ("b", 0.3))
    assert p.other_share == pytest.approx(0.2)
    assert p.expected_unseen_rate == pytest.approx(0.1)
    assert p.vocabulary_size == 13
    held = categorical_profile(values, top=2, held_out=pd.Series(["a", "z", "z", "b"]))
    assert held.expected_unseen_rate == 0.5


def test_calibration_covers_checks_and_sizes_and_round_trips(tmp_path) -> None:
    """Every applicable check is calibrated per size, bounds shrink with n, YAML keeps them."""
    b = build_baseline(
        frame(), model="m", version="1", options=BuildOptions(window_sizes=(200, 2000))
    )
    city = b.feature(Role.INPUT, "city_name")
    assert city is not None
    assert set(city.calibration) == {
        Check.FEATURE_VANISHED,
        Check.MISSING_SPIKE,
        Check.CATEGORY_SHIFT,
        Check.UNSEEN_CATEGORIES,
    }
    (small, s1), (large, s2) = city.calibration[Check.CATEGORY_SHIFT].upper
    assert (small, large) == (200, 2000)
    assert s1 > s2 > 0
    comment = b.feature(Role.INPUT, "comment")
    assert comment is not None
    assert Check.TEXT_OOV in comment.calibration
    dump_baseline(b, tmp_path / "b.yaml")
    assert load_baseline(tmp_path / "b.yaml") == b


def test_small_data_is_not_calibrated() -> None:
    """Below min_holdout_rows nothing is carved out and the rates are Good–Turing estimates."""
    b = build_baseline(frame(500), model="m", version="1")
    assert b.holdout_rows == 0
    assert b.rows == 500
    assert all(not f.calibration for f in b.features)


def test_given_holdout_is_used_whole() -> None:
    """With held-out data given, the training data is profiled whole."""
    b = build_baseline(frame(3_000), model="m", version="1", holdout=frame(1_500, seed=1))
    assert (b.rows, b.holdout_rows) == (3_000, 1_500)


def test_unknown_override_is_an_error() -> None:
    """An override naming no column says so."""
    with pytest.raises(BaselineError, match=r"no column named 'nope'"):
        build_baseline(
            frame(100), model="m", version="1", options=BuildOptions(outputs=frozenset({"nope"}))
        )


def test_json_lines_keep_track_of_absent_keys(tmp_path) -> None:
    """A record without a key lowers presence; a null value raises the null rate."""
    path = tmp_path / "train.jsonl"
    rows = [{"a": 1.0, "b": "x"} if i % 4 else {"a": None} for i in range(400)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    data, absent = read_table(path)
    b = build_baseline(data, model="m", version="1", absent=absent)
    a, bb = b.feature(Role.INPUT, "a"), b.feature(Role.INPUT, "b")
    assert a is not None
    assert bb is not None
    assert (a.presence, a.null_rate) == (1.0, 0.25)
    assert (bb.presence, bb.null_rate) == (0.75, 0.0)


def test_unreadable_input_is_a_data_error(tmp_path) -> None:
    """Unknown suffixes and broken JSON lines give one clear error."""
    with pytest.raises(DataError, match="unknown format"):
        read_table(tmp_path / "x.xlsx")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\nnot json\n')
    with pytest.raises(DataError, match=r"bad\.jsonl:2: not JSON"):
        read_table(bad)


def test_shorthand_keywords_add_to_the_options() -> None:
    """kinds=, outputs= and ignore= read like the CLI flags."""
    b = build_baseline(
        frame(500), model="m", version="1", kinds={"zip": "cat"}, outputs=["age"], ignore=["id"]
    )
    zip_code, age = b.feature(Role.INPUT, "zip"), b.feature(Role.OUTPUT, "age")
    assert zip_code is not None
    assert zip_code.kind is Kind.CAT
    assert age is not None
    assert b.feature(Role.INPUT, "id") is None
    assert b.options["kinds"] == {"zip": "cat"}
