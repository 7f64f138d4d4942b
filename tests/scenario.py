"""A seeded monitoring scenario: a baseline from training data and windows of predictions.

The training data has every kind of feature. A *clean* window is drawn from
the training distribution; the *injected* window breaks exactly five things,
one per check, each on its own feature:

========================  ====================================================
``feature_vanished``      ``income`` missing from 40% of requests (key absent)
``missing_spike``         ``age`` sent as null in 25% of requests
``category_shift``        ``marital`` shares move (divorced 15% → 45%)
``unseen_categories``     ``city`` gets 5% more never-seen cities (5% is normal)
``text_oov``              ``note`` gets a third of its words from outside the vocabulary
========================  ====================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlmon_elk.contract import Check, Kind
from mlmon_elk.producer.handler import PredictionHandler
from mlmon_elk.profile.baseline import Baseline, dump_baseline
from mlmon_elk.profile.build import BuildOptions, build_baseline
from tests.factories import prediction

MODEL = "credit"
VERSION = "1.0"
START = datetime(2024, 5, 1, 12, tzinfo=UTC)
STEP = timedelta(minutes=10)
WINDOW_ROWS = 1000

MARITAL = ("married", "single", "divorced", "widowed")
MARITAL_P = (0.5, 0.3, 0.15, 0.05)
SHIFTED_P = (0.2, 0.3, 0.45, 0.05)
CITIES = tuple(f"city{i:04d}" for i in range(3000))
"""An open vocabulary: 20,000 training rows miss ~5% of the traffic's cities."""
WORDS = tuple(f"w{i:02d}" for i in range(60))

INJECTED = {
    (Check.FEATURE_VANISHED, "income"),
    (Check.MISSING_SPIKE, "age"),
    (Check.CATEGORY_SHIFT, "marital"),
    (Check.UNSEEN_CATEGORIES, "city"),
    (Check.TEXT_OOV, "note"),
}
"""(check, feature) of every alert the injected window must raise — and no other."""


def _city_weights() -> np.ndarray:
    w = 1 / np.arange(1, len(CITIES) + 1)
    return w / w.sum()


def rows(n: int, rng: np.random.Generator, *, injected: bool = False) -> pd.DataFrame:
    """``n`` requests as raw values (None = null), the injected faults if asked."""
    age = np.clip(rng.normal(45, 12, n), 18, 90).round(1)
    income = rng.lognormal(8, 0.6, n).round(2)
    marital = rng.choice(MARITAL, n, p=SHIFTED_P if injected else MARITAL_P)
    city = rng.choice(CITIES, n, p=_city_weights()).astype(object)
    note_words = rng.choice(WORDS, (n, 6))
    if injected:
        unseen = rng.random(n) < 0.05
        city[unseen] = [f"atlantis{k}" for k in rng.integers(0, 50, unseen.sum())]
        foreign = rng.random((n, 6)) < 1 / 3
        note_words = np.where(foreign, np.char.add("zz", note_words), note_words)
    notes = [" ".join(words) for words in note_words]
    score = 1 / (1 + np.exp(-(age - 45) / 12))
    frame = pd.DataFrame(
        {
            "age": age.astype(object),
            "income": income,
            "marital": marital,
            "city": city,
            "note": notes,
            "score": score.round(4),
        }
    )
    if injected:
        frame.loc[rng.random(n) < 0.25, "age"] = None
    return frame


def build(tmp: Path, *, seed: int = 1) -> tuple[Baseline, Path]:
    """The baseline of 20,000 training rows, written to ``tmp``."""
    training = rows(20_000, np.random.default_rng(seed))
    training["age"] = training["age"].astype(float)
    baseline = build_baseline(
        training,
        model=MODEL,
        version=VERSION,
        options=BuildOptions(
            outputs=frozenset({"score"}),
            kinds={"note": Kind.TEXT},
            window_sizes=(500, 2_000),
            calibration_windows=60,
        ),
    )
    path = tmp / f"{MODEL}-{VERSION}.yaml"
    dump_baseline(baseline, path)
    return baseline, path


def window_start(i: int) -> datetime:
    return START + STEP * i


@dataclass(frozen=True)
class Request:
    """One prediction of the scenario, before any logging."""

    when: datetime
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    latency_ms: float
    prediction_id: str


def requests(
    i: int, *, injected: bool = False, seed: int = 100, n: int = WINDOW_ROWS
) -> list[Request]:
    """The predictions of window ``i`` ([START + i·STEP, +STEP)), in time order."""
    rng = np.random.default_rng(seed + i)
    frame = rows(n, rng, injected=injected)
    vanish = rng.random(n) < (0.4 if injected else 0.0)
    out = []
    offsets = np.sort(rng.uniform(0, STEP.total_seconds(), n))
    for k, (record, offset) in enumerate(zip(frame.to_dict("records"), offsets, strict=True)):
        inputs = {key: record[key] for key in ("age", "income", "marital", "city", "note")}
        if vanish[k]:
            del inputs["income"]
        out.append(
            Request(
                when=window_start(i) + timedelta(seconds=float(offset)),
                inputs=inputs,
                outputs={"score": record["score"]},
                latency_ms=float(rng.gamma(4, 5)),
                prediction_id=f"w{i}-{k}",
            )
        )
    return out


def documents(
    i: int, *, injected: bool = False, seed: int = 100, n: int = WINDOW_ROWS
) -> list[dict[str, Any]]:
    """Prediction documents of window ``i``, written by the contract (``tests.factories``)."""
    return [
        prediction(
            r.when,
            model=MODEL,
            version=VERSION,
            inputs=r.inputs,
            outputs=r.outputs,
            latency_ms=r.latency_ms,
            prediction_id=r.prediction_id,
        )
        for r in requests(i, injected=injected, seed=seed, n=n)
    ]


def log_window(handler: PredictionHandler, i: int, *, injected: bool = False) -> None:
    """Log the predictions of window ``i`` through the real handler."""
    for r in requests(i, injected=injected):
        handler.log_prediction(
            inputs=r.inputs,
            outputs=r.outputs,
            latency_ms=r.latency_ms,
            prediction_id=r.prediction_id,
            timestamp=r.when,
        )
