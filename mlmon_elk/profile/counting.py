"""Count one feature's values of a window on the baseline's bins (pure, vectorised).

Shared by every source that sees values rather than aggregations — the
JSON-lines file source and the DataFrame path used by the scenario suite and
benchmarks — so they count exactly as the Elasticsearch aggregations do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from mlmon_elk.profile.baseline import CategoricalProfile, NumericProfile, TextProfile
from mlmon_elk.profile.defaults import EXAMPLES
from mlmon_elk.profile.window import CategoricalCounts, NumericCounts, TextCounts


def count_numeric(values: np.ndarray, profile: NumericProfile) -> NumericCounts:
    """Counts of finite ``values`` per baseline bin, plus out-of-range counts and stats.

    Bins are half-open ``[edge_i, edge_i+1)`` like Elasticsearch's ``range``
    aggregation; ``std`` is the population standard deviation (``extended_stats``).
    """
    x = np.asarray(values, dtype=float)
    bins = np.bincount(
        np.searchsorted(profile.edges, x, side="right"), minlength=len(profile.edges) + 1
    )
    if x.size == 0:
        return NumericCounts(bins=tuple(int(b) for b in bins), count=0)
    return NumericCounts(
        bins=tuple(int(b) for b in bins),
        count=int(x.size),
        below_min=int(np.count_nonzero(x < profile.min)),
        above_max=int(np.count_nonzero(x > profile.max)),
        min=float(x.min()),
        max=float(x.max()),
        mean=float(x.mean()),
        std=float(x.std()),
    )


def count_categorical(
    values: pd.Series, profile: CategoricalProfile, *, examples: int = EXAMPLES
) -> CategoricalCounts:
    """Counts of string ``values`` (one per document, no nulls) on the top categories.

    Values in the training vocabulary but outside the top categories count as
    ``other``; values outside the vocabulary as ``unseen``, with the most
    frequent ones kept as examples (ties broken by value, as Elasticsearch does).
    """
    counts = values.value_counts(sort=False)
    seen = _in_vocabulary(counts.index, profile.vocabulary)
    unseen_counts = counts[~seen]
    top = tuple((name, int(counts.get(name, 0))) for name in profile.top_names)
    total = int(counts.sum())
    unseen = int(unseen_counts.sum())
    return CategoricalCounts(
        top=top,
        other=total - unseen - sum(c for _, c in top),
        unseen=unseen,
        count=total,
        unseen_examples=_most_frequent(unseen_counts, examples),
    )


def count_text(
    token_lists: Iterable[Sequence[str]], profile: TextProfile, *, examples: int = EXAMPLES
) -> TextCounts:
    """Token totals of documents' unique-token lists against the training vocabulary."""
    lists = [t for t in token_lists if len(t)]
    if not lists:
        return TextCounts(documents=0, tokens=0, oov_tokens=0)
    tokens = pd.Series(np.concatenate([np.asarray(t, dtype=object) for t in lists]))
    counts = tokens.value_counts(sort=False)
    oov_counts = counts[~_in_vocabulary(counts.index, profile.vocabulary)]
    return TextCounts(
        documents=len(lists),
        tokens=int(counts.sum()),
        oov_tokens=int(oov_counts.sum()),
        oov_examples=_most_frequent(oov_counts, examples),
    )


def _in_vocabulary(index: pd.Index, vocabulary: frozenset[str]) -> np.ndarray:
    """Membership of each distinct window value, by hashing into the vocabulary set.

    A window has far fewer distinct values than a large vocabulary, so probing
    the set beats building an index of the whole vocabulary on every call.
    """
    return np.fromiter((v in vocabulary for v in index), dtype=bool, count=len(index))


def _most_frequent(counts: pd.Series, k: int) -> tuple[tuple[str, int], ...]:
    """The ``k`` largest counts, descending, ties by ascending key (ES ``terms`` order)."""
    if counts.empty or k <= 0:
        return ()
    frame = pd.DataFrame({"key": counts.index.astype(str), "n": counts.to_numpy()})
    frame = frame.sort_values(["n", "key"], ascending=[False, True]).head(k)
    return tuple((str(key), int(n)) for key, n in zip(frame["key"], frame["n"], strict=True))
