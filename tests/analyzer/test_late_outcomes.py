"""``serve`` re-evaluates ``performance`` of past windows whose outcomes arrived late.

A controllable clock drives a :class:`Service` over a model whose baseline
records performance; predictions are logged first, their outcomes later. On
files and on the real engine: outcomes logged after a window was analysed make
the next tick re-evaluate exactly that window; no new outcomes, nothing written;
windows beyond ``reevaluate_within`` are left alone; ``reevaluate_per_tick`` caps
the work of a tick.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlmon_elk.analyzer.config import Config, config_from_dict
from mlmon_elk.analyzer.run import Analyzer, RunOutcome
from mlmon_elk.analyzer.scheduler import Service
from mlmon_elk.contract import Check, Dataset, Field, stream_name
from mlmon_elk.producer.handler import PredictionHandler
from mlmon_elk.producer.outcomes import log_outcome
from mlmon_elk.profile.baseline import dump_baseline
from mlmon_elk.profile.build import BuildOptions, build_baseline
from mlmon_elk.windows import Window
from tests.conftest import EsTarget
from tests.factories import index_documents

MODEL, VERSION = "late", "1"
START = datetime(2025, 3, 1, tzinfo=UTC)
STEP = timedelta(minutes=10)
PER_WINDOW = 300
WINDOWS = 4


def window(i: int) -> Window:
    return Window(START + STEP * i, START + STEP * (i + 1))


def during(i: int) -> datetime:
    """A moment at which window ``i - 1`` is the latest settled one (delay 1m)."""
    return START + STEP * i + timedelta(minutes=2)


def scored(n: int, rng: np.random.Generator) -> pd.DataFrame:
    x = rng.normal(size=n)
    score = 1 / (1 + np.exp(-2 * x))
    return pd.DataFrame({"x": x, "score": score, "label": rng.random(n) < score})


@pytest.fixture(scope="module")
def baseline_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(1)
    baseline = build_baseline(
        scored(2000, rng),
        holdout=scored(3000, rng),
        model=MODEL,
        version=VERSION,
        options=BuildOptions(target="label", predictions=("score",), window_sizes=(300,)),
    )
    path = tmp_path_factory.mktemp("late") / "baseline.yaml"
    dump_baseline(baseline, path)
    return path


class Traffic:
    """Predictions of windows 0..3 written at once; outcomes logged when a test says."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "predictions.jsonl"
        self.handler = PredictionHandler(
            f"file://{self.path}",
            model=MODEL,
            model_version=VERSION,
            counters_interval=0,
            file_compress=False,
        )
        rng = np.random.default_rng(2)
        self.served: list[pd.DataFrame] = []
        for i in range(WINDOWS):
            rows = scored(PER_WINDOW, rng)
            gap = STEP / (PER_WINDOW + 1)
            for j, (x, score) in enumerate(
                zip(rows["x"].tolist(), rows["score"].tolist(), strict=True)
            ):
                self.handler.log_prediction(
                    inputs={"x": x},
                    outputs={"score": score},
                    prediction_id=f"{i}-{j}",
                    timestamp=window(i).start + gap * (j + 1),
                )
            self.served.append(rows)
        self.handler.flush()

    def outcomes(self, i: int, share: float, at: datetime) -> int:
        """Log outcomes for the first ``share`` of window ``i``'s predictions, at ``at``."""
        rows = self.served[i]
        n = round(share * len(rows))
        gap = STEP / (PER_WINDOW + 1)
        first = rows.iloc[:n]
        for j, (label, score) in enumerate(
            zip(first["label"].tolist(), first["score"].tolist(), strict=True)
        ):
            log_outcome(
                self.handler,
                prediction_id=f"{i}-{j}",
                outcome=bool(label),
                score=score,
                prediction_time=window(i).start + gap * (j + 1),
                timestamp=at,
            )
        self.handler.flush()
        return n

    def documents(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.path.read_text().splitlines()]


