"""``category_shift``, ``numeric_drift`` and ``prediction_drift``: PSI on the baseline's bins.

Bins are the baseline's, fixed at training time: numeric features use its
quantile bins (plus the empty bins below the training minimum and above the
training maximum, so out-of-range values show); categorical features use its
top categories, "other" (seen in training, not top) and "unseen" (never seen).
Top categories expected fewer than ``min_expected_count`` times in the window
are pooled into "other", which keeps χ² valid and stops a few thousand rare ids
from turning PSI into noise at small windows.

Effect: PSI (``profile.stats.psi``). Test: Pearson χ² of the window against the
baseline, two-sample (the baseline is a finite sample too). Threshold:
``max(min_psi, calibrated PSI at this window size)``.

PSI alone is blind in two directions, so a second, scale-aware effect joins it:

* categories: a category gaining or losing ``min_share_shift`` (5 points) of
  share fires even under the PSI threshold (10% → 18% is PSI 0.06);
* numbers: a mean shift of ``min_shift_sigma`` (0.1) baseline standard
  deviations — a lower bound of Wasserstein-1 / σ — fires under the PSI
  threshold; and a PSI alert whose mean and spread both moved less than
  ``negligible_shift_sigma`` (0.05 σ) is only a notice: quantile edges
  squeezed around a point mass (a score whose lowest decile spans 0.0001)
  turn a negligible shift into PSI 0.7. Critical needs a move of
  ``min_shift_sigma`` as well.

The test is χ² over every bin combined (Bonferroni) with a test of the second
effect — the largest share change (z-test) for categories, the binned KS for
numbers (robust to a few far values, unlike a test of the mean) — which a bin
of rare or out-of-range values cannot dilute or drive.
When only the second effect is large, only its own test counts.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from mlmon_elk.checks import metrics
from mlmon_elk.checks.finding import Finding, num, pct, required, too_few
from mlmon_elk.checks.settings import CheckSettings
from mlmon_elk.checks.thresholds import threshold
from mlmon_elk.contract import Check
from mlmon_elk.errors import DataError
from mlmon_elk.profile import stats
from mlmon_elk.profile.baseline import CategoricalProfile, FeatureProfile, NumericProfile
from mlmon_elk.profile.category_bins import OTHER, UNSEEN, category_bins
from mlmon_elk.profile.window import CategoricalCounts, FeatureCounts, NumericCounts

MOVERS = 5
"""How many categories / bins that moved most are kept in the context."""


def category_vector(counts: CategoricalCounts, profile: CategoricalProfile) -> list[int]:
    """``[top…, other, unseen]`` counts of a window, checked against the baseline's top list."""
    if tuple(name for name, _ in counts.top) != profile.top_names:
        msg = "categorical counts are not on the baseline's top categories"
        raise DataError(msg)
    return [c for _, c in counts.top] + [counts.other, counts.unseen]


def values_in_baseline(feature: FeatureProfile, rows: int) -> float:
    """How many values the baseline's proportions were estimated from."""
    return rows * feature.presence * (1 - feature.null_rate)


