"""The metric conventions and tests every check uses (DESIGN.md §5), pure and vectorised.

Distribution metrics take *proportions* (last axis = bins) and broadcast over
leading axes, like PSI (:mod:`mlmon_elk.profile.stats`, which the baseline
calibration shares with the checks).

Conventions, fixed here and nowhere else (PSI's in ``profile.stats``):

* Jensen–Shannon *distance*, log base 2, in ``[0, 1]``;
* L∞ = max |a − e|;
* binned KS = max |CDF_a − CDF_e| at the baseline's bin edges.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from mlmon_elk.profile import distributions

FloatArray = NDArray[np.float64]


def js_distance(expected: ArrayLike, observed: ArrayLike) -> FloatArray:
    """Jensen–Shannon distance, log base 2 (0 = identical, 1 = disjoint)."""
    e = np.asarray(expected, dtype=float)
    a = np.asarray(observed, dtype=float)
    m = (e + a) / 2

    def kl(p: FloatArray) -> FloatArray:
        ratio = np.divide(p, m, out=np.ones_like(p), where=p > 0)
        return np.asarray(np.sum(p * np.log2(ratio), axis=-1))

    return np.sqrt(np.clip((kl(e) + kl(a)) / 2, 0.0, 1.0))


def linf(expected: ArrayLike, observed: ArrayLike) -> FloatArray:
    """Largest absolute change of one bin's proportion."""
    return np.asarray(
        np.max(np.abs(np.asarray(observed, float) - np.asarray(expected, float)), axis=-1)
    )


def binned_ks(expected: ArrayLike, observed: ArrayLike) -> FloatArray:
    """Kolmogorov–Smirnov distance evaluated at the bin edges only."""
    diff = np.cumsum(np.asarray(observed, float), axis=-1) - np.cumsum(
        np.asarray(expected, float), axis=-1
    )
    return np.asarray(np.max(np.abs(diff), axis=-1))


def chi2_homogeneity(
    expected: ArrayLike, reference_n: float, observed_counts: ArrayLike
) -> tuple[float, int, float]:
    """Pearson χ² test that window counts come from the baseline's distribution.

    Two-sample: the baseline is itself a sample of ``reference_n`` values with
    proportions ``expected``, so its noise is part of the test (treating it as
    exact would overstate significance when windows are large). With
    ``reference_n <= 0`` it is a goodness-of-fit test against exact proportions.
    Bins empty in both samples are dropped.

    Returns:
        ``(statistic, degrees of freedom, p-value)``.
    """
    e = np.asarray(expected, dtype=float)
    a = np.asarray(observed_counts, dtype=float)
    n = a.sum()
    if n <= 0:
        return 0.0, 0, 1.0
    if reference_n > 0:
        b = e * reference_n
        keep = (a + b) > 0
        a, b = a[keep], b[keep]
        q = (a + b) / (n + reference_n)
        stat = float(
            np.sum((a - n * q) ** 2 / (n * q) + (b - reference_n * q) ** 2 / (reference_n * q))
        )
    else:
        keep = e > 0
        if np.any(a[~keep] > 0):
            return float("inf"), max(int(keep.sum()), 1), 0.0
        a, e = a[keep], e[keep]
        stat = float(np.sum((a - n * e) ** 2 / (n * e)))
    df = max(int(a.size) - 1, 1)
    return stat, df, distributions.chi2_sf(stat, df)


def ks_pvalue(d: float, n: float, m: float) -> float:
    """Two-sample Kolmogorov–Smirnov p-value of a CDF gap ``d`` between samples of
    ``n`` and ``m`` values (asymptotic; on binned CDFs ``d`` is a lower bound of the
    true statistic, so the test is conservative). Outliers barely move it."""
    if d <= 0 or n <= 0 or m <= 0:
        return 1.0
    return distributions.kolmogorov_sf(d * np.sqrt(n * m / (n + m)))


