"""Tail probabilities for the checks and the baseline calibration, from ``scipy.special``.

``scipy.stats`` costs about a second to import — most of a cron-run ``analyze
--once`` — for seven functions that ``scipy.special`` computes directly (the
same Cephes routines ``scipy.stats`` calls). The hypergeometric tail, which
``scipy.special`` lacks, is summed from log-binomials. Tests hold each one to
``scipy.stats`` on grids of arguments.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def chi2_sf(x: float, df: float) -> float:
    """P(X > x) for a χ² variable with ``df`` degrees of freedom."""
    return float(special.chdtrc(df, x))


def chi2_isf(tail: float, df: float) -> float:
    """The x with P(X > x) = ``tail`` for χ² with ``df`` degrees of freedom."""
    return float(special.chdtri(df, tail))


def norm_sf(z: float) -> float:
    """P(Z > z) for a standard normal variable."""
    return float(special.ndtr(-z))


def norm_isf(tail: float) -> float:
    """The z with P(Z > z) = ``tail``."""
    return float(-special.ndtri(tail))


def kolmogorov_sf(x: float) -> float:
    """P(K > x) for the Kolmogorov distribution (the large-sample KS statistic, scaled)."""
    return float(special.kolmogorov(x))


def binom_sf(k: float, n: float, p: float) -> float:
    """P(X > k) for X ~ Binomial(n, p)."""
    if k < 0:
        return 1.0
    if k >= n:
        return 0.0
    return float(special.bdtrc(k, n, p))


def binom_cdf(k: float, n: float, p: float) -> float:
    """P(X ≤ k) for X ~ Binomial(n, p)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return float(special.bdtr(k, n, p))


def hypergeom_sf(k: int, total: int, successes: int, draws: int) -> float:
    """P(X > k) for X the successes in ``draws`` draws without replacement from
    ``total`` items of which ``successes`` are successes."""
    low = max(k + 1, draws - (total - successes), 0)
    high = min(draws, successes)
    if low > high:
        return 0.0 if k >= 0 else 1.0
    x = np.arange(low, high + 1, dtype=np.float64)
    log_pmf = (
        _log_choose(successes, x)
        + _log_choose(total - successes, draws - x)
        - _log_choose(total, np.float64(draws))
    )
    return float(min(1.0, np.exp(log_pmf).sum()))


def _log_choose(n: float, k: np.ndarray | np.float64) -> np.ndarray:
    return np.asarray(special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1))
