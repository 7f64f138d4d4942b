"""check_run: every check of a run, one correction, messages people can act on."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from mlmon_elk.checks import CheckSettings, ModelJob, check_run
from mlmon_elk.checks.metrics import holm
from mlmon_elk.contract import Check, Kind, Role, Status
from mlmon_elk.profile.baseline import Baseline
from mlmon_elk.profile.frame import window_from_frame
from mlmon_elk.profile.window import ModelWindow, WindowProfile
from tests.checks.conftest import training_frame

T = datetime(2024, 1, 1, tzinfo=UTC)


def window(baseline: Baseline, frame: pd.DataFrame, **kw) -> WindowProfile:
    return window_from_frame(frame, baseline, start=T, end=T, **kw)


def run(baseline: Baseline, *profiles: WindowProfile, settings=None, history=()):
    versions = {p.version: p for p in profiles}
    job = ModelJob(
        ModelWindow("m", T, T, versions, history=history),
        {"1": baseline},
        settings or CheckSettings(),
    )
    return check_run([job])


def result(results, check: Check, feature: str | None = None, version: str | None = "1"):
    for w in results:
        if w.version != version:
            continue
        for r in w.results:
            if r.check is check and r.feature == feature:
                return r
    msg = f"no {check} result for {feature}"
    raise AssertionError(msg)


def test_a_clean_window_gives_every_check_and_no_alert(baseline) -> None:
    """A window from the training distribution yields ok results for every check."""
    results = run(baseline, window(baseline, training_frame(5_000, seed=7)))
    assert [w.version for w in results] == ["1", None]
    checks = {(r.check, r.feature) for r in results[0].results}
    assert (Check.NUMERIC_DRIFT, "x") in checks
    assert (Check.CATEGORY_SHIFT, "color") in checks
    assert (Check.UNSEEN_CATEGORIES, "color") in checks
    assert (Check.TEXT_OOV, "note") in checks
    assert (Check.PREDICTION_DRIFT, "score") in checks
    assert (Check.NEW_FEATURE, None) in checks
    assert {r.check for r in results[1].results} == {Check.VOLUME, Check.MODEL_VERSION}
    assert not [r for w in results for r in w.results if r.status.is_alert]


def test_category_shift_fires_with_the_documented_message(baseline) -> None:
    """A category's share moving 10% → 30% fires with PSI, threshold and the mover."""
    frame = training_frame(5_000, seed=8)
    rng = np.random.default_rng(1)
    move = (frame["color"] != "cyan") & (rng.random(5_000) < 0.23)
    frame.loc[move, "color"] = "cyan"
    r = result(run(baseline, window(baseline, frame)), Check.CATEGORY_SHIFT, "color")
    assert r.status in (Status.WARNING, Status.CRITICAL)
    message = r.message("m", "1")
    assert message.startswith("m 1 · color · category_shift: PSI ")
    assert "≥ 0.10 (n=5,000)" in message
    assert '"cyan" 10.' in message
    assert r.metric == "psi"
    assert r.p_value is not None
    assert r.p_value < 1e-6


def test_small_windows_are_insufficient_never_alerts(baseline) -> None:
    """Fewer rows than min_rows → insufficient_data, even when everything is broken."""
    frame = training_frame(100, seed=9).assign(x=1e9, color="purple")
    results = run(baseline, window(baseline, frame))
    statuses = {r.status for r in results[0].results if r.feature is not None}
    assert statuses == {Status.INSUFFICIENT_DATA}


def test_vanished_feature_and_type_switch(baseline) -> None:
    """A key missing from 40% of requests, and text arriving as numbers, both fire."""
    frame = training_frame(2_000, seed=10)
    absent = np.random.default_rng(2).random(2_000) < 0.4
    frame["note"] = frame["note"].astype(object)
    frame.loc[frame.index[:600], "note"] = 3.0
    results = run(baseline, window(baseline, frame, absent={"x": absent}))
    vanished = result(results, Check.FEATURE_VANISHED, "x")
    assert vanished.status is Status.CRITICAL
    assert vanished.observed is not None
    assert abs(vanished.observed - 0.6) < 0.05
    mismatch = result(results, Check.TYPE_MISMATCH, "note")
    assert mismatch.status is Status.CRITICAL
    assert "num ×600" in mismatch.summary


