"""Baseline hygiene: columns that are probably not features are named, never silently changed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlmon_elk.contract import Kind, Role
from mlmon_elk.profile.build import BuildOptions, build_baseline


def suspicious_frame(n: int = 3_000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    income = rng.integers(1_000, 90_000, n).astype(str).astype(object)
    income[rng.random(n) < 0.03] = "?"
    return pd.DataFrame(
        {
            "customer_id": np.arange(n) + 100_000,
            "signup": pd.date_range("2024-01-01", periods=n, freq="h").strftime("%Y-%m-%d %H:%M"),
            "SCHL": rng.choice([16, 21, 22, 7, 1], n),
            "income": income,
            "amount": rng.integers(1_000, 90_000, n),
            "country": "US",
            "label": rng.integers(0, 2, n),
            "age": rng.normal(40, 10, n),
        }
    )


def warnings_about(column: str, warnings: tuple[str, ...]) -> list[str]:
    return [w for w in warnings if w.startswith(f"column {column!r}")]


def test_each_suspicious_column_gets_one_warning_naming_the_fix() -> None:
    """Ids, timestamps as text, coded categories, numbers spoiled by strings, constants and
    target-like names each get a warning with the flag that fixes it; clean columns none."""
    baseline = build_baseline(suspicious_frame(), model="m", version="1")
    w = baseline.warnings
    assert "--ignore customer_id" in warnings_about("customer_id", w)[0]
    assert "timestamps as text" in warnings_about("signup", w)[0]
    assert "--kind SCHL=cat" in warnings_about("SCHL", w)[0]
    assert "type_mismatch" in warnings_about("income", w)[0]
    assert "'?'" in warnings_about("income", w)[0]
    assert "constant in training" in warnings_about("country", w)[0]
    assert "named like a target" in warnings_about("label", w)[0]
    # Integer amounts with repeats are not ids; a continuous measure is fine.
    assert warnings_about("amount", w) == []
    assert warnings_about("age", w) == []


def test_a_suggestion_never_switches_a_kind() -> None:
    """SCHL stays num unless declared; declared cat it is coded and no longer suggested."""
    frame = suspicious_frame()
    plain = build_baseline(frame, model="m", version="1")
    schl = plain.feature(Role.INPUT, "SCHL")
    assert schl is not None
    assert schl.kind is Kind.NUM
    declared = build_baseline(frame, model="m", version="1", kinds={"SCHL": Kind.CAT})
    schl = declared.feature(Role.INPUT, "SCHL")
    assert schl is not None
    assert schl.categorical is not None
    assert schl.categorical.coded
    assert warnings_about("SCHL", declared.warnings) == []


def test_too_few_rows_to_calibrate_says_how_many_and_what_it_means() -> None:
    """3,000 rows cannot hold out 1,000 at 20%: the warning gives the rows needed and the
    consequence for alerts; with enough rows there is no such warning."""
    small = build_baseline(suspicious_frame(), model="m", version="1")
    (note,) = [w for w in small.warnings if w.startswith("not calibrated")]
    assert "needs ≥ 5,000 rows" in note
    assert "fixed minimum effects only" in note
    big = build_baseline(
        suspicious_frame(6_000)[["age"]], model="m", version="1", options=BuildOptions()
    )
    assert big.holdout_rows == 1_200
    assert big.warnings == ()
