"""A measured check before the run-wide decision, and the rule that decides it.

Each check measures one effect (higher is always worse), its threshold and,
where a statistical test applies, a raw p-value. Only when the whole run is
measured can the multiple-testing correction say which p-values are
significant, so checks return a :class:`Finding` and ``check_run`` turns every
finding into a :class:`CheckResult` with :func:`decide`:

* too few rows → ``insufficient_data``, never an alert;
* fires ⇔ effect ≥ threshold **and** (no test applies, or the test is
  significant after Holm's correction at ``family_alpha`` — or, for a test
  with its own per-check level ``alpha`` (the zero-rate break tests,
  ``break_alpha``), its raw p-value is at most that level);
* a firing check is ``critical`` when its effect is at least
  ``critical_factor`` × threshold (or by the check's own documented rule),
  ``warning`` otherwise;
* a check whose test is significant after correction but whose effect stays
  under the threshold is a ``notice``: a real, small change, never an alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mlmon_elk.checks.result import CheckResult
from mlmon_elk.checks.settings import CheckSettings
from mlmon_elk.contract import Check, Role, Status
from mlmon_elk.errors import BaselineError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's measurement on one feature (or the model) in one window."""

    check: Check
    metric: str
    count: int
    feature: str | None = None
    role: Role | None = None
    value: float | None = None
    """The effect, oriented so that larger is worse."""
    threshold: float | None = None
    p_value: float | None = None
    """Raw one-sided p-value; ``None`` when the effect alone decides."""
    alpha: float | None = None
    """The test's own per-check level, outside the run's correction (a
    zero-rate break test at ``break_alpha``); ``None``: Holm's at ``family_alpha``."""
    expected: float | None = None
    observed: float | None = None
    head: str = ""
    """What was seen, e.g. ``NA 2.5% → 12.6%`` or ``PSI 0.31``."""
    effect: str = ""
    """The effect when ``head`` does not already show it, e.g. ``+10.1 pts``."""
    bound: str = ""
    """The threshold as people read it, e.g. ``2.0 pts`` or ``0.10``."""
    detail: str = ""
    """What moved, e.g. ``"divorced" 12% → 31%``."""
    insufficient: str = ""
    """Why the window cannot be judged; non-empty means ``insufficient_data``."""
    critical: bool | None = None
    """Severity if it fires; ``None`` applies the ``critical_factor`` rule."""
    alternative: str = ""
    """A second effect that reached its own minimum (e.g. ``W/σ 0.15 ≥ 0.10``):
    the finding counts as large even when ``value`` is under ``threshold``."""
    negligible: str = ""
    """Why the change is negligible on the feature's own scale although
    ``value`` is large (e.g. quantile edges squeezed around a point mass): it
    can then be a ``notice`` at most."""
    context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tested(self) -> bool:
        """Takes part in the run's multiple-testing correction."""
        return self.p_value is not None and not self.insufficient and self.alpha is None


def decide(finding: Finding, p_adjusted: float | None, settings: CheckSettings) -> CheckResult:
    """The final status and message of ``finding`` (see the module docstring)."""
    f = finding
    context = dict(f.context)
    if f.insufficient:
        return _result(f, Status.INSUFFICIENT_DATA, f"insufficient data: {f.insufficient}", context)
    over = f.value is not None and f.threshold is not None and f.value >= f.threshold
    large = (over or bool(f.alternative)) and not f.negligible
    if f.alpha is not None:
        significant = f.p_value is None or f.p_value <= f.alpha
        level = f"at {f.alpha:g} per check"
        context["break_alpha"] = f.alpha
    else:
        significant = f.p_value is None or (
            p_adjusted is not None and p_adjusted <= settings.family_alpha
        )
        level = "after correction"
    if p_adjusted is not None:
        context["p_adjusted"] = p_adjusted
    status = Status.OK
    if significant and f.p_value is not None and not large:
        status = Status.NOTICE
    if large and significant:
        critical = f.critical
        if critical is None:
            critical = f.value >= settings.critical_factor * f.threshold  # type: ignore[operator]
        status = Status.CRITICAL if critical else Status.WARNING
    cmp = "≥" if over else "<"
    if f.effect:
        text = f"{f.head} ({f.effect} {cmp} {f.bound}, n={f.count:,})"
    else:
        text = f"{f.head} {cmp} {f.bound} (n={f.count:,})"
    if f.alternative and not over:
        text += f", {f.alternative}"
    if f.negligible:
        text += f", but {f.negligible}"
    if large and not significant:
        text += f" but not significant {level} (p={f.p_value:.2g})"
    if large and significant and f.alpha is not None:
        text += f", {_p(f.p_value)} ≤ {f.alpha:g} per check"
    if status is Status.NOTICE and f.alpha is not None:
        text += f", significant but small ({_p(f.p_value)} ≤ {f.alpha:g} per check): notice"
    elif status is Status.NOTICE:
        text += f", significant but small (p={p_adjusted:.2g} corrected): notice"
    if f.detail:
        text += f"; {f.detail}"
    return _result(f, status, text, context)


def _result(f: Finding, status: Status, summary: str, context: dict[str, Any]) -> CheckResult:
    return CheckResult(
        check=f.check,
        status=status,
        metric=f.metric,
        value=f.value,
        threshold=f.threshold,
        p_value=f.p_value,
        count=f.count,
        expected=f.expected,
        observed=f.observed,
        feature=f.feature,
        role=f.role,
        summary=summary,
        context=context,
    )


# ------------------------------------------------------------------ formatting


def _p(p: float | None) -> str:
    """A raw p-value; one that underflowed reads as a bound, not ``p=0``."""
    return f"p={p:.2g}" if p else "p<1e-300"


def pct(x: float) -> str:
    """A share as people read it: ``0.126`` → ``12.6%`` (small shares keep digits)."""
    if x != 0 and abs(x) < 0.001:
        return f"{x:.2%}"
    return f"{x:.1%}"


def pts(x: float) -> str:
    """A difference of shares in percentage points: ``0.101`` → ``+10.1 pts``."""
    return f"{x * 100:+.1f} pts"


def num(x: float) -> str:
    """A measured number with a sensible precision: 1,406 / 12.3 / 0.0123."""
    if x == 0 or abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def examples(pairs: tuple[tuple[str, int], ...], k: int = 3) -> str:
    """``"a" ×12, "b" ×9`` from (value, count) pairs."""
    return ", ".join(f'"{v}" ×{c:,}' for v, c in pairs[:k])


def too_few(n: int, minimum: int, what: str = "values") -> str:
    """The reason of an ``insufficient_data`` result."""
    return f"{n:,} {what} < {minimum:,} (min_rows)"


def required(part: T | None, feature: str) -> T:
    """A feature's kind-specific profile, which ``FeatureProfile`` guarantees."""
    if part is None:  # pragma: no cover - FeatureProfile.__post_init__ forbids it
        msg = f"feature {feature!r} lacks the profile of its kind"
        raise BaselineError(msg)
    return part
