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


BREAK = Finding(
    Check.MISSING_SPIKE,
    "null_rate_rise",
    5_000,
    feature="distance",
    value=0.0004,
    threshold=0.0004,
    p_value=0.00091,
    alpha=0.001,
    head="NA 0.0% → 0.04%",
    effect="+0.04 pts",
    bound="0.04 pts",
    detail="null in 2 rows, where 83,079 reference rows had none",
)


def test_a_test_with_its_own_level_is_judged_there_and_says_so() -> None:
    """A zero-rate break test is outside Holm's family: its raw p-value meets its own
    per-check level, and the message names that level."""
    assert not BREAK.tested
    r = decide(BREAK, None, CheckSettings())
    assert r.status is Status.WARNING
    assert r.summary == (
        "NA 0.0% → 0.04% (+0.04 pts ≥ 0.04 pts, n=5,000), p=0.00091 ≤ 0.001 per check;"
        " null in 2 rows, where 83,079 reference rows had none"
    )
    assert r.context == {"break_alpha": 0.001}
    above = decide(replace(BREAK, p_value=0.0021), None, CheckSettings())
    assert above.status is Status.OK
    assert "(+0.04 pts ≥ 0.04 pts, n=5,000) but not significant at 0.001 per check (p=0.0021)" in (
        above.summary
    )
    one = replace(BREAK, value=0.0002, p_value=0.0005, effect="+0.02 pts")
    notice = decide(one, None, CheckSettings())
    assert notice.status is Status.NOTICE
    assert "significant but small (p=0.0005 ≤ 0.001 per check): notice" in notice.summary
    vanished = decide(replace(BREAK, value=0.3, p_value=0.0), None, CheckSettings())
    assert "p<1e-300 ≤ 0.001 per check" in vanished.summary  # underflowed, not "p=0"


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
