"""One unit per metric, so the report's text, table and charts say the same thing.

The checks' messages speak of rate changes in percentage points ("+15.1 pts ≥
2.0 pts") and of shares in percent; the documents store both as fractions.
Everything the report prints or plots goes through :func:`unit_of`, so a chart
axis never shows ``0.02`` where the sentence above it says ``2.0 pts``.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlmon_elk.contract import Check


@dataclass(frozen=True, slots=True)
class Unit:
    """How a metric's stored value is shown: scaled, with a suffix and precision."""

    suffix: str
    scale: float = 1.0
    digits: int = 2

    def show(self, value: float | None) -> str:
        if value is None:
            return "—"
        if self.digits < 0:
            return f"{_readable(value * self.scale)}{self.suffix}"
        return f"{value * self.scale:.{self.digits}f}{self.suffix}"

    def plotted(self, value: float | None) -> float | None:
        return None if value is None else value * self.scale


POINTS = Unit(" pts", 100.0, 1)
"""A rise or drop of a rate: 0.151 → ``15.1 pts``."""
PERCENT = Unit("%", 100.0, 1)
"""A share: 0.012 → ``1.2%``."""
PLAIN = Unit("", 1.0, 2)
"""Unitless statistics such as PSI."""
MILLISECONDS = Unit(" ms", 1.0, 0)
COUNT = Unit("", 1.0, 0)
MEAN = Unit("", 1.0, -1)
"""A mean in the feature's own unit, with as many digits as its size needs."""


def _readable(x: float) -> str:
    """``44,486``, ``41.4``, ``0.217``: a handful of significant digits, no exponent."""
    size = abs(x)
    if size >= 1000:
        return f"{x:,.0f}"
    if size >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


_BY_METRIC = {
    "presence_drop": POINTS,
    "null_rate_rise": POINTS,
    "unseen_rate_rise": POINTS,
    "oov_rate_rise": POINTS,
    "psi": PLAIN,
    "type_mismatch_share": PERCENT,
    "new_feature_share": PERCENT,
    "error_rate": PERCENT,
    "unexpected_predictions": PERCENT,
    "volume_drop": PERCENT,
}


def unit_of(metric: str) -> Unit:
    """The unit of a metric's value and threshold."""
    if metric.endswith("_ms"):
        return MILLISECONDS
    return _BY_METRIC.get(metric, PLAIN)


def compared_unit(check: Check, metric: str, kind: str = "") -> Unit:
    """The unit of a result's ``expected`` and ``observed`` (baseline vs window).

    Numeric drift compares means; categorical drift the share of the category that moved most.
    """
    if check is Check.NUMERIC_DRIFT or (check is Check.PREDICTION_DRIFT and kind != "cat"):
        return MEAN
    if check is Check.VOLUME:
        return COUNT
    if metric.endswith("_ms"):
        return MILLISECONDS
    return PERCENT  # rates and shares (category_shift: the top mover's share)


def kind_of(check: Check) -> str:
    """The feature kind a check implies (``num``, ``cat``, ``text``) or ``—``."""
    return {
        Check.NUMERIC_DRIFT: "num",
        Check.CATEGORY_SHIFT: "cat",
        Check.UNSEEN_CATEGORIES: "cat",
        Check.TEXT_OOV: "text",
    }.get(check, "")
