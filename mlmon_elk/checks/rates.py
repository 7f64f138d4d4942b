"""Proportion checks: ``feature_vanished``, ``missing_spike``, ``unseen_categories``, ``text_oov``.

Each watches one rate that should not rise: the share of requests *without*
the key, of nulls among carried keys, of values never seen in training, of
text tokens outside the training vocabulary. Effect: the rise over the
baseline's rate in absolute points (for presence, the drop). Test: Fisher's
exact test against the baseline's (or held-out data's) count, one-sided, or an
exact binomial tail when the reference size is unknown. Threshold:
``max(minimum rise, calibrated rise at this window size)``, where the minimum
rise follows the baseline rate: ``max(min_rise_floor, min(min_…, rate))``.

A rate that was *zero* — a feature never null or always present in training,
a closed vocabulary — has no natural variation, so its minimum is a count,
``min_break_count`` occurrences, and a test decides whether the handful is a
break in the pipeline. The test uses every row that showed the zero: training
plus held-out rows (when the calibration saw the held-out rate at zero too);
for new values, the training rows each left out in turn (no category seen only
once) plus the held-out rows. It is judged at its own per-check level,
``break_alpha`` (0.001), outside the run's Holm family, with the exact
unconditional p-value of :func:`~mlmon_elk.checks.metrics.zero_rate_pvalue`:
the largest chance, over every true rate, of no occurrence in the reference
and as many in the window — so at most one check in 1,000 breaks on noise,
whatever the rate. Inside the family (p ≈ 2.5e-4 needed over a few dozen
tests) two occurrences in 5,000 rows could never alert. With 83,079
reference rows, 2 in 500 rows (p = 1e-5) and 2 in 5,000 (p = 0.00091) are
breaks; in 50,000 rows it takes 6 (2 give p = 0.05): the larger the window
against the reference, the more a count looks like a rare but real rate.

The guarantee is over training samples: a rate just too rare to show in the
reference (about 1 in 43,000 here) sets off 2 of 5,000 in ~0.6 % of windows —
it had an ~15 % chance to leave the reference clean, and the product stays
under 0.001. Any rule that alerts on two occurrences has that exposure; a
larger reference shrinks it.

Text tokens of one document are not independent trials, so the token test is
optimistic; the calibration, which resamples whole held-out *documents*,
measures the real spread and raises the threshold accordingly.
"""

from __future__ import annotations

from dataclasses import replace

from mlmon_elk.checks import metrics
from mlmon_elk.checks.finding import Finding, examples, pct, required, too_few
from mlmon_elk.checks.settings import CheckSettings
from mlmon_elk.checks.thresholds import threshold
from mlmon_elk.contract import Check, Role
from mlmon_elk.profile.baseline import Baseline, CategoricalProfile, FeatureProfile
from mlmon_elk.profile.window import FeatureCounts


def feature_vanished(
    feature: FeatureProfile,
    counts: FeatureCounts,
    requests: int,
    settings: CheckSettings,
    baseline: Baseline,
) -> Finding:
    """Share of ``requests`` that did not carry the key, against the baseline's."""
    expected = 1 - feature.presence
    base = Finding(Check.FEATURE_VANISHED, "presence_drop", requests, feature.name, feature.role)
    if requests < settings.min_rows:
        return replace(base, insufficient=too_few(requests, settings.min_rows, "requests"))
    absent = max(requests - counts.present, 0)
    reference = zero_reference(feature, Check.FEATURE_VANISHED, expected, baseline.rows, baseline)
    f = _rise(
        base,
        feature,
        hits=absent,
        trials=requests,
        expected=expected,
        minimum=rate_minimum(settings.min_presence_drop, expected, requests, settings),
        settings=settings,
        reference_n=reference,
        breaks=True,
    )
    what = "requests" if feature.role is Role.INPUT else "predictions"
    return replace(
        f,
        expected=feature.presence,
        observed=1 - absent / requests,
        head=f"present in {pct(1 - absent / requests)} of {what}, expected {pct(feature.presence)}",
        effect=f"drop {_points(f.value or 0.0)} pts",
        detail=_zero_detail(expected, absent, "absent from {:,} requests", reference),
    )


