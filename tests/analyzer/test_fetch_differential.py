"""The Elasticsearch source and the file source count the same documents identically,
so the checks and alerts computed from either are the same."""

from __future__ import annotations

import math
import random
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlmon_elk.analyzer.config import config_from_dict
from mlmon_elk.analyzer.fetch import ElasticsearchSource, FileSource
from mlmon_elk.analyzer.run import Analyzer, RunOutcome
from mlmon_elk.checks.result import CheckResult
from mlmon_elk.contract import Check, Dataset, Kind, stream_name
from mlmon_elk.profile.baseline import ModelBaselines
from mlmon_elk.profile.counting.quantiles import RELATIVE_ACCURACY
from mlmon_elk.profile.engine_plan import PlanOptions
from mlmon_elk.profile.native_lines import DISABLE_VARIABLE
from mlmon_elk.profile.window import ModelWindow
from mlmon_elk.windows import Window, parse_time
from tests.conftest import EsTarget
from tests.factories import credit_baseline, index_documents, prediction, write_jsonl

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
WINDOW = Window(START, START + timedelta(minutes=10))

WORDS = ["late", "payment", "loan", "car", "house", "crypto", "refund", "Zebra's"]
MARITAL = ["married", "single", "divorced", "widowed", "separated", "it's complicated"]


def mixed_documents(seed: int = 7, n: int = 400) -> list[dict[str, Any]]:
    """Documents exercising every counting rule: edges, nulls, arrays, unseen, type switches."""
    rng = random.Random(seed)
    docs: list[dict[str, Any]] = []
    span = (WINDOW.end - WINDOW.start).total_seconds()
    for i in range(n):
        # Most documents in the window, some in the three preceding windows, some after.
        offset = rng.uniform(-3 * span, span * 1.1)
        when = START + timedelta(seconds=offset)
        version = rng.choices(["1.0", "2.0", "0.9-beta"], weights=[6, 3, 1])[0]
        inputs: dict[str, Any] = {}
        if rng.random() < 0.9:
            inputs["age"] = rng.choice([18, 25, 40, 60, 90, 17.5, 95, rng.uniform(10, 100), None])
        if rng.random() < 0.95:
            inputs["income"] = rng.choice([None, float("nan"), rng.uniform(0, 30000), 1000])
        if rng.random() < 0.9:
            inputs["marital"] = rng.choice(
                [*MARITAL, ["married", "single"], ["divorced", "divorced"], [], None, "x" * 1100]
            )
        inputs["region"] = rng.choice(["north", "south", "east", "west", True, 3, None])
        if rng.random() < 0.8:
            inputs["note"] = " ".join(rng.sample(WORDS, rng.randint(0, 4)))
        if rng.random() < 0.1:
            inputs["brand_new"] = rng.random()
        if rng.random() < 0.05:
            inputs["zz_extra"] = "on"
        outputs: dict[str, Any] = {"score": rng.choice([0.25, 0.5, rng.random(), 1.5])}
        if rng.random() < 0.9:
            outputs["label"] = rng.choice(["approve", "reject", "review"])
        docs.append(
            prediction(
                when,
                version=version,
                inputs=inputs,
                outputs=outputs,
                latency_ms=rng.choice([rng.lognormvariate(2, 0.5), None]) if i % 7 else 3.0,
                failure=rng.random() < 0.05,
                prediction_id=f"p{i}",
            )
        )
    # Other models and the shipper's counters share the stream; neither may be counted.
    docs.append(prediction(START + timedelta(minutes=1), model="other", inputs={"age": 30}))
    shipper = prediction(START + timedelta(minutes=2), inputs={"age": 30})
    shipper["event"]["dataset"] = str(Dataset.SHIPPER)
    docs.append(shipper)
    return docs


def model_baselines() -> ModelBaselines:
    # Version 2.0 has its own baseline with other bins; others use 1.0's.
    return ModelBaselines(
        "credit",
        {"1.0": credit_baseline("1.0"), "2.0": credit_baseline("2.0", edges=(30, 50))},
        default_version="1.0",
    )


