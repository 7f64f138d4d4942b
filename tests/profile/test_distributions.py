"""The tail probabilities from scipy.special agree with scipy.stats wherever they are used."""

from __future__ import annotations

import itertools

import pytest
from scipy import stats

from mlmon_elk.profile import distributions as d


def close(a: float, b: float) -> bool:
    return a == pytest.approx(b, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(
    ("x", "df"), list(itertools.product([0.0, 0.5, 3.0, 25.0, 400.0], [1, 4, 29]))
)
def test_chi2(x: float, df: int) -> None:
    assert close(d.chi2_sf(x, df), stats.chi2.sf(x, df))
    for tail in (0.5, 1e-3, 1e-9):
        assert close(d.chi2_isf(tail, df), stats.chi2.isf(tail, df))


@pytest.mark.parametrize("z", [-3.0, 0.0, 1.5, 8.0, 30.0])
def test_normal_and_kolmogorov(z: float) -> None:
    assert close(d.norm_sf(z), stats.norm.sf(z))
    assert close(d.kolmogorov_sf(abs(z)), stats.kstwobign.sf(abs(z)))
    for tail in (0.4, 1e-4, 1e-12):
        assert close(d.norm_isf(tail), stats.norm.isf(tail))


@pytest.mark.parametrize(
    ("k", "n", "p"),
    [
        (-1, 10, 0.3),
        (0, 10, 0.3),
        (3, 10, 0.3),
        (9, 10, 0.3),
        (10, 10, 0.3),
        (0, 5000, 1e-4),
        (12, 5000, 1e-3),
        (4800, 5000, 0.95),
        (2, 200, 0.0),
        (2, 200, 1.0),
    ],
)
def test_binomial(k: int, n: int, p: float) -> None:
    assert close(d.binom_sf(k, n, p), stats.binom.sf(k, n, p))
    assert close(d.binom_cdf(k, n, p), stats.binom.cdf(k, n, p))


@pytest.mark.parametrize(
    ("k", "total", "successes", "draws"),
    [
        (-1, 100, 10, 20),
        (0, 100, 10, 20),
        (4, 100, 10, 20),
        (10, 100, 10, 20),
        (2, 25_000, 3, 5_000),
        (30, 105_000, 60, 5_000),
        (0, 50, 50, 10),
        (5, 50, 0, 10),
        (499, 100_500, 1_000, 500),
    ],
)
def test_hypergeometric(k: int, total: int, successes: int, draws: int) -> None:
    assert close(
        d.hypergeom_sf(k, total, successes, draws), stats.hypergeom.sf(k, total, successes, draws)
    )
