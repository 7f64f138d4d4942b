"""``check_run``: every check of one analyzer run, with one multiple-testing correction.

The analyzer hands over one :class:`ModelJob` per model; this returns one
:class:`WindowResult` per (model, version) with data in the window — every
check result, ``ok`` and ``insufficient_data`` included — plus one model-level
result (version ``None``) with ``volume`` and ``model_version``. Holm's
correction at ``family_alpha`` covers every statistical test of every job, so
the chance that a run raises any alert from sampling noise alone stays below
``family_alpha`` however many models and features it checks — except the
zero-rate break tests (``Finding.alpha`` set), each judged at its own per-check
level ``break_alpha`` outside the family (``rates`` module docstring).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial

from mlmon_elk.checks import distribution, operational, performance, rates, schema
from mlmon_elk.checks.finding import Finding, decide
from mlmon_elk.checks.job import ModelJob
from mlmon_elk.checks.metrics import holm
from mlmon_elk.checks.result import CheckResult, WindowResult
from mlmon_elk.checks.settings import CheckSettings
from mlmon_elk.contract import Check, Kind, Role, Status
from mlmon_elk.errors import MlmonError
from mlmon_elk.profile.baseline import Baseline, FeatureProfile
from mlmon_elk.profile.window import FeatureCounts, Sample, WindowProfile


@dataclass(slots=True)
class _Pending:
    job: ModelJob
    version: str | None
    profile: WindowProfile | None
    items: list[Finding | CheckResult]


def check_run(jobs: Sequence[ModelJob]) -> list[WindowResult]:
    """Evaluate every check of every job; see the module docstring."""
    pending: list[_Pending] = []
    for job in jobs:
        settings = job.settings
        for version in sorted(job.window.versions):
            profile = job.window.versions[version]
            items = list(_version_findings(profile, job.baselines.get(version), settings))
            items += _performance_findings(job, version)
            pending.append(_Pending(job, version, profile, items))
        expected = settings.expected_versions or frozenset(job.baselines)
        model_items = [
            _guard(Check.VOLUME, partial(operational.volume, job.window, settings)),
            _guard(
                Check.MODEL_VERSION,
                partial(operational.model_version, job.window, expected, settings),
            ),
        ]
        pending.append(_Pending(job, None, None, [i for i in model_items if i is not None]))

    for p in pending:
        p.items = [i for i in p.items if i.check not in p.job.settings.disabled]
    tested = [i for p in pending for i in p.items if isinstance(i, Finding) and i.tested]
    adjusted = dict(zip(map(id, tested), holm([f.p_value or 0.0 for f in tested]), strict=True))

    results = []
    for p in pending:
        checks = tuple(
            i if isinstance(i, CheckResult) else decide(i, adjusted.get(id(i)), p.job.settings)
            for i in p.items
        )
        if p.profile is not None and p.profile.sample is not None:
            checks = tuple(_sampled(r, p.profile.sample, p.profile.count) for r in checks)
        window = p.job.window
        results.append(
            WindowResult(
                model=window.model,
                version=p.version,
                start=window.start,
                end=window.end,
                count=p.profile.count if p.profile is not None else window.count,
                results=checks,
            )
        )
    return results


def performance_run(jobs: Sequence[ModelJob]) -> list[WindowResult]:
    """The ``performance`` check alone of every job, with Holm's correction over its tests.

    For a past window whose outcomes arrived after it was analysed: only the
    labels changed, so only the realized performance is evaluated again (the
    jobs' windows need no profile, only ``performance``). The correction covers
    the tests of this re-evaluation — fewer than the window's first run had.
    """
    pending: list[_Pending] = []
    for job in jobs:
        if Check.PERFORMANCE in job.settings.disabled:
            continue
        for version in sorted(job.performance):
            items = [i for i in _performance_findings(job, version) if i.check is Check.PERFORMANCE]
            if items:
                pending.append(_Pending(job, version, None, items))
    tested = [i for p in pending for i in p.items if isinstance(i, Finding) and i.tested]
    adjusted = dict(zip(map(id, tested), holm([f.p_value or 0.0 for f in tested]), strict=True))
    return [
        WindowResult(
            model=p.job.window.model,
            version=p.version,
            start=p.job.window.start,
            end=p.job.window.end,
            count=p.job.performance[p.version].predictions if p.version is not None else 0,
            results=tuple(
                i if isinstance(i, CheckResult) else decide(i, adjusted.get(id(i)), p.job.settings)
                for i in p.items
            ),
        )
        for p in pending
    ]


# Checks that read the window's operational counts or its outcomes: exact even
# when the engine counted the features on a sample.
_EXACT = frozenset({Check.LATENCY, Check.ERROR_RATE, Check.PERFORMANCE})


def _sampled(result: CheckResult, sample: Sample, predictions: int) -> CheckResult:
    """``result`` saying that it tested a random sample of the window."""
    if result.check in _EXACT:
        return result
    said = f"a random sample of {sample.rows:,} of {predictions:,} predictions"
    summary = f"{result.summary}; {said}" if result.summary else said
    return replace(result, sample_rate=sample.rate, summary=summary)


def _version_findings(
    profile: WindowProfile, baseline: Baseline | None, settings: CheckSettings
) -> Iterator[Finding | CheckResult]:
    calls: list[tuple[Check, Callable[[], Finding | None], FeatureProfile | None]] = []
    if baseline is not None:
        for feature in baseline.features:
            counts = profile.feature(feature.role, feature.name) or FeatureCounts(
                feature.name, feature.role, present=0, null=0
            )
            calls += [
                (check, call, feature)
                for check, call in _feature_checks(feature, counts, profile, baseline, settings)
            ]
        calls.append(
            (Check.NEW_FEATURE, partial(schema.new_feature, baseline, profile, settings), None)
        )
    calls.append((Check.LATENCY, partial(operational.latency, profile, settings), None))
    calls.append((Check.ERROR_RATE, partial(operational.error_rate, profile, settings), None))
    for check, call, about in calls:
        item = _guard(check, call, about)
        if item is not None:
            yield item


def _performance_findings(job: ModelJob, version: str) -> list[Finding | CheckResult]:
    baseline = job.baselines.get(version)
    window = job.performance.get(version)
    if baseline is None or baseline.performance is None or window is None:
        return []
    profile = baseline.performance
    calls: list[tuple[Check, Callable[[], Finding | None]]] = [
        (Check.PERFORMANCE, partial(performance.performance, profile, window, job.settings)),
        (
            Check.ESTIMATED_PERFORMANCE,
            partial(performance.estimated_performance, profile, window, job.settings),
        ),
    ]
    return [item for check, call in calls if (item := _guard(check, call)) is not None]


def _feature_checks(
    feature: FeatureProfile,
    counts: FeatureCounts,
    window: WindowProfile,
    baseline: Baseline,
    settings: CheckSettings,
) -> list[tuple[Check, Callable[[], Finding]]]:
    """The checks that apply to one feature, by role and kind."""
    requests = window.feature_rows
    if feature.role is Role.OUTPUT:
        requests -= window.feature_failures  # failed predictions have no outputs
        # A model returns every output: a successful prediction without a value
        # for one (NaN, None — the handler logs neither) is a missing output,
        # not a vanished feature, whichever source counted it.
        valued = counts.present - counts.null
        counts = replace(counts, present=max(requests, valued), null=max(requests - valued, 0))
    output = feature.role is Role.OUTPUT
    calls: list[tuple[Check, Callable[[], Finding]]] = [
        (
            Check.FEATURE_VANISHED,
            partial(rates.feature_vanished, feature, counts, requests, settings, baseline),
        ),
        (Check.MISSING_SPIKE, partial(rates.missing_spike, feature, counts, settings, baseline)),
    ]
    if feature.kind is Kind.NUM:
        check = Check.PREDICTION_DRIFT if output else Check.NUMERIC_DRIFT
        calls.append(
            (
                check,
                partial(
                    distribution.numeric_drift, feature, counts, settings, baseline.rows, check
                ),
            )
        )
    elif feature.kind is Kind.CAT:
        check = Check.PREDICTION_DRIFT if output else Check.CATEGORY_SHIFT
        calls.append(
            (
                check,
                partial(
                    distribution.category_shift, feature, counts, settings, baseline.rows, check
                ),
            )
        )
        calls.append(
            (
                Check.UNSEEN_CATEGORIES,
                partial(rates.unseen_categories, feature, counts, settings, baseline),
            )
        )
    else:
        calls.append((Check.TEXT_OOV, partial(rates.text_oov, feature, counts, settings, baseline)))
    calls.append((Check.TYPE_MISMATCH, partial(schema.type_mismatch, feature, counts, settings)))
    return calls


def _guard(
    check: Check, call: Callable[[], Finding | None], feature: FeatureProfile | None = None
) -> Finding | CheckResult | None:
    """Run one check; a malformed window becomes an ``error`` result, not a failed run."""
    try:
        return call()
    except MlmonError as exc:
        return CheckResult(
            check,
            Status.ERROR,
            "error",
            feature=feature.name if feature else None,
            role=feature.role if feature else None,
            summary=f"error: {exc}",
        )
