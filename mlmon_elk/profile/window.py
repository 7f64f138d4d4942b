"""The window profile: counts of one time window of predictions.

Every source fills the same shapes — the Elasticsearch source from one
aggregation response, the file source from JSON-lines files — and the checks
read only these counts, never raw documents. Counting follows Elasticsearch's
semantics so both sources agree exactly:

* a document counts for a feature's *presence* when its ``mlmon.present``
  array holds the name, and as *null* when ``mlmon.null`` does;
* numeric bins are the baseline's bins, half-open ``[from, to)``;
* counts of categorical values are document counts per value (a keyword
  array counts the document once for each distinct value it holds).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from mlmon_elk.contract import Kind, Role


@dataclass(frozen=True, slots=True)
class NumericCounts:
    """A numeric feature's values in the window, on the baseline's bins."""

    bins: tuple[int, ...]
    """Documents per baseline bin (``len(edges) + 1`` counts)."""
    count: int
    """Documents with a numeric value (the sum of ``bins``)."""
    below_min: int = 0
    """Documents whose value is below the training minimum."""
    above_max: int = 0
    """Documents whose value is above the training maximum."""
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    """Population standard deviation; ``None`` without values."""


@dataclass(frozen=True, slots=True)
class CategoricalCounts:
    """A categorical feature's values, on the baseline's top categories."""

    top: tuple[tuple[str, int], ...]
    """Documents per baseline top category, in baseline order (0 when absent)."""
    other: int
    """Documents whose value is in the training vocabulary but not in ``top``."""
    unseen: int
    """Documents whose value is not in the training vocabulary."""
    count: int
    """Documents with a categorical value."""
    unseen_examples: tuple[tuple[str, int], ...] = ()
    """The most frequent unseen values with their counts, most frequent first."""


@dataclass(frozen=True, slots=True)
class TextCounts:
    """A text feature's tokens against the baseline's token vocabulary."""

    documents: int
    """Documents carrying tokens for the feature."""
    tokens: int
    """Tokens in the window (sum of ``mlmon.token_count.<f>``)."""
    oov_tokens: int
    """Tokens outside the training vocabulary."""
    oov_examples: tuple[tuple[str, int], ...] = ()
    """The most frequent out-of-vocabulary tokens with document counts."""


@dataclass(frozen=True, slots=True)
class FeatureCounts:
    """One input or output in one window."""

    name: str
    role: Role
    present: int
    """Documents whose request carried the key (inputs; for outputs, the
    documents with a value of any kind)."""
    null: int
    """Documents where the value was null/NaN (listed in ``mlmon.null``)."""
    kinds: Mapping[Kind, int] = field(default_factory=dict)
    """Documents with a value under each typed path (``num``/``cat``/``text``);
    more than one key means the feature switched type."""
    numeric: NumericCounts | None = None
    categorical: CategoricalCounts | None = None
    text: TextCounts | None = None


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """Latency (``mlmon.latency_ms``) of the window's predictions."""

    count: int
    percentiles: Mapping[float, float] = field(default_factory=dict)
    """Percentile (e.g. ``95.0``) → milliseconds."""
    mean: float | None = None
    max: float | None = None


@dataclass(frozen=True, slots=True)
class Sample:
    """The random share of a window's predictions its feature counts were made on.

    A large window on the engine is counted exactly for its operational figures
    (traffic, failures, latency) and on a uniform random sample for its features:
    the checks then test the sample, with its own size as their ``n``.
    """

    rate: float
    """The probability with which each prediction was kept."""
    rows: int
    """Predictions in the sample."""
    failures: int = 0
    """Failed predictions among them (they carry no outputs)."""


@dataclass(frozen=True, slots=True)
class WindowProfile:
    """Counts of one model version's predictions in ``[start, end)``."""

    model: str
    version: str
    start: datetime
    end: datetime
    count: int
    """Prediction documents in the window."""
    failures: int = 0
    """Documents with ``event.outcome: failure``."""
    latency: LatencyStats = field(default_factory=lambda: LatencyStats(count=0))
    features: Mapping[tuple[Role, str], FeatureCounts] = field(default_factory=dict)
    """Counts of every baseline feature, keyed by ``(role, name)``."""
    present_names: Mapping[str, int] = field(default_factory=dict)
    """Every input name in ``mlmon.present`` with its document count, including
    names the baseline does not know (``new_feature``)."""
    sample: Sample | None = None
    """Set when ``features`` and ``present_names`` count a random sample of the
    window rather than every prediction."""

    def feature(self, role: Role, name: str) -> FeatureCounts | None:
        return self.features.get((role, name))

    @property
    def feature_rows(self) -> int:
        """Predictions the feature counts were made on."""
        return self.sample.rows if self.sample is not None else self.count

    @property
    def feature_failures(self) -> int:
        """Failed predictions among :attr:`feature_rows`."""
        return self.sample.failures if self.sample is not None else self.failures


@dataclass(frozen=True, slots=True)
class ModelWindow:
    """All versions of one model in one window, for model-level checks."""

    model: str
    start: datetime
    end: datetime
    versions: Mapping[str, WindowProfile]
    """Version → its window profile; versions without documents are absent."""
    history: tuple[int, ...] = ()
    """Prediction counts of the preceding windows of the same length, oldest
    first (for the ``volume`` check)."""

    @property
    def count(self) -> int:
        return sum(p.count for p in self.versions.values())
