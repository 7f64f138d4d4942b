"""Percentiles in bounded memory: a mergeable log-bucketed histogram (pure).

A window's latency percentiles are counted from files without keeping the
latencies: each value falls in the bucket ``(γ^(k-1), γ^k]`` of its magnitude,
``γ = (1 + α) / (1 − α)``, and a bucket's estimate ``2γ^k / (γ + 1)`` is within
the relative accuracy ``α`` of every value in it (the DDSketch construction,
Masson et al., VLDB 2019). With ``α = 0.5 %`` the percentile ``p`` of ``n``
values is within 0.5 % of the value of rank ``⌊p/100 · (n − 1)⌋`` in sorted
order (NumPy's ``method="lower"``); the first and last ranks are the exact
minimum and maximum.

At most :data:`MAX_BUCKETS` buckets per sign are kept (16 KiB each): that
spans a ratio of about 7.8·10^8 between the largest and smallest magnitudes at
full accuracy (0.001 ms to 13 minutes); smaller values beyond that are merged
into the lowest kept bucket, so only percentiles among them come out high.

Counts, minimum and maximum are exact, and so is the mean: values are summed
as integers (multiples of 2^-1126, which every finite double is), so a window
counted in any chunking gives the very same profile.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike

RELATIVE_ACCURACY = 0.005
"""α: every percentile within 0.5 % of a value of the right rank."""

MAX_BUCKETS = 2048
"""Buckets kept per sign (positive, negative); the lowest magnitudes merge beyond it."""

_UNIT_BITS = 1126
"""Sums are kept in units of 2^-1126: a double's 53-bit mantissa at its lowest exponent."""

_HALF_BITS = 27
"""Mantissas are summed as two halves, so a float64 bincount of them stays exact."""


@dataclass(slots=True)
class _Store:
    """Counts of one sign's buckets, dense from key ``offset`` on."""

    offset: int = 0
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def add(self, keys: np.ndarray, limit: int) -> None:
        if not keys.size:
            return
        lo, hi = int(keys.min()), int(keys.max())
        if self.counts.size:
            lo, hi = min(lo, self.offset), max(hi, self.offset + self.counts.size - 1)
        lo = max(lo, hi - limit + 1)  # the lowest magnitudes merge into the lowest bucket
        grown = np.zeros(hi - lo + 1, dtype=np.int64)
        if self.counts.size:
            kept = np.maximum(np.arange(self.offset, self.offset + self.counts.size), lo) - lo
            np.add.at(grown, kept, self.counts)
        grown += np.bincount(np.maximum(keys, lo) - lo, minlength=grown.size)
        self.offset, self.counts = lo, grown

    def merge(self, other: _Store, limit: int) -> None:
        if other.counts.size:
            keys = np.arange(other.offset, other.offset + other.counts.size)
            self.add(np.repeat(keys, other.counts), limit)


@dataclass(slots=True)
class QuantileSketch:
    """Percentiles, count, mean, min and max of finite values added a chunk at a time."""

    accuracy: float = RELATIVE_ACCURACY
    max_buckets: int = MAX_BUCKETS
    count: int = 0
    zeros: int = 0
    total: int = 0
    """The exact sum, in units of 2^-1126."""
    min: float = math.inf
    max: float = -math.inf
    positive: _Store = field(default_factory=_Store)
    negative: _Store = field(default_factory=_Store)

    @property
    def gamma(self) -> float:
        return (1 + self.accuracy) / (1 - self.accuracy)

    @classmethod
    def of(cls, values: ArrayLike) -> QuantileSketch:
        """A sketch of ``values`` (NaN and infinities are no value)."""
        sketch = cls()
        sketch.add(np.asarray(values, dtype=float))
        return sketch

    def add(self, values: np.ndarray) -> None:
        """Add a chunk of values; NaN and infinities are left out."""
        x = np.asarray(values, dtype=float)
        x = x[np.isfinite(x)]
        if not x.size:
            return
        self.count += int(x.size)
        self.min = min(self.min, float(x.min()))
        self.max = max(self.max, float(x.max()))
        self.total += _exact_sum(x)
        magnitudes = np.abs(x)
        nonzero = magnitudes > 0
        self.zeros += int(x.size - np.count_nonzero(nonzero))
        keys = np.ceil(np.log(magnitudes[nonzero]) / math.log(self.gamma)).astype(np.int64)
        signs = x[nonzero] > 0
        self.positive.add(keys[signs], self.max_buckets)
        self.negative.add(keys[~signs], self.max_buckets)

    def merge(self, other: QuantileSketch) -> None:
        """Add everything ``other`` counted (same accuracy)."""
        if other.accuracy != self.accuracy:
            msg = f"cannot merge sketches of accuracy {self.accuracy} and {other.accuracy}"
            raise ValueError(msg)
        self.count += other.count
        self.zeros += other.zeros
        self.total += other.total
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        self.positive.merge(other.positive, self.max_buckets)
        self.negative.merge(other.negative, self.max_buckets)

    @property
    def mean(self) -> float | None:
        if not self.count:
            return None
        return float(Fraction(self.total, self.count << _UNIT_BITS))

    def percentiles(self, percents: Sequence[float]) -> dict[float, float]:
        """Percent (0–100) → estimate; empty when nothing was added."""
        if not self.count:
            return {}
        gamma = self.gamma
        # Buckets in ascending order of value: negatives (largest magnitude first), zero, positives.
        neg_keys = np.arange(self.negative.offset, self.negative.offset + self.negative.counts.size)
        pos_keys = np.arange(self.positive.offset, self.positive.offset + self.positive.counts.size)
        values = np.concatenate(
            [
                -2 * gamma ** neg_keys[::-1].astype(float) / (gamma + 1),
                [0.0],
                2 * gamma ** pos_keys.astype(float) / (gamma + 1),
            ]
        )
        counts = np.concatenate([self.negative.counts[::-1], [self.zeros], self.positive.counts])
        cumulative = np.cumsum(counts)
        ranks = np.floor(np.asarray(percents, dtype=float) / 100 * (self.count - 1))
        found = np.clip(
            values[np.searchsorted(cumulative, ranks, side="right")], self.min, self.max
        )
        found[ranks <= 0] = self.min  # the first and last ranks are known exactly
        found[ranks >= self.count - 1] = self.max
        return {float(p): float(v) for p, v in zip(percents, found, strict=True)}


def _exact_sum(x: np.ndarray) -> int:
    """The sum of finite doubles as an integer number of 2^-1126 (no rounding at all)."""
    mantissa, exponent = np.frexp(x)  # x = m · 2^e with 0.5 ≤ |m| < 1
    whole = np.ldexp(mantissa, 53).astype(np.int64)  # exact: a 53-bit integer
    shifts = exponent.astype(np.int64) - 53 + _UNIT_BITS  # ≥ 0 for every finite double
    unique, slot = np.unique(shifts, return_inverse=True)
    total = 0
    # Halves below 2^27: a float64 sum of up to 2^26 of them is exact.
    for start in range(0, x.size, 1 << 26):
        part = slice(start, start + (1 << 26))
        high = np.bincount(slot[part], weights=whole[part] >> _HALF_BITS, minlength=unique.size)
        low = np.bincount(
            slot[part], weights=whole[part] & ((1 << _HALF_BITS) - 1), minlength=unique.size
        )
        for shift, h, lo in zip(unique.tolist(), high.tolist(), low.tolist(), strict=True):
            total += ((int(h) << _HALF_BITS) + int(lo)) << shift
    return total
