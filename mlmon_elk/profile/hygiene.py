"""Warnings about training columns that are probably not features (pure).

The baseline builder asks :func:`column_warnings` about every profiled column
and records what it says in the baseline (``warnings:``) and on stderr. Nothing
here changes a kind or drops a column: a warning names the column, what was
seen, what it will do to the checks, and the flag that fixes it.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from mlmon_elk.contract import Kind, Role
from mlmon_elk.profile.values import TypedColumn

MIN_ROWS_FOR_ID = 1_000
"""Fewer rows than this cannot tell an id from a feature with many values."""
ID_DISTINCT_SHARE = 0.95
"""A string or integer column this distinct is an id: every value would be unseen."""
CODED_MAX_DISTINCT = 30
"""An integer column with at most this many distinct values (and at least
:data:`CODED_MIN_DISTINCT`) may hold category codes."""
CODED_MIN_DISTINCT = 3
MOSTLY_NUMERIC = 0.9
"""A categorical column whose values parse as numbers this often is a numeric
column spoiled by a few strings (``"NA"``, ``"?"``)."""
TIMESTAMP_SHARE = 0.9
SAMPLE = 2_000
"""Values inspected for timestamps and numbers (enough to judge, cheap on 1M rows)."""

_TARGET_NAME = re.compile(
    r"^(target|label|labels|y|class|outcome|ground_?truth|is_?fraud|churn(ed)?|default(ed)?)$"
    r"|(^|_)(target|label)($|_)",
    re.IGNORECASE,
)
_TIMESTAMPISH = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?")


def column_warnings(
    raw: str, role: Role, kind: Kind, typed: TypedColumn, *, declared: bool
) -> list[str]:
    """What looks wrong with one training column (empty when nothing does)."""
    out: list[str] = []
    if role is Role.INPUT and _TARGET_NAME.search(raw):
        out.append(
            f"column {raw!r} is named like a target: if it is the label, --ignore {raw}"
            f" (or --output {raw} if the model returns it); as an input it is profiled as one"
        )
    if kind is Kind.NUM:
        values = typed.number[typed.mask(Kind.NUM)]
        out += _numeric_warnings(raw, values, declared=declared)
    else:
        strings = typed.string[typed.mask(kind)]
        scalars = pd.Series([s for s in strings if isinstance(s, str)], dtype=object)
        out += _string_warnings(raw, scalars, text=kind is Kind.TEXT)
    return out


def _numeric_warnings(raw: str, values: np.ndarray, *, declared: bool) -> list[str]:
    if values.size == 0:
        return []
    distinct = np.unique(values)
    if distinct.size == 1:
        return [_constant(raw, f"{distinct[0]:g}")]
    integral = bool(np.all(np.equal(np.mod(distinct, 1), 0)))
    # Integer measures (amounts in whole dollars) are often nearly distinct;
    # only an integer column without a single repeat reads as an id.
    if integral and values.size >= MIN_ROWS_FOR_ID and distinct.size == values.size:
        return [
            f"column {raw!r} looks like an id ({distinct.size:,} distinct integers in"
            f" {values.size:,} rows, none repeated): as a feature its drift is meaningless;"
            f" --ignore {raw}"
        ]
    if integral and not declared and CODED_MIN_DISTINCT <= distinct.size <= CODED_MAX_DISTINCT:
        shown = ", ".join(f"{x:g}" for x in distinct[:8]) + (", …" if distinct.size > 8 else "")
        return [
            f"column {raw!r} has only {distinct.size} distinct integer values ({shown}): if they"
            f" are category codes, rebuild with --kind {raw}=cat to get category_shift and"
            " unseen_categories naming the codes (the serving app can keep sending numbers);"
            " kept numeric"
        ]
    return []


def _string_warnings(raw: str, values: pd.Series, *, text: bool) -> list[str]:
    if values.empty:
        return []
    sample = values.sample(min(SAMPLE, len(values)), random_state=0)
    if sample.str.match(_TIMESTAMPISH).mean() >= TIMESTAMP_SHARE:
        return [
            f"column {raw!r} holds timestamps as text (e.g. {sample.iloc[0]!r}): every new"
            f" time is unseen; --ignore {raw}, or derive features (hour, weekday)"
        ]
    if text:
        return []
    counts = values.value_counts()
    if len(counts) == 1:
        return [_constant(raw, str(counts.index[0]))]
    numbers = pd.to_numeric(sample, errors="coerce")
    share = float(numbers.notna().mean())
    if MOSTLY_NUMERIC <= share < 1.0:
        odd = counts[pd.to_numeric(pd.Series(counts.index), errors="coerce").isna().to_numpy()]
        shown = ", ".join(repr(v) for v in odd.index[:3])
        return [
            f"column {raw!r} is mostly numbers written as text ({share:.1%} parse as numbers;"
            f" also {shown}), so it became categorical: if the serving app sends numbers,"
            " every window will be a critical type_mismatch. Make those strings nulls in the data"
            f" or rebuild with --kind {raw}=num"
        ]
    if len(values) >= MIN_ROWS_FOR_ID and len(counts) >= ID_DISTINCT_SHARE * len(values):
        return [
            f"column {raw!r} looks like an id ({len(counts):,} distinct values in"
            f" {len(values):,} rows): nearly every production value will be unseen; --ignore {raw}"
        ]
    return []


def _constant(raw: str, value: str) -> str:
    return (
        f"column {raw!r} is constant in training (always {value!r}): it carries nothing for"
        f" the model and any other value will alert; --ignore {raw} unless that is the point"
    )


def calibration_warning(rows: int, minimum: int, fraction: float, *, given: bool) -> str:
    """Why the baseline is not calibrated, and what that means for alerts."""
    if given:
        what = f"the held-out data has {rows:,} rows, fewer than the {minimum:,} needed"
    else:
        needed = int(np.ceil(minimum / fraction)) if fraction > 0 else 0
        what = f"{rows:,} rows are too few to hold out {minimum:,} for calibration" + (
            f" (needs ≥ {needed:,} rows at holdout_fraction {fraction:g})" if needed else ""
        )
    return (
        f"not calibrated: {what}. Thresholds are then the fixed minimum effects only (no"
        " allowance for this data's natural variation, so seasonal or noisy features may"
        " alert), and expected unseen / OOV rates are Good–Turing estimates; give --holdout"
        " FILE with ≥ 1,000 rows to calibrate"
    )