def missing_spike(
    feature: FeatureProfile, counts: FeatureCounts, settings: CheckSettings, baseline: Baseline
) -> Finding:
    """Share of nulls among the rows that carried the key, against the baseline's."""
    n = counts.present
    base = Finding(Check.MISSING_SPIKE, "null_rate_rise", n, feature.name, feature.role)
    if n < settings.min_rows:
        return replace(base, insufficient=too_few(n, settings.min_rows, "rows carrying it"))
    carrying = baseline.rows * feature.presence
    reference = zero_reference(feature, Check.MISSING_SPIKE, feature.null_rate, carrying, baseline)
    f = _rise(
        base,
        feature,
        hits=counts.null,
        trials=n,
        expected=feature.null_rate,
        minimum=rate_minimum(settings.min_null_rise, feature.null_rate, n, settings),
        settings=settings,
        reference_n=reference,
        breaks=True,
    )
    return replace(
        f,
        head=f"NA {pct(feature.null_rate)} → {pct(counts.null / n)}",
        detail=_zero_detail(feature.null_rate, counts.null, "null in {:,} rows", reference),
    )


def unseen_categories(
    feature: FeatureProfile, counts: FeatureCounts, settings: CheckSettings, baseline: Baseline
) -> Finding:
    """Share of values outside the training vocabulary, against the held-out rate."""
    profile = required(feature.categorical, feature.name)
    cat = counts.categorical
    n = cat.count if cat is not None else 0
    base = Finding(Check.UNSEEN_CATEGORIES, "unseen_rate_rise", n, feature.name, feature.role)
    if cat is None or n < settings.min_rows:
        return replace(base, insufficient=too_few(n, settings.min_rows))
    reference = baseline.holdout_rows * feature.presence * (1 - feature.null_rate)
    # Without held-out rows the expected rate is an estimate with no sample
    # size to test against: keep the fixed minimum there.
    closed = profile.closed and reference > 0
    minimum = settings.min_unseen_rise
    if reference > 0:
        minimum = rate_minimum(minimum, profile.expected_unseen_rate, n, settings)
    if closed:
        reference += left_out_rows(
            profile, baseline.rows * feature.presence * (1 - feature.null_rate)
        )
    f = _rise(
        base,
        feature,
        hits=cat.unseen,
        trials=n,
        expected=profile.expected_unseen_rate,
        minimum=minimum,
        settings=settings,
        reference_n=reference,
        breaks=True,
    )
    context = dict(f.context)
    context["examples"] = [list(pair) for pair in cat.unseen_examples]
    context["closed_vocabulary"] = closed
    head = f"unseen {pct(profile.expected_unseen_rate)} → {pct(cat.unseen / n)}"
    if closed:
        head = (
            f"new values in a closed vocabulary of {profile.vocabulary_size:,}:"
            f" {cat.unseen:,} of {n:,} ({pct(cat.unseen / n)})"
        )
    detail = examples(cat.unseen_examples)
    if closed:
        detail += f"; none in {reference:,.0f} reference rows"
    return replace(f, head=head, detail=detail, context=context)


def rate_minimum(minimum: float, baseline_rate: float, n: int, settings: CheckSettings) -> float:
    """The minimum rise of a rate check over ``n`` trials, following the baseline rate:
    ``min_break_count`` occurrences for a rate that was zero (module docstring)."""
    if baseline_rate <= 0:
        return settings.min_break_count / n
    return max(settings.min_rise_floor, min(minimum, baseline_rate))


def zero_reference(
    feature: FeatureProfile, check: Check, rate: float, training: float, baseline: Baseline
) -> float:
    """Rows the baseline's rate was measured on: ``training``, plus the held-out
    rows when the rate was zero and the calibration found it zero there too
    (every calibrated upper bound 0: no resampled held-out window had one)."""
    cal = feature.calibration.get(check)
    if rate > 0 or cal is None or not cal.upper or any(v > 0 for _, v in cal.upper):
        return training
    return training + baseline.holdout_rows * training / max(baseline.rows, 1)