def test_correction_covers_the_whole_run(baseline) -> None:
    """A marginal effect significant alone is not significant among many checks."""
    frame = training_frame(3_000, seed=11)
    rng = np.random.default_rng(3)
    frame.loc[rng.random(3_000) < 0.03, "x"] = np.nan  # NA 5% → ~8%
    loose = CheckSettings(min_null_rise=0.0, use_calibration=False, family_alpha=0.5)
    strict = replace(loose, family_alpha=1e-12)
    assert result(
        run(baseline, window(baseline, frame), settings=loose), Check.MISSING_SPIKE, "x"
    ).status.is_alert
    r = result(run(baseline, window(baseline, frame), settings=strict), Check.MISSING_SPIKE, "x")
    assert r.status is Status.OK
    assert "not significant" in r.summary


def test_versions_without_baseline_get_operational_checks(baseline) -> None:
    """An unknown version gets latency and error_rate, and model_version flags it."""
    known = window(baseline, training_frame(3_000, seed=12))
    rogue = window(
        baseline,
        training_frame(1_000, seed=13),
        version="2-rc",
        failures=300,
        latency_ms=np.full(1_000, 900.0),
    )
    settings = CheckSettings(latency_sla_ms={95: 250})
    results = run(baseline, known, rogue, settings=settings, history=(4_000, 4_100, 3_900))
    rogue_checks = {r.check: r for r in next(w for w in results if w.version == "2-rc").results}
    assert set(rogue_checks) == {Check.LATENCY, Check.ERROR_RATE}
    assert rogue_checks[Check.ERROR_RATE].status is Status.CRITICAL
    assert rogue_checks[Check.LATENCY].status is Status.CRITICAL
    assert rogue_checks[Check.LATENCY].message("m", "2-rc") == (
        "m 2-rc · latency: p95 900 ms ≥ SLA 250 ms (n=1,000)"
    )
    version = result(results, Check.MODEL_VERSION, version=None)
    assert version.status is Status.WARNING
    assert '"2-rc" ×1,000' in version.summary
    assert result(results, Check.VOLUME, version=None).status is Status.OK


def test_volume_drop_and_missing_history(baseline) -> None:
    """Traffic at a fifth of the usual fires; without history it is insufficient."""
    small = window(baseline, training_frame(400, seed=14))
    dropped = result(run(baseline, small, history=(2_000,) * 5), Check.VOLUME, version=None)
    assert dropped.status is Status.WARNING
    assert "drop 80.0% ≥ 50.0%" in dropped.summary
    none = result(run(baseline, small), Check.VOLUME, version=None)
    assert none.status is Status.INSUFFICIENT_DATA


def test_new_inputs_and_disabled_checks(baseline) -> None:
    """An unknown input is reported (never critical); disabled checks are left out."""
    frame = training_frame(1_000, seed=15).assign(promo="x")
    r = result(run(baseline, window(baseline, frame)), Check.NEW_FEATURE)
    assert r.status is Status.WARNING
    assert '"promo" 100.0%' in r.summary
    off = CheckSettings(disabled=frozenset({Check.NEW_FEATURE, Check.TEXT_OOV}))
    checks = {
        x.check for w in run(baseline, window(baseline, frame), settings=off) for x in w.results
    }
    assert Check.NEW_FEATURE not in checks
    assert Check.TEXT_OOV not in checks


def test_malformed_counts_become_an_error_result(baseline) -> None:
    """Counts on the wrong bins yield status error for that check, not a failed run."""
    profile = window(baseline, training_frame(1_000, seed=16))
    counts = profile.feature(Role.INPUT, "x")
    assert counts is not None
    assert counts.numeric is not None
    broken = replace(counts, numeric=replace(counts.numeric, bins=(1, 2)))
    profile = replace(profile, features={**profile.features, (Role.INPUT, "x"): broken})
    r = result(run(baseline, profile), Check.NUMERIC_DRIFT, "x")
    assert r.status is Status.ERROR
    assert "bin counts" in r.summary


def test_a_run_of_500_clean_checks_raises_nothing(baseline) -> None:
    """Twenty-five models' clean windows in one run: 500+ results, no alert from noise."""
    jobs = [
        ModelJob(
            ModelWindow(
                f"m{i}", T, T, {"1": window(baseline, training_frame(1_000, seed=100 + i))}
            ),
            {"1": baseline},
        )
        for i in range(25)
    ]
    results = check_run(jobs)
    statuses = [r.status for w in results for r in w.results]
    assert len(statuses) >= 500
    assert not [s for s in statuses if s.is_alert]