def schedule(**extra: object) -> dict[str, object]:
    return {"interval": "10m", "window": "10m", "delay": "1m", "catch_up": "1h", **extra}


def models(baseline: Path) -> list[dict[str, object]]:
    return [{"name": MODEL, "baselines": {VERSION: str(baseline)}}]


def analysed_first(config: Config, analyzer: Analyzer) -> None:
    """Windows 0..3 analysed before any outcome arrived (as a serve would have)."""
    for i in range(WINDOWS):
        assert analyzer.run(window(i)).summary.ok


def reevaluated(outcomes: Sequence[RunOutcome]) -> list[Window]:
    return [o.summary.window for o in outcomes if o.summary.notes and o.summary.ok]


def labelled(outcome: RunOutcome) -> int:
    (result,) = [r for w in outcome.results for r in w.results if r.check is Check.PERFORMANCE]
    return result.count


# ------------------------------------------------------------------- files


def file_service(folder: Path, baseline: Path, now: list[datetime], **extra: object) -> Service:
    config = config_from_dict(
        {
            "files": {"predictions": ["predictions.jsonl"], "output": "results"},
            "schedule": schedule(**extra),
            "models": models(baseline),
        },
        base=folder,
    )
    analyzer = Analyzer.from_config(config)
    analysed_first(config, analyzer)
    return Service(analyzer, clock=lambda: now[0])


def checks_written(folder: Path) -> list[dict[str, Any]]:
    lines = (folder / "results" / "checks.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_files_outcomes_logged_late_re_evaluate_exactly_their_window(
    tmp_path: Path, baseline_path: Path
) -> None:
    traffic = Traffic(tmp_path)
    now = [during(WINDOWS)]
    service = file_service(tmp_path, baseline_path, now)
    assert service.tick() == []  # nothing new: no window re-evaluated
    before = len(checks_written(tmp_path))

    now[0] += timedelta(minutes=1)
    n = traffic.outcomes(1, 0.5, at=now[0])
    now[0] += timedelta(minutes=4)
    outcomes = service.tick()
    assert reevaluated(outcomes) == [window(1)]
    assert labelled(outcomes[0]) == n
    written = checks_written(tmp_path)[before:]
    assert [d["mlmon"]["check"] for d in written] == [Check.PERFORMANCE]
    assert written[0]["event"]["end"] == "2025-03-01T00:20:00.000Z"
    assert written[0]["mlmon"]["window"]["count"] == n
    assert "created" in written[0]["event"]  # when it was evaluated: the latest is current
    assert 0.4 < written[0]["mlmon"]["realized"]["accuracy"] <= 1.0

    now[0] += timedelta(minutes=2)
    assert service.tick() == []  # no new outcomes: nothing re-evaluated, nothing written
    assert len(checks_written(tmp_path)) == before + 1


def test_files_windows_beyond_the_horizon_are_not_re_evaluated(
    tmp_path: Path, baseline_path: Path
) -> None:
    traffic = Traffic(tmp_path)
    now = [during(WINDOWS)]
    service = file_service(tmp_path, baseline_path, now, reevaluate_within="20m")
    service.tick()
    traffic.outcomes(0, 0.5, at=now[0])  # window 0 ends 30 minutes before the latest
    traffic.outcomes(2, 0.5, at=now[0])
    now[0] += timedelta(minutes=1)
    assert reevaluated(service.tick()) == [window(2)]


def test_files_a_tick_re_evaluates_at_most_reevaluate_per_tick_windows_oldest_first(
    tmp_path: Path, baseline_path: Path
) -> None:
    traffic = Traffic(tmp_path)
    now = [during(WINDOWS)]
    service = file_service(tmp_path, baseline_path, now, reevaluate_per_tick=2)
    service.tick()
    for i in range(WINDOWS):
        traffic.outcomes(i, 0.5, at=now[0])
    # Past the arrival slack: the next look does not find the same outcomes again.
    now[0] += timedelta(minutes=3)
    assert reevaluated(service.tick()) == [window(0), window(1)]
    now[0] += timedelta(minutes=1)
    assert reevaluated(service.tick()) == [window(2), window(3)]
    now[0] += timedelta(minutes=1)
    assert service.tick() == []