def assert_same_profile(a: Any, b: Any, path: str = "window") -> None:
    """Structural equality; floats to 1e-9 relative; percentiles: same keys (see below)."""
    if is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), path
        for f in fields(a):
            assert_same_profile(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, dict):
        assert isinstance(b, dict), path
        assert list(a) == list(b), f"{path}: keys {list(a)} != {list(b)}"
        if path.endswith("latency.percentiles"):
            return  # approximate in Elasticsearch: assert_percentiles_close
        for key in a:
            assert_same_profile(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, tuple):
        assert isinstance(b, tuple), path
        assert len(a) == len(b), f"{path}: {a} != {b}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_profile(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and not isinstance(b, int | type(None)):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def latencies_in_window(docs: list[dict[str, Any]], version: str) -> np.ndarray:
    return np.array(
        [
            d["mlmon"]["latency_ms"]
            for d in docs
            if d["event"]["dataset"] == "mlmon.prediction"
            and d["mlmon"]["model"] == {"name": "credit", "version": version}
            and "latency_ms" in d["mlmon"]
            and WINDOW.start <= parse_time(d["@timestamp"]) < WINDOW.end
        ]
    )


def assert_percentiles_close(window: ModelWindow, docs: list[dict[str, Any]]) -> None:
    """The documented tolerance: the engine's percentiles are estimates (HDR histogram, or
    TDigest) whose rank in the window's latencies is within max(2/n, 1%) of the percentile
    asked for."""
    for version, profile in window.versions.items():
        sample = np.sort(latencies_in_window(docs, version))
        assert profile.latency.count == len(sample)
        for percent, value in profile.latency.percentiles.items():
            below = np.searchsorted(sample, value, side="left") / len(sample)
            at_or_below = np.searchsorted(sample, value, side="right") / len(sample)
            slack = max(2 / len(sample), 0.01)
            assert below - slack <= percent / 100 <= at_or_below + slack, (version, percent)


def assert_percentiles_within_accuracy(window: ModelWindow, docs: list[dict[str, Any]]) -> None:
    """The file source's documented tolerance (its log-bucketed sketch): each percentile is
    within 0.5 % of the latency of rank floor(p/100 · (n − 1)) in sorted order."""
    for version, profile in window.versions.items():
        sample = latencies_in_window(docs, version)
        assert profile.latency.count == len(sample)
        for percent, value in profile.latency.percentiles.items():
            exact = float(np.percentile(sample, percent, method="lower"))
            assert math.isclose(value, exact, rel_tol=RELATIVE_ACCURACY), (version, percent)


