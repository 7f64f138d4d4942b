"""The bins a window's categorical counts are compared on: the baseline's top
categories, "other" (seen in training, not top) and "unseen" (never seen).

Top categories expected fewer than ``min_expected`` times in the window
(default :data:`~mlmon_elk.profile.defaults.MIN_EXPECTED_COUNT`) are pooled
into "other", which keeps χ² valid and stops a few thousand rare ids from
turning PSI into noise at small windows. ``category_shift`` bins each window this
way and the calibration bins its resampled windows alike, both with this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mlmon_elk.profile.baseline import CategoricalProfile

OTHER = "(other)"
UNSEEN = "(unseen)"


@dataclass(frozen=True, slots=True)
class CategoryBins:
    """The bins one window's categorical counts are compared on."""

    labels: tuple[str, ...]
    expected: NDArray[np.float64]
    keep: NDArray[np.intp]
    """Positions of the top categories kept as bins of their own."""
    n_top: int

    def fold(self, counts: ArrayLike) -> NDArray[np.float64]:
        """``[top…, other, unseen]`` counts (any leading axes) → counts on these bins."""
        c = np.asarray(counts, dtype=float)
        top = c[..., : self.n_top]
        pooled = top.sum(axis=-1) - top[..., self.keep].sum(axis=-1)
        other = c[..., self.n_top] + pooled
        return np.concatenate(
            [top[..., self.keep], other[..., None], c[..., self.n_top + 1, None]], axis=-1
        )


def category_bins(profile: CategoricalProfile, n: int, min_expected: float) -> CategoryBins:
    """Top categories (those expected ``min_expected`` times in ``n`` values), other, unseen."""
    u = profile.expected_unseen_rate
    top = np.array([share for _, share in profile.top], dtype=float) * (1 - u)
    keep = np.flatnonzero(top * n >= min_expected)
    names = profile.top_names
    expected = np.concatenate(
        [top[keep], [profile.other_share * (1 - u) + top.sum() - top[keep].sum()], [u]]
    )
    return CategoryBins(
        labels=(*(names[i] for i in keep), OTHER, UNSEEN),
        expected=expected,
        keep=keep,
        n_top=len(names),
    )