def test_a_silent_model_is_a_critical_volume_alert() -> None:
    """No predictions at all after normal traffic: volume critical, nothing else judged."""
    results = check_run([ModelJob(ModelWindow("m", T, T, {}, history=(100, 120, 90)), {})])
    assert [w.version for w in results] == [None]
    statuses = {r.check: r.status for r in results[0].results}
    assert statuses == {
        Check.VOLUME: Status.CRITICAL,
        Check.MODEL_VERSION: Status.INSUFFICIENT_DATA,
    }


def coded_frame(n: int, seed: int, shares=(0.4, 0.3, 0.2, 0.1), unseen: float = 0.0):
    rng = np.random.default_rng(seed)
    schl = rng.choice([16, 21, 22, 7], n, p=list(shares)).astype(float)
    schl[rng.random(n) < unseen] = 99
    return pd.DataFrame({"SCHL": schl, "age": rng.normal(40, 10, n)})


def coded_baseline() -> Baseline:
    from mlmon_elk.profile.build import BuildOptions, build_baseline

    return build_baseline(
        coded_frame(20_000, 0),
        model="m",
        version="1",
        options=BuildOptions(kinds={"SCHL": Kind.CAT}, window_sizes=(500, 5_000)),
    )


def test_integer_coded_categories_declared_once_get_category_checks() -> None:
    """SCHL declared cat, served as numbers: no type_mismatch on controls; a share shift is a
    category_shift naming the code, never-seen codes are unseen_categories naming them."""
    baseline = coded_baseline()
    (schl,) = [f for f in baseline.features if f.name == "SCHL"]
    assert schl.categorical is not None
    assert schl.categorical.coded
    assert schl.categorical.top_names == ("16", "21", "22", "7")

    control = run(baseline, window(baseline, coded_frame(5_000, 1)))
    assert not [r for w in control for r in w.results if r.status.is_alert]
    assert result(control, Check.TYPE_MISMATCH, "SCHL").value == 0.0

    shifted = run(baseline, window(baseline, coded_frame(5_000, 2, (0.25, 0.3, 0.2, 0.25))))
    shift = result(shifted, Check.CATEGORY_SHIFT, "SCHL")
    assert shift.status.is_alert
    assert '"7" 9.9% → 25.8%' in shift.summary, shift.summary
    assert result(shifted, Check.TYPE_MISMATCH, "SCHL").status is Status.OK

    new_codes = run(baseline, window(baseline, coded_frame(5_000, 3, unseen=0.05)))
    unseen = result(new_codes, Check.UNSEEN_CATEGORIES, "SCHL")
    assert unseen.status.is_alert
    assert '"99" ×' in unseen.summary


def test_a_nan_output_counts_as_missing_not_vanished(baseline) -> None:
    """NaN scores in 10% of predictions: missing_spike on the output, feature_vanished ok."""
    frame = training_frame(5_000, seed=8)
    frame.loc[frame.index[:500], "score"] = np.nan
    results = run(baseline, window(baseline, frame))
    spike = result(results, Check.MISSING_SPIKE, "score")
    assert spike.status.is_alert
    assert spike.summary.startswith("NA 0.0% → 10.0%")
    assert result(results, Check.FEATURE_VANISHED, "score").status is Status.OK


def test_zero_rate_breaks_stay_out_of_the_correction_of_the_other_tests(baseline) -> None:
    """Holm runs over every other test exactly as before: a break test neither joins the
    family nor changes anyone's adjusted p-value."""
    frame = training_frame(500, seed=16)
    frame.loc[frame.index[:2], "score"] = np.nan
    results = run(baseline, window(baseline, frame))
    checked = [r for w in results for r in w.results]
    breaks = [r for r in checked if "break_alpha" in r.context]
    family = [r for r in checked if "p_adjusted" in r.context]
    assert (Check.FEATURE_VANISHED, "x") in {(r.check, r.feature) for r in breaks}
    alerts = [(r.check, r.feature) for r in checked if r.status.is_alert]
    assert alerts == [(Check.MISSING_SPIKE, "score")]
    assert not set(map(id, breaks)) & set(map(id, family))
    raw = [r.p_value for r in family]
    assert [r.context["p_adjusted"] for r in family] == holm([p or 0.0 for p in raw])
    assert len(family) + len(breaks) == len([r for r in checked if r.p_value is not None])
