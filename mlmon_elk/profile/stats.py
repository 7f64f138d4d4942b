"""The statistics a baseline's calibration shares with the checks, pure and vectorised.

PSI is the drift checks' effect *and* the metric the calibration resamples, so it
is defined here, below both, and nowhere else. Functions take *proportions* (last
axis = bins) and broadcast over leading axes: the calibration scores thousands of
resampled windows in one call with exactly the function a check applies to one.

* PSI = Σ (a − e)·ln(a / e), with both proportions clipped below at ``1e-4``;
* the calibrated bound of a metric is the ``1 − tail`` quantile of a normal
  (rate rises) or scaled χ² (PSI) fitted to its resampled values.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mlmon_elk.profile import distributions

PSI_EPSILON = 1e-4
"""Floor of proportions inside PSI's logarithm (an empty bin is not infinitely surprising)."""

FloatArray = NDArray[np.float64]


def shares(counts: ArrayLike) -> FloatArray:
    """Counts → proportions along the last axis (all-zero rows stay zero)."""
    c = np.asarray(counts, dtype=float)
    total = c.sum(axis=-1, keepdims=True)
    out: FloatArray = np.divide(c, total, out=np.zeros_like(c), where=total > 0)
    return out


def psi(expected: ArrayLike, observed: ArrayLike) -> FloatArray:
    """Population stability index of ``observed`` against ``expected`` proportions."""
    e = np.clip(np.asarray(expected, dtype=float), PSI_EPSILON, None)
    a = np.clip(np.asarray(observed, dtype=float), PSI_EPSILON, None)
    return np.asarray(np.sum((a - e) * np.log(a / e), axis=-1))


def normal_upper(values: ArrayLike, tail: float) -> float:
    """Upper ``1 − tail`` bound of a roughly normal metric from its resampled values."""
    v = np.asarray(values, dtype=float)
    return (
        float(v.mean() + distributions.norm_isf(tail) * v.std(ddof=1))
        if v.size > 1
        else float(v.mean())
    )


def scaled_chi2_upper(values: ArrayLike, tail: float) -> float:
    """Upper ``1 − tail`` bound of a non-negative quadratic metric (PSI, χ²-like).

    Under no drift such metrics behave like ``a·χ²_d``; matching the mean and
    variance of the resampled values (Welch–Satterthwaite) gives ``a`` and
    ``d``, and so a tail quantile far beyond what a few hundred resamples could
    show directly.
    """
    v = np.asarray(values, dtype=float)
    mean = float(v.mean()) if v.size else 0.0
    var = float(v.var(ddof=1)) if v.size > 1 else 0.0
    if mean <= 0 or var <= 0:
        return max(mean, 0.0)
    scale = var / (2 * mean)
    dof = 2 * mean * mean / var
    return float(scale * distributions.chi2_isf(tail, dof))