def max_share_pvalue(
    expected: ArrayLike, observed_counts: ArrayLike, reference_n: float, bins: int | None = None
) -> float:
    """Bonferroni-corrected two-sample z-test of the bin whose share moved most.

    The test of one category's share, as opposed to χ² over every bin, which a
    bin of unseen values or rare ids can make significant on its own. Only the
    first ``bins`` bins are candidates (all by default); shares are of the total.
    """
    e = np.asarray(expected, dtype=float)
    c = np.asarray(observed_counts, dtype=float)
    n = float(c.sum())
    if n <= 0 or reference_n <= 0:
        return 1.0
    e, o = e[:bins], (c / n)[:bins]
    var = np.clip(e * (1 - e), 1e-12, None) * (1 / n + 1 / reference_n)
    z = np.abs(o - e) / np.sqrt(var)
    return float(min(1.0, 2 * distributions.norm_sf(z.max()) * e.size))


def rate_rise_pvalue(hits: int, n: int, expected_rate: float, reference_n: float = 0.0) -> float:
    """One-sided p-value that a window's rate ``hits / n`` exceeds ``expected_rate``.

    With a reference sample size (``reference_n > 0``) this is Fisher's exact
    test (hypergeometric tail) of the window against the reference's
    ``expected_rate · reference_n`` hits; without, an exact binomial tail. Exact
    tests keep small counts honest — a normal approximation calls three unseen
    values in 5,000 rows "p = 1e-12".
    """
    if n <= 0 or hits <= 0:
        return 1.0
    if reference_n > 0:
        m = round(reference_n)
        ref_hits = min(max(round(expected_rate * m), 0), m)
        return distributions.hypergeom_sf(hits - 1, m + n, ref_hits + hits, n)
    return distributions.binom_sf(hits - 1, n, min(max(expected_rate, 0.0), 1.0))


def zero_rate_pvalue(hits: int, n: int, reference_n: float) -> float:
    """Exact unconditional one-sided p-value of ``hits`` in ``n`` window trials when
    ``reference_n`` reference trials had none (a rate that was zero in training).

    Under the null hypothesis window and reference share one rate ``r``, unknown
    and possibly tiny. The p-value is the largest chance, over every ``r``, of
    what was seen or more extreme — none in the reference and at least ``hits``
    in the window::

        p = sup_r P(Binomial(n, r) >= hits) · (1 − r)^reference_n

    Rejecting when ``p <= alpha`` rejects exactly on "no reference hit and at
    least k* window hits", k* the fewest hits with ``p <= alpha``, an event of
    probability ``(1 − r)^m · P(Binomial(n, r) >= k*) <= p(k*) <= alpha`` at
    every ``r``: the size holds whatever the true rate. Fisher's test instead
    conditions on the total count, which a tiny rate makes a poor guide. The
    product is log-concave in ``r`` (a Beta CDF times a power of ``1 − r``), so
    successively finer grids on ``log r`` around the best point find the maximum.
    """
    if hits <= 0 or n <= 0:
        return 1.0
    if reference_n <= 0:
        return 1.0  # nothing showed the zero: r near 1 explains any count
    k, m = min(hits, n), float(reference_n)
    low, high = np.log(1e-15), np.log1p(-1e-12)
    best = high
    for _ in range(4):
        log_r = np.linspace(low, high, 201)
        r = np.exp(log_r)
        with np.errstate(divide="ignore"):
            log_p = np.log(special.bdtrc(k - 1, n, r)) + m * np.log1p(-r)
        i = int(np.argmax(log_p))
        best = float(log_p[i])
        low, high = log_r[max(i - 1, 0)], log_r[min(i + 1, r.size - 1)]
    return float(min(1.0, np.exp(best)))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (family-wise error control, any dependence).

    A test is significant at family level ``alpha`` when its adjusted p-value is
    at most ``alpha``; never less powerful than Bonferroni.
    """
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (m - np.arange(m))
    adjusted = np.minimum(np.maximum.accumulate(scaled), 1.0)
    out = np.empty(m)
    out[order] = adjusted
    return [float(x) for x in out]