def left_out_rows(profile: CategoricalProfile, training: float) -> float:
    """Training rows that, each left out in turn, would have shown no new value.

    A category seen once in training is new to the other rows (Good–Turing's
    count of singletons); when the whole vocabulary is in ``top`` and every
    category was seen at least twice, all ``training`` rows showed none. With
    a longer vocabulary the counts are unknown: no rows."""
    if len(profile.top) < profile.vocabulary_size or profile.other_share > 1e-9:
        return 0.0
    if min(share for _, share in profile.top) * training < 2 - 1e-6:
        return 0.0
    return training


def _zero_detail(rate: float, hits: int, what: str, reference: float) -> str:
    """For a rate that was zero: the count against the reference that showed none."""
    if rate > 0 or hits <= 0:
        return ""
    return f"{what.format(hits)}, where {reference:,.0f} reference rows had none"


def text_oov(
    feature: FeatureProfile, counts: FeatureCounts, settings: CheckSettings, baseline: Baseline
) -> Finding:
    """Share of text tokens outside the training token vocabulary."""
    profile = required(feature.text, feature.name)
    text = counts.text
    docs = text.documents if text is not None else 0
    base = Finding(Check.TEXT_OOV, "oov_rate_rise", docs, feature.name, feature.role)
    if text is None or docs < settings.min_rows or text.tokens <= 0:
        return replace(base, insufficient=too_few(docs, settings.min_rows, "documents"))
    reference = (
        baseline.holdout_rows * feature.presence * (1 - feature.null_rate) * profile.tokens_per_row
    )
    f = _rise(
        base,
        feature,
        hits=text.oov_tokens,
        trials=text.tokens,
        expected=profile.expected_oov_rate,
        minimum=settings.min_oov_rise,
        settings=settings,
        reference_n=reference,
        n=docs,
    )
    context = dict(f.context)
    context.update(examples=[list(pair) for pair in text.oov_examples], tokens=text.tokens)
    detail = f"{text.tokens:,} tokens"
    if text.oov_examples:
        detail += f"; {examples(text.oov_examples)}"
    return replace(
        f,
        head=f"OOV tokens {pct(profile.expected_oov_rate)} → {pct(text.oov_tokens / text.tokens)}",
        detail=detail,
        context=context,
    )


def _rise(
    base: Finding,
    feature: FeatureProfile,
    *,
    hits: int,
    trials: int,
    expected: float,
    minimum: float,
    settings: CheckSettings,
    reference_n: float,
    n: int | None = None,
    breaks: bool = False,
) -> Finding:
    """Rise of ``hits / trials`` over ``expected``; ``n`` rows size the threshold.

    With ``breaks``, a rate that was zero in ``reference_n`` trials gets the
    zero-rate break test at its own level ``break_alpha`` (module docstring)."""
    observed = hits / trials
    value = observed - expected
    thr, context = threshold(feature, base.check, minimum, n or trials, settings)
    zero = breaks and expected <= 0 and reference_n > 0
    if zero:
        p_value = metrics.zero_rate_pvalue(hits, trials, reference_n)
    else:
        p_value = metrics.rate_rise_pvalue(hits, trials, expected, reference_n)
    return replace(
        base,
        value=value,
        threshold=thr,
        p_value=p_value,
        alpha=settings.break_alpha if zero else None,
        expected=expected,
        observed=observed,
        effect=f"{'+' if value >= 0 else ''}{_points(value)} pts",
        bound=f"{_points(thr)} pts",
        context=context,
    )


def _points(x: float) -> str:
    """A share in percentage points; under 0.1 point with two significant digits
    (a 2-in-5,000 minimum reads ``0.04``, not ``0.0``)."""
    if x != 0 and abs(x) < 0.001:
        return f"{x * 100:.2g}"
    return f"{x * 100:.1f}"