@pytest.mark.parametrize("reader", ["native", "python"])
def test_both_sources_give_identical_window_profiles(
    es: EsTarget, tmp_path: Path, reader: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same documents in Elasticsearch and in (rotated, gzipped) files give one profile,
    whichever JSON-lines reader reads the files."""
    if reader == "python":
        monkeypatch.setenv(DISABLE_VARIABLE, "0")
    docs = mixed_documents()
    index_documents(es.client, stream_name(Dataset.PREDICTION, es.namespace), docs)
    # The file sink's rotation: the live file, a rotated one and a gzipped older one.
    write_jsonl(tmp_path / "predictions.jsonl", docs[:150])
    write_jsonl(tmp_path / "predictions.jsonl.1", docs[150:300])
    write_jsonl(tmp_path / "predictions.jsonl.2.gz", docs[300:], gzipped=True)
    model = model_baselines()

    from_es = ElasticsearchSource(es.client, es.namespace).fetch(model, WINDOW, history=3)
    from_files = FileSource([tmp_path / "predictions.jsonl*"], chunk_rows=37).fetch(
        model, WINDOW, history=3
    )

    assert set(from_es.window.versions) == {"0.9-beta", "1.0", "2.0"}
    assert sum(from_es.window.history) > 0
    assert_same_profile(from_es.window, from_files.window)
    assert_percentiles_close(from_es.window, docs)
    assert_percentiles_within_accuracy(from_files.window, docs)


def test_split_plan_counts_exactly_as_one_request(es: EsTarget) -> None:
    """An _msearch split under a tiny bucket budget gives the same profile as one search."""
    docs = mixed_documents(seed=11, n=150)
    index_documents(es.client, stream_name(Dataset.PREDICTION, es.namespace), docs)
    model = model_baselines()
    whole = ElasticsearchSource(es.client, es.namespace).fetch(model, WINDOW, history=2)
    split = ElasticsearchSource(
        es.client,
        es.namespace,
        options=PlanOptions(max_buckets=150, max_versions=3, new_features=5),
    ).fetch(model, WINDOW, history=2)
    assert split.requests == 2  # the count per version, then one _msearch
    assert any("split into" in note for note in split.notes)
    assert_same_profile(whole.window, split.window)
    for version, profile in whole.window.versions.items():
        assert split.window.versions[version].latency == profile.latency


def test_percentile_tolerance_holds_on_skewed_latencies(es: EsTarget, tmp_path: Path) -> None:
    """On 2,000 skewed latencies both sources' percentiles meet the documented tolerance."""
    rng = np.random.default_rng(3)
    docs = [
        prediction(START + timedelta(seconds=i * 0.25), inputs={"age": 30}, latency_ms=float(x))
        for i, x in enumerate(rng.lognormal(3, 1, 2000))
    ]
    index_documents(es.client, stream_name(Dataset.PREDICTION, es.namespace), docs)
    write_jsonl(tmp_path / "p.jsonl", docs)
    model = model_baselines()
    a = ElasticsearchSource(es.client, es.namespace).fetch(model, WINDOW).window
    b = FileSource([tmp_path / "p.jsonl"]).fetch(model, WINDOW).window
    assert a.versions["1.0"].latency.count == 2000
    assert_same_profile(a, b)
    assert_percentiles_close(a, docs)
    assert_percentiles_close(b, docs)  # the engine's rank tolerance holds for the files too
    assert_percentiles_within_accuracy(b, docs)


def test_the_real_handlers_documents_count_like_the_contracts(tmp_path: Path) -> None:
    """The scenario through PredictionHandler's file sink and through tests.factories
    (the contract, field by field) give one window profile: the tests' documents are real."""
    from mlmon_elk.producer.handler import PredictionHandler
    from tests import scenario

    active = tmp_path / "handler" / "predictions.jsonl"
    handler = PredictionHandler(
        f"file://{active}",
        model=scenario.MODEL,
        model_version=scenario.VERSION,
        text_inputs=["note"],
        spool_dir=None,
    )
    try:
        scenario.log_window(handler, 1, injected=True)
    finally:
        handler.close()
    write_jsonl(tmp_path / "contract.jsonl", scenario.documents(1, injected=True))
    model = model_baselines()
    window = Window(scenario.window_start(1), scenario.window_start(2))
    logged = FileSource([active]).fetch(model, window).window
    written = FileSource([tmp_path / "contract.jsonl"]).fetch(model, window).window
    assert logged.count == scenario.WINDOW_ROWS
    assert_same_profile(logged, written)
    assert logged.versions["1.0"].latency == written.versions["1.0"].latency


def _checks(outcome: RunOutcome) -> dict[tuple[Any, ...], CheckResult]:
    return {
        (w.model, w.version, r.check, r.role, r.feature): r
        for w in outcome.results
        for r in w.results
    }


def _transitions(outcome: RunOutcome) -> list[tuple[Any, ...]]:
    return sorted(
        (str(e.key), str(e.transition), str(e.severity), e.window.start) for e in outcome.alerts
    )


LATENCY_CHECKS = {Check.LATENCY}
"""Percentile-based: HDR estimates on the engine, a sketch on files (same status)."""


def test_both_sources_give_identical_check_results_and_alert_transitions(
    es: EsTarget, tmp_path: Path
) -> None:
    """The scenario (clean, injected, then clean until the alerts resolve) analysed from the
    engine and from files: every check has the same status, count and metric, and the same
    alerts open, recover and resolve."""
    from tests import scenario

    _, baseline_path = scenario.build(tmp_path)
    windows = [scenario.documents(i, injected=i == 1) for i in range(5)]
    index_documents(
        es.client,
        stream_name(Dataset.PREDICTION, es.namespace),
        [d for docs in windows for d in docs],
    )
    for i, docs in enumerate(windows):
        write_jsonl(tmp_path / f"predictions.jsonl.{i}", docs, gzipped=i == 1)
    common = {
        "namespace": es.namespace,
        "schedule": {"interval": "10m", "window": "10m", "delay": "1m"},
        "analysis": {"history": 2},
        "models": [{"name": scenario.MODEL, "baselines": [str(baseline_path)]}],
    }
    on_engine = Analyzer.from_config(
        config_from_dict({**common, "elasticsearch": {"hosts": [es.url]}}), client=es.client
    )
    on_files = Analyzer.from_config(
        config_from_dict(
            {
                **common,
                "files": {"predictions": [str(tmp_path / "predictions.jsonl.*")], "output": "out"},
            },
            base=tmp_path,
        )
    )
    seen: set[str] = set()
    for i in range(len(windows)):
        window = Window(scenario.window_start(i), scenario.window_start(i + 1))
        a, b = on_engine.run(window), on_files.run(window)
        assert (a.summary.errors, b.summary.errors) == ((), ())
        engine_checks, file_checks = _checks(a), _checks(b)
        assert list(engine_checks) == list(file_checks)
        for key, x in engine_checks.items():
            y = file_checks[key]
            assert (x.status, x.count, x.metric) == (y.status, y.count, y.metric), key
            if x.check not in LATENCY_CHECKS:
                assert_same_profile(
                    (x.value, x.threshold, x.p_value, x.expected, x.observed),
                    (y.value, y.threshold, y.p_value, y.expected, y.observed),
                    str(key),
                )
        assert _transitions(a) == _transitions(b)
        seen |= {str(e.transition) for e in a.alerts}
    # The comparison covered alerts opening, recovering and closing.
    assert seen == {"new", "recovering", "resolved"}


def test_integer_coded_categories_count_alike_in_both_sources(es: EsTarget, tmp_path: Path) -> None:
    """A column declared categorical whose values arrive as numbers (``SCHL=22``): both
    sources count the numbers as their codes — top codes, other, unseen codes named — and
    strings sent for the same feature add to the same counts."""
    from dataclasses import replace

    from tests.factories import baseline, categorical

    schl = categorical("SCHL", {"16": 0.3, "21": 0.2, "22": 0.1}, ["1", "2", "19", "x"])
    assert schl.categorical is not None
    schl = replace(schl, categorical=replace(schl.categorical, coded=True))
    model = ModelBaselines("census", {"1": baseline("census", "1", [schl])}, default_version="1")
    rng = random.Random(5)
    values: list[Any] = [16] * 40 + [21] * 25 + [22.0] * 12 + [19] * 9 + [2] * 5
    values += [99] * 7 + [2.5] * 3 + [-4] * 2 + ["16"] * 4 + ["x"] * 2 + ["new"] * 1 + [None] * 3
    rng.shuffle(values)
    docs = [
        prediction(
            START + timedelta(seconds=i),
            model="census",
            version="1",
            inputs={"SCHL": v},
            prediction_id=f"c{i}",
        )
        for i, v in enumerate(values)
    ]
    index_documents(es.client, stream_name(Dataset.PREDICTION, es.namespace), docs)
    write_jsonl(tmp_path / "p.jsonl", docs)

    from_es = ElasticsearchSource(es.client, es.namespace).fetch(model, WINDOW).window
    from_files = FileSource([tmp_path / "p.jsonl"]).fetch(model, WINDOW).window

    assert_same_profile(from_es, from_files)
    counts = from_files.versions["1"].feature(schl.role, "SCHL")
    assert counts is not None
    assert counts.categorical is not None
    cat = counts.categorical
    assert cat.top == (("16", 44), ("21", 25), ("22", 12))
    assert (cat.other, cat.unseen, cat.count) == (16, 13, 110)
    assert cat.unseen_examples == (("99", 7), ("2.5", 3), ("-4", 2), ("new", 1))
    assert counts.kinds == {Kind.NUM: 103, Kind.CAT: 7}
