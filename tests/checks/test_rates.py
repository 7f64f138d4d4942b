"""Rate checks: a rate that was zero in training breaks on a significant handful."""

from __future__ import annotations

import numpy as np
import pytest

from mlmon_elk.checks import CheckSettings, metrics
from mlmon_elk.checks.rates import left_out_rows, rate_minimum, zero_reference
from mlmon_elk.contract import Check, Role, Status
from mlmon_elk.profile.baseline import CategoricalProfile
from tests.checks.conftest import training_frame
from tests.checks.test_run import result, run, window


def test_the_minimum_is_a_count_where_the_baseline_rate_was_zero() -> None:
    s = CheckSettings()
    assert rate_minimum(0.02, 0.0, 5_000, s) == pytest.approx(2 / 5_000)
    assert rate_minimum(0.02, 0.0, 500, s) == pytest.approx(2 / 500)
    assert rate_minimum(0.02, 0.005, 5_000, s) == 0.005  # rare but natural: its own size
    assert rate_minimum(0.02, 0.0002, 5_000, s) == s.min_rise_floor
    assert rate_minimum(0.02, 0.05, 5_000, s) == 0.02  # common: the fixed minimum


def test_a_zero_rate_is_tested_against_training_and_held_out_rows(baseline) -> None:
    """score was never null in training nor held out; x is null in 5% of rows."""
    score = baseline.feature(Role.OUTPUT, "score")
    x = baseline.feature(Role.INPUT, "x")
    assert score is not None
    assert x is not None
    both = baseline.rows + baseline.holdout_rows
    assert zero_reference(score, Check.MISSING_SPIKE, 0.0, baseline.rows, baseline) == both
    assert zero_reference(x, Check.MISSING_SPIKE, x.null_rate, 123.0, baseline) == 123.0


def test_training_rows_count_for_new_values_only_when_no_category_was_seen_once() -> None:
    def profile(top: tuple[tuple[str, float], ...], size: int) -> CategoricalProfile:
        vocabulary = frozenset(v for v, _ in top)
        return CategoricalProfile(top, 1 - sum(s for _, s in top), vocabulary, size, 0.0)

    assert left_out_rows(profile((("a", 0.6), ("b", 0.4)), 2), 1_000) == 1_000
    assert left_out_rows(profile((("a", 0.999), ("b", 0.001)), 2), 1_000) == 0  # "b" once
    assert left_out_rows(profile((("a", 0.6),), 30), 1_000) == 0  # counts unknown


@pytest.mark.parametrize(("nulls", "alerts"), [(1, False), (2, True), (3, True)])
def test_a_never_null_output_breaks_on_two_nulls_in_500(baseline, nulls, alerts) -> None:
    """Against 20,000 clean reference rows, 2 nulls in 500 give p = 1.6e-4 ≤ 0.001."""
    frame = training_frame(500, seed=11)
    frame.loc[frame.index[:nulls], "score"] = np.nan
    spike = result(run(baseline, window(baseline, frame)), Check.MISSING_SPIKE, "score")
    assert spike.status.is_alert is alerts
    if alerts:
        assert spike.summary.startswith(f"NA 0.0% → {nulls / 500:.1%}")
        assert f"null in {nulls} rows, where 20,000 reference rows had none" in spike.summary
    else:
        assert spike.status is Status.OK


def test_a_break_is_judged_at_its_own_level_outside_the_correction(baseline) -> None:
    """The zero-rate test's exact unconditional p-value meets ``break_alpha`` per check,
    not Holm's family level; the message and the context say so."""
    frame = training_frame(500, seed=11)
    frame.loc[frame.index[:2], "score"] = np.nan
    spike = result(run(baseline, window(baseline, frame)), Check.MISSING_SPIKE, "score")
    assert spike.status is Status.WARNING  # at the 2-occurrence minimum; critical from 4
    assert spike.p_value == pytest.approx(metrics.zero_rate_pvalue(2, 500, 20_000))
    assert spike.context["break_alpha"] == 0.001
    assert "p_adjusted" not in spike.context
    assert ", p=0.00016 ≤ 0.001 per check; null in 2 rows, where 20,000" in spike.summary

    strict = CheckSettings(break_alpha=1e-5)
    quiet = result(
        run(baseline, window(baseline, frame), settings=strict), Check.MISSING_SPIKE, "score"
    )
    assert quiet.status is Status.OK
    assert "but not significant at 1e-05 per check (p=0.00016)" in quiet.summary


def test_a_break_needs_more_occurrences_in_a_bigger_window(baseline) -> None:
    """2 nulls in 5,000 rows against 20,000 clean ones are a rate of 1 in 10,000 as
    easily as a break (p = 0.012); 4 are not (p = 3.7e-4)."""
    for nulls, alerts in ((2, False), (4, True)):
        frame = training_frame(5_000, seed=14)
        frame.loc[frame.index[:nulls], "score"] = np.nan
        spike = result(run(baseline, window(baseline, frame)), Check.MISSING_SPIKE, "score")
        assert spike.status.is_alert is alerts, spike.summary
        assert spike.p_value == pytest.approx(metrics.zero_rate_pvalue(nulls, 5_000, 20_000))


def test_a_rate_above_zero_keeps_the_fisher_test_inside_the_correction(baseline) -> None:
    """x is null in 5% of training: no per-check level, a Fisher p-value, Holm-adjusted."""
    frame = training_frame(5_000, seed=15)
    spike = result(run(baseline, window(baseline, frame)), Check.MISSING_SPIKE, "x")
    assert "break_alpha" not in spike.context
    assert spike.context["p_adjusted"] >= spike.p_value


def test_a_new_value_in_a_closed_vocabulary_is_named_with_its_count(baseline) -> None:
    frame = training_frame(500, seed=12)
    frame.loc[frame.index[:3], "color"] = "magenta"
    unseen = result(run(baseline, window(baseline, frame)), Check.UNSEEN_CATEGORIES, "color")
    assert unseen.status.is_alert
    assert "closed vocabulary of 4: 3 of 500" in unseen.summary
    assert '"magenta" ×3' in unseen.summary


def test_a_rare_natural_rate_keeps_its_own_minimum(baseline) -> None:
    """x is null in 5% of training: a few extra nulls are not a break."""
    frame = training_frame(5_000, seed=13)
    values = frame["x"].to_numpy()
    extra = np.flatnonzero(~np.isnan(values))[:20]
    frame.loc[frame.index[extra], "x"] = np.nan
    spike = result(run(baseline, window(baseline, frame)), Check.MISSING_SPIKE, "x")
    assert not spike.status.is_alert
    assert spike.threshold is not None
    assert spike.threshold >= 0.02
