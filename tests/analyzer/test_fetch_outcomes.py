"""Reading outcomes from the handler's files: only what the performance counts need is
decoded, and it counts as if every line were decoded whole."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlmon_elk.analyzer import fetch_outcomes
from mlmon_elk.analyzer.fetch import FileSource
from mlmon_elk.analyzer.fetch_outcomes import FileOutcomes
from mlmon_elk.producer.handler import PredictionHandler
from mlmon_elk.producer.outcomes import log_outcome
from mlmon_elk.profile.baseline import ModelBaselines
from mlmon_elk.profile.build import BuildOptions, build_baseline
from mlmon_elk.profile.counting.performance import OutcomeCounter
from mlmon_elk.profile.outcome_lines import performance_objects
from mlmon_elk.sources.files import read_chunks
from mlmon_elk.windows import Window
from tests.compare import assert_close

MODEL, VERSION = "late", "1"
START = datetime(2025, 3, 1, tzinfo=UTC)
STEP = timedelta(minutes=10)
WINDOW = Window(START, START + STEP)
PER_WINDOW = 200


def scored(n: int, rng: np.random.Generator) -> pd.DataFrame:
    x = rng.normal(size=n)
    score = 1 / (1 + np.exp(-2 * x))
    label = rng.random(n) < score
    return pd.DataFrame({"x": x, "score": score, "label": label, "predicted": score > 0.5})


def model_of(predictions: str) -> ModelBaselines:
    """A baseline recording performance from the ``score`` (a histogram of the window's
    scores is then counted) or from the ``predicted`` class (a confusion matrix only)."""
    rng = np.random.default_rng(1)
    baseline = build_baseline(
        scored(2_000, rng),
        holdout=scored(3_000, rng),
        model=MODEL,
        version=VERSION,
        options=BuildOptions(target="label", predictions=(predictions,), window_sizes=(200,)),
    )
    assert baseline.performance is not None
    return ModelBaselines(MODEL, {VERSION: baseline}, VERSION)


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The window before, the window and the one after, for this model and another, in one
    file; outcomes for 60 % of both models' first two windows, an hour later."""
    path = tmp_path_factory.mktemp("outcomes") / "predictions.jsonl"
    handler = PredictionHandler(
        f"file://{path}", model=MODEL, model_version=VERSION, counters_interval=0
    )
    rng = np.random.default_rng(2)
    gap = STEP / (PER_WINDOW + 1)
    for name in (MODEL, "other"):
        for i in (-1, 0, 1):
            rows = scored(PER_WINDOW, rng)
            for j, row in enumerate(rows.itertuples()):
                when = WINDOW.start + STEP * i + gap * (j + 1)
                handler.log_prediction(
                    inputs={"x": row.x},
                    outputs={"score": row.score, "predicted": bool(row.predicted)},
                    prediction_id=f"{name}-{i}-{j}",
                    timestamp=when,
                    model=name,
                )
                if i < 1 and rng.random() < 0.6:
                    log_outcome(
                        handler,
                        prediction_id=f"{name}-{i}-{j}",
                        outcome=bool(row.label),
                        score=row.score,
                        predicted=bool(row.predicted),
                        prediction_time=when,
                        timestamp=START + timedelta(hours=1),
                        model=name,
                    )
    handler.close()
    return [path]


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The lines the outcome reader decodes (the others it passes over unparsed)."""
    lines: list[bytes] = []
    decode = performance_objects

    def recorded(chunk: list[bytes]) -> Any:
        lines.extend(chunk)
        return decode(chunk)

    monkeypatch.setattr(fetch_outcomes, "performance_objects", recorded)
    return lines


def kinds(lines: list[bytes]) -> Counter[tuple[str, str, bool]]:
    """(dataset, model, predicted in the window) of each line."""
    docs = [json.loads(line) for line in lines]
    return Counter(
        (
            d["event"]["dataset"],
            d["mlmon"]["model"]["name"],
            WINDOW.start.isoformat()[:16]
            <= (d["mlmon"].get("prediction_time") or d["@timestamp"])[:16]
            < WINDOW.end.isoformat()[:16],
        )
        for d in docs
    )


def decoded_whole(model: ModelBaselines, paths: list[Path], counts: Any) -> Any:
    counter = OutcomeCounter(model, WINDOW)
    for chunk in read_chunks(paths):
        counter.add(chunk)
    return counter.result(counts)


@pytest.mark.parametrize("given", [True, False], ids=["counts given", "counts not given"])
def test_a_score_histogram_decodes_the_windows_predictions_and_the_models_outcomes(
    logged: list[Path], decoded: list[bytes], given: bool
) -> None:
    """With a score, the window's own predictions are decoded (for the histogram) and the
    model's outcomes; other windows' predictions and other models' lines are passed over.
    The counts are those of every line decoded whole."""
    model = model_of("score")
    window = FileSource(logged).fetch(model, WINDOW).window
    counts = {v: w.count for v, w in window.versions.items()}

    got, files = FileOutcomes(logged).fetch(model, WINDOW, window if given else None)

    assert files == 1
    assert_close(got, decoded_whole(model, logged, counts), "outcomes")
    assert got[VERSION].predictions == PER_WINDOW
    scores = got[VERSION].scores
    assert scores is not None
    assert sum(scores) == PER_WINDOW
    seen = kinds(decoded)
    assert set(seen) == {
        ("mlmon.prediction", MODEL, True),
        ("mlmon.outcome", MODEL, True),
        ("mlmon.outcome", MODEL, False),  # outcomes of the window before: read, not counted
    }
    assert seen[("mlmon.prediction", MODEL, True)] == PER_WINDOW


def test_without_a_score_histogram_no_prediction_is_decoded_when_counts_are_given(
    logged: list[Path], decoded: list[bytes]
) -> None:
    """A confusion matrix needs only outcomes: with the window's prediction counts from
    the prediction source, no prediction line is decoded; without them, the window's."""
    model = model_of("predicted")
    window = FileSource(logged).fetch(model, WINDOW).window
    counts = {v: w.count for v, w in window.versions.items()}

    got, _ = FileOutcomes(logged).fetch(model, WINDOW, window)
    assert_close(got, decoded_whole(model, logged, counts), "outcomes")
    assert {dataset for dataset, _, _ in kinds(decoded)} == {"mlmon.outcome"}

    decoded.clear()
    alone, _ = FileOutcomes(logged).fetch(model, WINDOW, None)
    assert alone[VERSION].predictions == PER_WINDOW
    assert kinds(decoded)[("mlmon.prediction", MODEL, True)] == PER_WINDOW


