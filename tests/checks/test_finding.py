"""The decision rule: effect AND significance, severity, and the one-sentence message."""

from __future__ import annotations

from dataclasses import replace

from mlmon_elk.checks.finding import Finding, decide, pct, pts
from mlmon_elk.checks.settings import CheckSettings
from mlmon_elk.contract import Check, Status

BASE = Finding(
    Check.CATEGORY_SHIFT,
    "psi",
    5_000,
    feature="marital_status",
    value=0.31,
    threshold=0.10,
    p_value=1e-9,
    head="PSI 0.31",
    bound="0.10",
    detail='"divorced" 12.0% → 31.0%',
)


def test_fires_critical_at_twice_the_threshold_with_the_design_message() -> None:
    """The message reads like DESIGN.md §5's example."""
    r = decide(BASE, 1e-7, CheckSettings())
    assert r.status is Status.CRITICAL
    assert r.message("credit-risk", "1.2.0") == (
        "credit-risk 1.2.0 · marital_status · category_shift: PSI 0.31 ≥ 0.10 (n=5,000);"
        ' "divorced" 12.0% → 31.0%'
    )
    assert r.context["p_adjusted"] == 1e-7


def test_large_but_not_significant_stays_ok_and_says_why() -> None:
    """An effect above threshold whose corrected p-value is too large does not fire."""
    r = decide(BASE, 0.2, CheckSettings())
    assert r.status is Status.OK
    assert "but not significant after correction" in r.summary


def test_significant_but_small_is_a_notice_and_warning_below_twice() -> None:
    """Significance alone never fires: it is a notice, said as such; between 1× and 2× the
    threshold is a warning; neither significant nor large is ok."""
    small = replace(BASE, value=0.05, head="PSI 0.05")
    notice = decide(small, 1e-9, CheckSettings())
    assert notice.status is Status.NOTICE
    assert not notice.status.is_alert
    assert notice.summary.startswith(
        "PSI 0.05 < 0.10 (n=5,000), significant but small (p=1e-09 corrected): notice"
    )
    assert decide(small, 0.5, CheckSettings()).status is Status.OK
    medium = replace(BASE, value=0.15)
    assert decide(medium, 1e-9, CheckSettings()).status is Status.WARNING


def test_a_second_effect_can_make_it_large_and_a_negligible_one_caps_it_at_notice() -> None:
    """``alternative`` fires under the threshold (a warning, said why); ``negligible`` keeps
    a large PSI to a notice."""
    alt = replace(BASE, value=0.06, head="PSI 0.06", alternative="W/σ 0.15 ≥ 0.10", critical=False)
    r = decide(alt, 1e-9, CheckSettings())
    assert r.status is Status.WARNING
    assert r.summary.startswith("PSI 0.06 < 0.10 (n=5,000), W/σ 0.15 ≥ 0.10;")
    tiny = replace(BASE, negligible="W/σ 0.003 < 0.02: a negligible shift on the value scale")
    r = decide(tiny, 1e-9, CheckSettings())
    assert r.status is Status.NOTICE
    assert "but W/σ 0.003 < 0.02" in r.summary


def test_insufficient_data_is_never_an_alert() -> None:
    """A reason for insufficient data wins over everything else."""
    r = decide(
        replace(BASE, insufficient="12 values < 200 (min_rows)"),
        0.0,
        CheckSettings(),
    )
    assert r.status is Status.INSUFFICIENT_DATA
    assert r.summary == "insufficient data: 12 values < 200 (min_rows)"


def test_number_formats() -> None:
    """Shares and point differences read naturally."""
    assert (pct(0.126), pct(0.0004), pts(0.101), pts(-0.02)) == (
        "12.6%",
        "0.04%",
        "+10.1 pts",
        "-2.0 pts",
    )