def category_shift(
    feature: FeatureProfile,
    counts: FeatureCounts,
    settings: CheckSettings,
    baseline_rows: int,
    check: Check = Check.CATEGORY_SHIFT,
) -> Finding:
    """PSI of the window's category shares against the baseline's."""
    profile = required(feature.categorical, feature.name)
    cat = counts.categorical
    n = cat.count if cat is not None else 0
    base = Finding(check, "psi", n, feature=feature.name, role=feature.role)
    if cat is None or n < settings.min_rows:
        return _insufficient(base, n, settings)
    bins = category_bins(profile, n, settings.min_expected_count)
    observed_counts = bins.fold(category_vector(cat, profile))
    finding = _compare(
        base,
        feature,
        labels=bins.labels,
        expected=bins.expected,
        observed_counts=observed_counts,
        settings=settings,
        baseline_rows=baseline_rows,
        quote=True,
    )
    # χ² over every bin, and a test of the one share that moved most (which a
    # bin of rare or unseen values cannot dilute); Bonferroni over the two.
    # The unseen bin is unseen_categories' to judge, not a share that shifted.
    seen = len(bins.labels) - 1
    share_p = metrics.max_share_pvalue(
        bins.expected, observed_counts, values_in_baseline(feature, baseline_rows), seen
    )
    p = min(1.0, 2 * min(finding.p_value if finding.p_value is not None else 1.0, share_p))
    finding = replace(finding, p_value=p)
    observed = stats.shares(observed_counts)
    linf = float(np.max(np.abs(observed[:seen] - bins.expected[:seen])))
    if linf >= settings.min_share_shift:
        if (finding.value or 0.0) < (finding.threshold or 0.0):
            p = min(1.0, 2 * share_p)  # only the share shift is large: only its test counts
        return replace(
            finding,
            p_value=p,
            alternative=(
                f"share shift {linf * 100:.1f} pts ≥ {settings.min_share_shift * 100:.1f} pts"
            ),
        )
    return finding


def numeric_drift(
    feature: FeatureProfile,
    counts: FeatureCounts,
    settings: CheckSettings,
    baseline_rows: int,
    check: Check = Check.NUMERIC_DRIFT,
) -> Finding:
    """PSI of the window's values on the baseline's quantile bins."""
    profile = required(feature.numeric, feature.name)
    values = counts.numeric
    n = values.count if values is not None else 0
    base = Finding(check, "psi", n, feature=feature.name, role=feature.role)
    if values is None or n < settings.min_rows:
        return _insufficient(base, n, settings)
    if len(values.bins) != len(profile.shares):
        msg = (
            f"{feature.name}: {len(values.bins)} bin counts for a baseline of"
            f" {len(profile.shares)} bins"
        )
        raise DataError(msg)
    edges = profile.edges
    labels = tuple(
        f"<{num(edges[0])}" if i == 0 else f"≥{num(edges[i - 1])}"
        for i in range(len(profile.shares))
    )
    finding = _compare(
        base,
        feature,
        labels=labels,
        expected=np.asarray(profile.shares, dtype=float),
        observed_counts=np.asarray(values.bins, dtype=float),
        settings=settings,
        baseline_rows=baseline_rows,
        quote=False,
    )
    outside = (values.below_min + values.above_max) / n
    detail = f"mean {num(profile.mean)} → {num(values.mean or 0.0)}"
    if outside > 0:
        detail += f", {pct(outside)} outside the training range"
    shift = _shift_sigma(profile, values)
    # χ² over the bins (out-of-range values weigh heavily) and KS on the binned
    # CDF (a location shift; a few far values barely move it); Bonferroni over both.
    ks_p = metrics.ks_pvalue(
        float(finding.context["binned_ks"]), n, values_in_baseline(feature, baseline_rows)
    )
    chi2_p = finding.p_value if finding.p_value is not None else 1.0
    p_value = min(1.0, 2 * min(chi2_p, ks_p))
    alternative = negligible = ""
    critical: bool | None = None
    if shift is not None:
        location, spread = shift
        scale = max(location, spread)
        if location >= settings.min_shift_sigma:
            alternative = f"mean shift {location:.2f} σ ≥ {settings.min_shift_sigma:.2f} σ"
            if (finding.value or 0.0) < (finding.threshold or 0.0):
                # Only the shift is large: only the KS test speaks for it (χ² may
                # be significant from a few values beyond the training range).
                p_value = min(1.0, 2 * ks_p)
        if scale < settings.min_shift_sigma:
            critical = False  # a large PSI on a small scale is no critical
        over = (finding.value or 0.0) >= (finding.threshold or 0.0)
        # Negligible unless the move is clearly (two standard errors of the
        # window's mean) beyond the bound: small windows have noisy moments.
        margin = 2 * (values.std or 0.0) / profile.std / float(np.sqrt(n))
        if over and scale - margin < settings.negligible_shift_sigma:
            negligible = (
                f"mean and spread moved {scale:.3f} σ (± {margin:.3f}),"
                f" not clearly ≥ {settings.negligible_shift_sigma:.2f} σ:"
                " negligible on the value scale (bins squeezed around a point mass)"
            )
    context = dict(finding.context)
    context.update(
        mean_shift_sigma=shift[0] if shift else None,
        std_change_sigma=shift[1] if shift else None,
        out_of_range=outside,
        below_min=values.below_min,
        above_max=values.above_max,
        mean=values.mean,
        std=values.std,
        expected_mean=profile.mean,
        expected_std=profile.std,
    )
    return replace(
        finding,
        expected=profile.mean,
        observed=values.mean,
        detail=detail,
        context=context,
        alternative=alternative,
        negligible=negligible,
        critical=critical,
        p_value=p_value,
    )