def test_reevaluate_within_zero_turns_the_re_evaluation_off(
    tmp_path: Path, baseline_path: Path
) -> None:
    traffic = Traffic(tmp_path)
    now = [during(WINDOWS)]
    service = file_service(tmp_path, baseline_path, now, reevaluate_within="0s")
    service.tick()
    traffic.outcomes(2, 0.5, at=now[0])
    now[0] += timedelta(minutes=1)
    assert service.tick() == []


# ------------------------------------------------------------------ engine


def engine_service(
    es: EsTarget, folder: Path, baseline: Path, now: list[datetime], **extra: object
) -> Service:
    config = config_from_dict(
        {
            "elasticsearch": {"hosts": [es.url], "retry": {"attempts": 2, "initial": "50ms"}},
            "namespace": es.namespace,
            "schedule": schedule(**extra),
            "models": models(baseline),
        },
        base=folder,
    )
    analyzer = Analyzer.from_config(config, client=es.client)
    analysed_first(config, analyzer)
    return Service(analyzer, clock=lambda: now[0])


def ship(es: EsTarget, docs: Sequence[dict[str, Any]], dataset: Dataset) -> None:
    chosen = [d for d in docs if d["data_stream"]["dataset"] == dataset]
    for d in chosen:
        d["data_stream"]["namespace"] = es.namespace
    index_documents(es.client, stream_name(dataset, es.namespace), chosen)


def performance_documents(es: EsTarget, end: str) -> list[dict[str, Any]]:
    response = es.client.search(
        index=stream_name(Dataset.CHECK, es.namespace),
        query={
            "bool": {
                "filter": [
                    {"term": {Field.CHECK: str(Check.PERFORMANCE)}},
                    {"term": {Field.EVENT_END: end}},
                ]
            }
        },
        sort=[{Field.WINDOW_COUNT: "asc"}],
        size=10,
    )
    return [h["_source"] for h in response["hits"]["hits"]]


def test_engine_outcomes_indexed_late_re_evaluate_exactly_their_window(
    es: EsTarget, tmp_path: Path, baseline_path: Path
) -> None:
    traffic = Traffic(tmp_path)
    ship(es, traffic.documents(), Dataset.PREDICTION)
    now = [during(WINDOWS)]
    service = engine_service(es, tmp_path, baseline_path, now, reevaluate_within="20m")
    assert service.tick() == []  # every window evaluated with its (zero) outcomes

    seen = len(traffic.documents())
    n = traffic.outcomes(1, 0.5, at=now[0])
    traffic.outcomes(0, 0.5, at=now[0])  # beyond the horizon: left alone
    # Logged long ago (a spool, a slow pipeline): the engine counts, it does not look at times.
    late = traffic.documents()[seen:]
    ship(es, late, Dataset.OUTCOME)
    now[0] += timedelta(minutes=3)
    outcomes = service.tick()
    assert reevaluated(outcomes) == [window(1)]
    assert labelled(outcomes[0]) == n
    documents = performance_documents(es, "2025-03-01T00:20:00.000Z")
    assert [d["mlmon"]["window"]["count"] for d in documents] == [0, n]
    assert documents[1]["event"]["created"] >= documents[0]["event"]["created"]

    now[0] += timedelta(minutes=3)
    assert service.tick() == []  # labelled counts match the latest results: nothing to do
    assert len(performance_documents(es, "2025-03-01T00:20:00.000Z")) == 2
    assert len(performance_documents(es, "2025-03-01T00:10:00.000Z")) == 1
