"""``type_mismatch`` and ``new_feature``: the request no longer matches the training schema.

Neither is a sampling question — training had no value of another type and no
unknown key, by construction — so no statistical test applies; a tolerance on
the share of affected rows keeps single stray requests quiet.
"""

from __future__ import annotations

from dataclasses import replace

from mlmon_elk.checks.finding import Finding, pct, too_few
from mlmon_elk.checks.settings import CheckSettings
from mlmon_elk.contract import Check, Kind
from mlmon_elk.profile.baseline import Baseline, FeatureProfile
from mlmon_elk.profile.window import FeatureCounts, WindowProfile


def type_mismatch(
    feature: FeatureProfile, counts: FeatureCounts, settings: CheckSettings
) -> Finding:
    """Share of the feature's values that arrive under another typed path."""
    total = sum(counts.kinds.values())
    base = Finding(Check.TYPE_MISMATCH, "type_mismatch_share", total, feature.name, feature.role)
    if total < settings.min_rows:
        return replace(base, insufficient=too_few(total, settings.min_rows))
    accepted = {feature.kind}
    if feature.categorical is not None and feature.categorical.coded:
        accepted.add(Kind.NUM)  # integer-coded categories arrive as numbers
    others = {str(k): c for k, c in sorted(counts.kinds.items()) if k not in accepted and c}
    share = sum(others.values()) / total
    return replace(
        base,
        value=share,
        threshold=settings.min_type_mismatch_share,
        expected=0.0,
        observed=share,
        head=f"{pct(share)} of values not {feature.kind}",
        bound=pct(settings.min_type_mismatch_share),
        detail=", ".join(f"{kind} ×{c:,}" for kind, c in others.items()),
        context={"kinds": {str(k): c for k, c in counts.kinds.items()}},
    )


def new_feature(baseline: Baseline, window: WindowProfile, settings: CheckSettings) -> Finding:
    """Inputs the requests carry that the baseline does not know.

    Never ``critical``: the model cannot be using an input it was not trained
    on, so this is an interface change to look at, not an outage.
    """
    n = window.feature_rows
    base = Finding(Check.NEW_FEATURE, "new_feature_share", n)
    if n < settings.min_rows:
        return replace(base, insufficient=too_few(n, settings.min_rows, "requests"))
    known = {f.name for f in baseline.inputs}
    unknown = sorted(
        ((name, c) for name, c in window.present_names.items() if name not in known and c > 0),
        key=lambda item: (-item[1], item[0]),
    )
    share = unknown[0][1] / n if unknown else 0.0
    return replace(
        base,
        value=share,
        threshold=settings.min_new_feature_share,
        expected=0.0,
        observed=share,
        head=f"unknown inputs in {pct(share)} of requests",
        bound=pct(settings.min_new_feature_share),
        detail=", ".join(f'"{name}" {pct(c / n)}' for name, c in unknown[:5]),
        critical=False,
        context={"unknown": dict(unknown[:50]), "unknown_names": len(unknown)},
    )