def _shift_sigma(profile: NumericProfile, counts: NumericCounts) -> tuple[float, float] | None:
    """(|Δ mean|, |Δ std|) of the window against the baseline, in baseline σ.

    The mean shift is a lower bound of the Wasserstein-1 distance (equal to it
    for a pure location shift), measured on the values rather than on bins —
    which is what quantile bins squeezed around a point mass lack. ``None``
    for a constant baseline or a window without values.
    """
    if profile.std <= 0 or counts.mean is None or counts.std is None:
        return None
    return (
        abs(counts.mean - profile.mean) / profile.std,
        abs(counts.std - profile.std) / profile.std,
    )


def _compare(
    base: Finding,
    feature: FeatureProfile,
    *,
    labels: tuple[str, ...],
    expected: NDArray[np.float64],
    observed_counts: NDArray[np.float64],
    settings: CheckSettings,
    baseline_rows: int,
    quote: bool,
) -> Finding:
    observed = stats.shares(observed_counts)
    value = float(stats.psi(expected, observed))
    _, _, p = metrics.chi2_homogeneity(
        expected, values_in_baseline(feature, baseline_rows), observed_counts
    )
    thr, context = threshold(feature, base.check, settings.min_psi, base.count, settings)
    diff = observed - expected
    order = np.argsort(-np.abs(diff), kind="stable")[:MOVERS]
    movers = [
        {"bin": labels[i], "expected": float(expected[i]), "observed": float(observed[i])}
        for i in order
    ]
    top = movers[0]
    name = f'"{top["bin"]}"' if quote and top["bin"] not in (OTHER, UNSEEN) else top["bin"]
    context.update(
        movers=movers,
        # Every bin, so reports can draw the baseline next to the window.
        distribution={
            "bins": list(labels),
            "expected": [float(x) for x in expected],
            "observed": [float(x) for x in observed],
        },
        js_distance=float(metrics.js_distance(expected, observed)),
        linf=float(metrics.linf(expected, observed)),
        binned_ks=float(metrics.binned_ks(expected, observed)),
    )
    return replace(
        base,
        value=value,
        threshold=thr,
        p_value=p,
        expected=top["expected"],
        observed=top["observed"],
        head=f"PSI {_digits(value, thr)[0]}",
        bound=_digits(value, thr)[1],
        detail=f"{name} {pct(top['expected'])} → {pct(top['observed'])}",
        context=context,
    )


def _digits(value: float, threshold: float) -> tuple[str, str]:
    """Value and threshold with enough decimals to tell them apart (never "0.10 < 0.10")."""
    for places in (2, 3, 4):
        a, b = f"{value:.{places}f}", f"{threshold:.{places}f}"
        if a != b:
            return a, b
    return a, b


def _insufficient(base: Finding, n: int, settings: CheckSettings) -> Finding:
    return replace(base, insufficient=too_few(n, settings.min_rows))
