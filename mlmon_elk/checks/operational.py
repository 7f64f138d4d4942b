"""Operational checks: ``latency``, ``error_rate``, ``volume``, ``model_version``.

They judge the service rather than the data, so they also run for versions
that have no baseline. ``latency`` and ``error_rate`` need only
``min_rows_operational`` predictions (a low-traffic model failing every request
must alert); ``volume`` and ``model_version`` are model-level.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import replace

import numpy as np

from mlmon_elk.checks.finding import Finding, pct, too_few
from mlmon_elk.checks.settings import CheckSettings
from mlmon_elk.contract import Check
from mlmon_elk.profile import distributions
from mlmon_elk.profile.window import ModelWindow, WindowProfile


def latency(window: WindowProfile, settings: CheckSettings) -> Finding | None:
    """The configured latency percentile furthest above its SLA (``None``: no SLA set).

    Fires when a percentile reaches its limit; ``critical`` at
    ``critical_factor`` × the limit. Percentiles come from the source, so no
    test applies.
    """
    if not settings.latency_sla_ms:
        return None
    stats_ = window.latency
    n = stats_.count
    base = Finding(Check.LATENCY, "latency_ms", n)
    if n < settings.min_rows_operational:
        return replace(base, insufficient=too_few(n, settings.min_rows_operational, "predictions"))
    observed = {float(p): v for p, v in stats_.percentiles.items()}
    pairs = [
        (float(p), observed[float(p)], float(limit))
        for p, limit in sorted(settings.latency_sla_ms.items())
        if float(p) in observed
    ]
    if not pairs:
        wanted = ", ".join(f"p{p:g}" for p in sorted(settings.latency_sla_ms))
        return replace(base, insufficient=f"the window has no {wanted} latency")
    p, value, limit = max(pairs, key=lambda t: t[1] / t[2])
    return replace(
        base,
        metric=f"p{p:g}_ms",
        value=value,
        threshold=limit,
        expected=limit,
        observed=value,
        head=f"p{p:g} {value:,.0f} ms",
        bound=f"SLA {limit:,.0f} ms",
        context={"percentiles": {f"p{q:g}": v for q, v in sorted(observed.items())}},
    )


def error_rate(window: WindowProfile, settings: CheckSettings) -> Finding:
    """Share of failed predictions; tested one-sided against ``max_error_rate``."""
    n = window.count
    base = Finding(Check.ERROR_RATE, "error_rate", n)
    if n < settings.min_rows_operational:
        return replace(base, insufficient=too_few(n, settings.min_rows_operational, "predictions"))
    rate = window.failures / n
    limit = settings.max_error_rate
    p = distributions.binom_sf(window.failures - 1, n, limit) if window.failures else 1.0
    return replace(
        base,
        value=rate,
        threshold=limit,
        p_value=p,
        expected=limit,
        observed=rate,
        head=f"failures {pct(rate)}",
        bound=pct(limit),
    )


def volume(window: ModelWindow, settings: CheckSettings) -> Finding:
    """Drop of traffic against the median of the preceding windows.

    ``critical`` when the window has no predictions at all.
    """
    n = window.count
    base = Finding(Check.VOLUME, "volume_drop", n)
    history = window.history
    if len(history) < settings.min_volume_history:
        return replace(
            base,
            insufficient=f"{len(history)} preceding windows < {settings.min_volume_history}",
        )
    usual = float(np.median(history))
    if usual <= 0:
        return replace(base, insufficient="no traffic in the preceding windows")
    drop = 1 - n / usual
    limit = 1 - settings.min_volume_ratio
    return replace(
        base,
        value=drop,
        threshold=limit,
        expected=usual,
        observed=float(n),
        head=f"{n:,} predictions, {pct(n / usual)} of the usual {usual:,.0f}",
        effect=f"drop {pct(max(drop, 0.0))}",
        bound=pct(limit),
        critical=n == 0,
        context={"history": list(history)},
    )


def model_version(window: ModelWindow, expected: Set[str], settings: CheckSettings) -> Finding:
    """Predictions served by versions outside ``expected``.

    ``expected`` is ``settings.expected_versions`` or, when empty, the versions
    that have a baseline. Fires on any such prediction; ``critical`` when they
    are the majority of the traffic.
    """
    del settings  # the rule has no tunable beyond expected_versions
    n = window.count
    base = Finding(Check.MODEL_VERSION, "unexpected_predictions", n)
    if n == 0:
        return replace(base, insufficient="no predictions")
    if not expected:
        return replace(base, insufficient="no expected versions configured and no baselines")
    unexpected = sorted(
        ((v, p.count) for v, p in window.versions.items() if v not in expected and p.count > 0),
        key=lambda item: (-item[1], item[0]),
    )
    hits = sum(c for _, c in unexpected)
    names = ", ".join(f'"{v}" ×{c:,}' for v, c in unexpected[:5])
    return replace(
        base,
        value=float(hits),
        threshold=1.0,
        expected=0.0,
        observed=hits / n,
        head=f"{hits:,} predictions ({pct(hits / n)}) from unexpected versions",
        bound="1",
        detail=f"{names + '; ' if names else ''}expected {', '.join(sorted(expected))}",
        critical=hits / n >= 0.5,
        context={"unexpected": dict(unexpected), "expected_versions": sorted(expected)},
    )
