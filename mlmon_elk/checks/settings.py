"""Check settings: every default in one place, each with the reason for it.

A model's YAML config overrides any field by name (``checks:`` section), and the
analyzer builds one :class:`CheckSettings` per model with
``dataclasses.replace``. Add a field here and it is configurable everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mlmon_elk.contract import Check
from mlmon_elk.profile.defaults import MIN_EXPECTED_COUNT


@dataclass(frozen=True, slots=True)
class CheckSettings:
    """Thresholds and switches for one model's checks."""

    family_alpha: float = 0.01
    """Probability that a whole run raises any false alarm from sampling noise.
    Holm's correction over every statistical test of the run (all models,
    versions, features and checks) keeps it, so a run of 500 checks is no
    noisier than a run of 5. 1% is one noise-driven alert per hundred runs *at
    most*; the effect gates below make it far rarer in practice. The zero-rate
    break tests are outside this family (``break_alpha``)."""
    break_alpha: float = 0.001
    """Per-check level of the zero-rate break tests (``feature_vanished``,
    ``missing_spike``, ``unseen_categories`` where the reference had none):
    outside Holm's family, with an exact unconditional p-value whose size holds
    whatever the true tiny rate, so no check raises more than one false break
    per 1,000 windows. Inside the family they would need p ≈ 2.5e-4 in a run of
    a few dozen tests, and two occurrences in 5,000 rows could never alert. A
    run of B such tests may raise up to ``B · break_alpha`` noise-driven alerts
    on top of ``family_alpha``."""
    min_rows: int = 200
    """Windows (or features) with fewer rows give ``insufficient_data``: below
    ~200 rows a 10-bin histogram has ~20 values per bin and PSI's own noise
    (about ``bins / n``) approaches its threshold."""
    critical_factor: float = 2.0
    """A firing check is ``critical`` when its effect is at least this many
    times its threshold, ``warning`` otherwise (PSI 0.1 → warning, 0.2 →
    critical, close to the customary 0.25 "major shift")."""

    min_psi: float = 0.1
    """Minimum effect of ``category_shift``, ``numeric_drift`` and
    ``prediction_drift``: PSI below 0.1 is customarily "no significant change".
    Huge windows make tiny real shifts significant; this keeps them quiet."""
    min_presence_drop: float = 0.02
    """Minimum drop of a feature's presence rate (absolute, 2 points) for
    ``feature_vanished``: a key missing from 2% of requests is a client bug
    worth a warning; less is usually a partial rollout."""
    min_null_rise: float = 0.02
    """Minimum rise of the NA rate (absolute, 2 points) for ``missing_spike``."""
    min_unseen_rise: float = 0.02
    """Minimum rise of the unseen-category share over the expected unseen rate
    (absolute, 2 points) for ``unseen_categories``; open vocabularies (ids,
    tail numbers) always show some unseen values, which the expected rate and
    the calibration absorb."""
    min_rise_floor: float = 0.001
    """Smallest minimum effect of ``feature_vanished``, ``missing_spike`` and
    ``unseen_categories`` where the baseline rate is above zero: their minimum
    effect follows that rate — ``max(min_rise_floor, min(min_…, baseline
    rate))`` — so a feature with a natural rate of 2% or more keeps the 2-point
    minimum and a rarer one alerts on a significant rise of its own size."""
    min_break_count: int = 2
    """Minimum effect of the same checks, in occurrences per window, where the
    baseline rate is zero: a feature never null or always present in training
    and held-out data, or a closed vocabulary, has no natural variation, so a
    significant handful (tested at ``break_alpha`` against every row that
    showed the zero) is a pipeline break. One occurrence alone never alerts: a single stray value is
    what genuinely rare events look like."""
    min_share_shift: float = 0.05
    """``category_shift`` / categorical ``prediction_drift`` also fire when one
    category gains or loses at least this share (5 points), significantly and
    above its calibrated L∞, even while PSI stays under ``min_psi``: a category
    going from 10% to 18% is material, yet PSI is only 0.06."""
    min_shift_sigma: float = 0.1
    """``numeric_drift`` / numeric ``prediction_drift`` also fire when the
    window's mean moved this many baseline standard deviations (a lower bound
    of Wasserstein-1 / σ, Evidently's drift measure), significantly by a binned
    KS test, while PSI stays under its threshold: a 0.15 σ shift is real though
    PSI on deciles barely sees it. Critical also needs a move of this size."""
    negligible_shift_sigma: float = 0.05
    """Guard the other way: a PSI alert whose mean and standard deviation did
    not clearly (by two standard errors of the window's mean) move this many
    baseline σ is a ``notice``, not an alert —
    quantile edges squeezed around a point mass (or a dense cluster) turn a
    shift of 0.02 σ into PSI 0.7."""
    min_oov_rise: float = 0.02
    """Minimum rise of the out-of-vocabulary token share (absolute, 2 points)
    for ``text_oov``."""
    min_type_mismatch_share: float = 0.01
    """``type_mismatch`` fires when at least this share of a feature's values
    arrives under another type (training had none by construction)."""
    min_new_feature_share: float = 0.01
    """``new_feature`` fires for unknown inputs carried by at least this share
    of requests (a stray debug key in one request is not an interface change)."""
    use_calibration: bool = True
    """Raise each threshold to the baseline's calibrated natural variation at
    the window's size (``Calibration``); off, only the minimum effects apply."""
    min_expected_count: int = MIN_EXPECTED_COUNT
    """Top categories expected fewer than this many times in the window are
    pooled into "other" (χ² validity; stops rare ids from dominating PSI)."""
    min_rows_operational: int = 20
    """Fewest predictions for ``latency`` and ``error_rate``: a low-traffic
    model that fails every request must still alert (the error-rate test
    itself guards against noise), while a p95 of fewer than 20 values is just
    the maximum."""
    min_labels: int = 100
    """Fewest labelled predictions (outcomes) for ``performance``: below ~100 an
    accuracy is uncertain by ±10 points, twice the minimum drop."""
    min_accuracy_drop: float = 0.05
    """Minimum fall of accuracy (absolute, 5 points) for ``performance`` and
    ``estimated_performance``."""
    min_auc_drop: float = 0.05
    """Minimum fall of ROC AUC (0.05) for the same checks."""
    min_mae_rise: float = 0.2
    """Minimum relative rise of a regressor's MAE (20%) for ``performance``."""
    resolve_after: int = 3
    """Consecutive clear windows before an open alert resolves (hysteresis):
    until then it is ``recovering``, and firing again is ``ongoing``, not
    ``new`` — a value that comes and goes does not page people each time."""
    resolve_below: float = 0.8
    """A window is clear for an open alert only when its check is ``ok`` or
    ``notice`` with the effect under this share of the threshold; an effect
    hovering just under the threshold does not count as recovered."""
    disabled: frozenset[Check] = frozenset()
    """Checks not to run for this model."""

    latency_sla_ms: Mapping[float, float] = field(default_factory=dict)
    """Percentile → limit in milliseconds, e.g. ``{95: 250, 99: 800}``; empty
    disables the ``latency`` check."""
    max_error_rate: float = 0.01
    """Share of predictions that may fail (``event.outcome: failure``)."""
    expected_versions: frozenset[str] = frozenset()
    """Model versions allowed in traffic; empty means the versions that have a
    baseline."""
    min_volume_ratio: float = 0.5
    """``volume`` fires when a window has less than this share of the median of
    the preceding windows (critical at no predictions at all)."""
    min_volume_history: int = 3
    """Preceding windows needed before ``volume`` judges (fewer:
    ``insufficient_data``); a median of one or two windows is an anecdote."""