def test_looking_for_late_outcomes_decodes_outcomes_only(
    logged: list[Path], decoded: list[bytes]
) -> None:
    """What arrived is told by outcomes alone: no prediction line is decoded."""
    model = model_of("score")
    before = Window(WINDOW.start - STEP, WINDOW.start)

    found, _ = FileOutcomes(logged).changed(model, [before, WINDOW], since=START, recorded=dict)

    assert found == {before, WINDOW}
    assert set(kinds(decoded)) == {("mlmon.outcome", MODEL, True), ("mlmon.outcome", MODEL, False)}


def test_a_planned_backfill_reads_the_outcome_files_once(
    logged: list[Path], decoded: list[bytes]
) -> None:
    """After plan(), the first fetch counts every planned window's outcomes in one pass:
    the later windows come out as fetched one by one, each line decoded once."""
    model = model_of("score")
    windows = [Window(WINDOW.start + STEP * i, WINDOW.end + STEP * i) for i in (-1, 0, 1)]
    counted = [FileSource(logged).fetch(model, w).window for w in windows]
    one_by_one = [
        FileOutcomes(logged).fetch(model, w, c) for w, c in zip(windows, counted, strict=True)
    ]
    decoded.clear()

    source = FileOutcomes(logged)
    source.plan(windows)
    planned = [source.fetch(model, w, c) for w, c in zip(windows, counted, strict=True)]

    assert [files for _, files in planned] == [1, 0, 0]
    assert len(decoded) == len(set(decoded)), "every line decoded once"
    for (alone, _), (together, _) in zip(one_by_one, planned, strict=True):
        assert_close(together, alone, "planned")
    assert [p[VERSION].outcomes is not None for p, _ in planned] == [True, True, False]


def test_a_planned_window_needing_its_predictions_counted_is_read_again(
    logged: list[Path],
) -> None:
    """Counted ahead without the predictions (a confusion matrix, the counts given), a
    window re-evaluated on its own (no counts given) is read again for them."""
    model = model_of("predicted")
    windows = [Window(WINDOW.start + STEP * i, WINDOW.end + STEP * i) for i in (-1, 0, 1)]
    counted = [FileSource(logged).fetch(model, w).window for w in windows]
    source = FileOutcomes(logged)
    source.plan(windows)
    assert [
        source.fetch(model, w, c)[1] for w, c in zip(windows[:2], counted[:2], strict=True)
    ] == [
        1,
        0,
    ]

    again, files = source.fetch(model, windows[2], None)

    assert files == 1
    assert again[VERSION].predictions == PER_WINDOW
