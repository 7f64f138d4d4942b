"""The latency sketch: percentiles within 0.5 % in bounded memory, exact counts and mean."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from mlmon_elk.profile.counting.quantiles import MAX_BUCKETS, RELATIVE_ACCURACY, QuantileSketch

PERCENTS = [0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 100]


def samples() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    return {
        "lognormal": rng.lognormal(3, 1.5, 20_000),
        "ties": np.repeat([0.5, 3.0, 3.0, 250.0], 1_000),
        "signed, with zeros": np.concatenate([rng.normal(0, 10, 5_000), np.zeros(300)]),
        "tiny": rng.uniform(1e-6, 2e-6, 1_000),
    }


@pytest.mark.parametrize("name", list(samples()))
def test_each_percentile_is_within_the_accuracy_of_the_value_of_its_rank(name: str) -> None:
    values = samples()[name]
    found = QuantileSketch.of(values).percentiles(PERCENTS)
    for p in PERCENTS:
        exact = float(np.percentile(values, p, method="lower"))
        assert math.isclose(found[p], exact, rel_tol=RELATIVE_ACCURACY, abs_tol=0.0), p
    assert found[0] == values.min()
    assert found[100] == values.max()


def test_chunking_and_merging_change_nothing() -> None:
    values = samples()["lognormal"]
    whole = QuantileSketch.of(values)
    chunked = QuantileSketch()
    for chunk in np.array_split(values[::-1], 37):
        chunked.add(chunk)
    merged = QuantileSketch.of(values[:7_000])
    merged.merge(QuantileSketch.of(values[7_000:]))
    for other in (chunked, merged):
        assert other.percentiles(PERCENTS) == whole.percentiles(PERCENTS)
        assert (other.count, other.mean, other.max) == (whole.count, whole.mean, whole.max)


def test_the_mean_is_the_exact_mean_correctly_rounded() -> None:
    values = np.array([1e16, 1.0, -1e16, 0.1, 3.3, 2.0**-1074, 7e-300])
    exact = sum(map(Fraction, values.tolist()), Fraction(0)) / len(values)
    assert QuantileSketch.of(values).mean == float(exact)


def test_nan_and_infinities_are_no_value_and_nothing_gives_nothing() -> None:
    sketch = QuantileSketch.of([np.nan, np.inf, 4.0, -np.inf])
    assert (sketch.count, sketch.mean, sketch.percentiles([50])) == (1, 4.0, {50.0: 4.0})
    empty = QuantileSketch.of([])
    assert (empty.count, empty.mean, empty.percentiles([50])) == (0, None, {})


def test_memory_is_bounded_whatever_the_values_span() -> None:
    """Magnitudes over 600 decades keep MAX_BUCKETS buckets; the largest stay accurate."""
    rng = np.random.default_rng(2)
    values = 10.0 ** rng.uniform(-300, 300, 50_000)
    sketch = QuantileSketch()
    for chunk in np.array_split(values, 10):
        sketch.add(chunk)
    assert sketch.positive.counts.size == MAX_BUCKETS
    assert sketch.positive.counts.sum() == len(values)
    p99 = sketch.percentiles([99])[99]
    assert math.isclose(p99, np.percentile(values, 99, method="lower"), rel_tol=RELATIVE_ACCURACY)


def test_sketches_of_other_accuracies_do_not_merge() -> None:
    with pytest.raises(ValueError, match="accuracy"):
        QuantileSketch(accuracy=0.01).merge(QuantileSketch())
