"""Power table: the smallest change each check catches in 95 % of windows, beside Evidently.

    python -m bench.power                              # ours and Evidently (~20-40 min)
    python -m bench.power --no-evidently               # ours only (~3 min)
    python -m bench.power --windows 20 --evidently-windows 5 --controls 200
    python -m bench.power --no-evidently --sizes 20000,50000 --controls 50   # sample sizes

Real flights (``bench/flights.py``): each row injects one graded change into
random control-pool windows (reference period, rows the baseline never saw)
and reports, per window size, the smallest level caught in ≥ 95 % of the
windows at that level ("> max" when none is). Evidently 0.7.23 runs with its
defaults on the first ``--evidently-windows`` windows of every level at 5,000
rows — the same frames ours saw — and its matching column verdict counts
(with 5 windows, "95 %" means all five). False alarms are counted on
``--controls`` no-drift windows per size, over every (feature × check) result,
with a 95 % Clopper–Pearson upper bound.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from bench import flights as F
from bench._evidently import run_evidently
from mlmon_elk.contract import Check, Role

SIZES = (500, 5_000)
EVIDENTLY_SIZE = 5_000
Inject = Callable[[F.Flights, F.Window, float, np.random.Generator], F.Window]


@dataclass(frozen=True)
class Row:
    name: str
    check: Check
    feature: str
    levels: tuple[float, ...]
    unit: str
    inject: Inject
    evidently: tuple[str, str]


def _std(data: F.Flights, column: str) -> float:
    role = Role.OUTPUT if column == F.OUTPUT else Role.INPUT
    f = data.baseline.feature(role, column)
    assert f is not None
    assert f.numeric is not None
    return f.numeric.std


def _shift(column: str) -> Inject:
    def inject(data: F.Flights, w: F.Window, k: float, rng: np.random.Generator) -> F.Window:
        frame = w.frame.copy()
        frame[column] = frame[column] + k * _std(data, column)
        return F.Window(frame, w.tokens, w.absent)

    return inject


def _na(column: str) -> Inject:
    def inject(data: F.Flights, w: F.Window, k: float, rng: np.random.Generator) -> F.Window:
        frame = w.frame.copy()
        frame.loc[rng.random(len(frame)) < k, column] = np.nan
        return F.Window(frame, w.tokens, w.absent)

    return inject


def _vanish(column: str) -> Inject:
    def inject(data: F.Flights, w: F.Window, k: float, rng: np.random.Generator) -> F.Window:
        absent = rng.random(len(w.frame)) < k
        frame = w.frame.copy()
        frame.loc[absent, column] = np.nan  # what a DataFrame-based peer sees
        return F.Window(frame, w.tokens, {**w.absent, column: absent})

    return inject


def _new_value(data: F.Flights, w: F.Window, k: float, rng: np.random.Generator) -> F.Window:
    return F.new_origin(k)(data, w, rng)


def _share(data: F.Flights, w: F.Window, k: float, rng: np.random.Generator) -> F.Window:
    """The carrier nearest 10 % of training gains ``k`` of share."""
    target = F.share_target(data)
    f = data.baseline.feature(Role.INPUT, "carrier")
    assert f is not None
    assert f.categorical is not None
    to = dict(f.categorical.top)[target] + k
    frame = w.frame.copy()
    carriers = frame["carrier"].to_numpy(dtype=object)
    share = float(np.mean(carriers == target))
    move = (carriers != target) & (rng.random(len(frame)) < max(to - share, 0) / (1 - share))
    frame.loc[move, "carrier"] = target
    return F.Window(frame, w.tokens, w.absent)


ROWS = (
    Row(
        "numeric_drift (distance, mean shift)",
        Check.NUMERIC_DRIFT,
        "distance",
        (0.05, 0.1, 0.15, 0.2, 0.3, 0.5),
        "σ",
        _shift("distance"),
        ("drift", "distance"),
    ),
    Row(
        "missing_spike (distance, training NA 0%)",
        Check.MISSING_SPIKE,
        "distance",
        (0.001, 0.0025, 0.005, 0.01, 0.02),
        "share",
        _na("distance"),
        ("missing", "distance"),
    ),
    Row(
        "feature_vanished (distance, always present)",
        Check.FEATURE_VANISHED,
        "distance",
        (0.001, 0.0025, 0.005, 0.01, 0.02),
        "share",
        _vanish("distance"),
        ("missing", "distance"),
    ),
    Row(
        "unseen_categories (origin, closed vocabulary)",
        Check.UNSEEN_CATEGORIES,
        "origin",
        (0.001, 0.0025, 0.005, 0.01, 0.02),
        "share",
        _new_value,
        ("outlist", "origin"),
    ),
    Row(
        "category_shift (carrier ~10% + k)",
        Check.CATEGORY_SHIFT,
        "carrier",
        (0.01, 0.02, 0.04, 0.06, 0.08),
        "share",
        _share,
        ("drift", "carrier"),
    ),
    Row(
        "prediction_drift (score + k σ)",
        Check.PREDICTION_DRIFT,
        "score",
        (0.02, 0.05, 0.1, 0.15, 0.2, 0.3),
        "σ",
        _shift("score"),
        ("drift", "score"),
    ),
)


def _level(x: float, unit: str) -> str:
    return f"{x:g} σ" if unit == "σ" else f"{x * 100:g} pts"


def _smallest(rates: dict[float, float], row: Row) -> str:
    for level in row.levels:
        if rates.get(level, 0.0) >= 0.95:
            return _level(level, row.unit)
    return f"> {_level(row.levels[-1], row.unit)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--windows", type=int, default=20, help="windows per level (ours)")
    parser.add_argument("--evidently-windows", type=int, default=5)
    parser.add_argument("--controls", type=int, default=200, help="no-drift windows per size")
    parser.add_argument("--no-evidently", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--sizes", default=",".join(str(n) for n in SIZES), help="window sizes (comma-separated)"
    )
    args = parser.parse_args()
    sizes = tuple(int(n) for n in args.sizes.split(","))
    started = time.perf_counter()
    data = F.load(seed=args.seed)
    rng = np.random.default_rng(args.seed + 200)

    ours: dict[tuple[str, int], dict[float, float]] = {}
    frames: list[pd.DataFrame] = []
    slots: list[tuple[str, float]] = []
    for row in ROWS:
        for n in sizes:
            rates: dict[float, float] = {}
            for level in row.levels:
                hits = []
                for i in range(args.windows):
                    w = row.inject(data, F.sample(data, n, rng), level, rng)
                    hits.append(F.fired(F.check(data, w), row.feature, row.check))
                    if n == EVIDENTLY_SIZE and i < args.evidently_windows:
                        frames.append(w.frame)
                        slots.append((row.name, level))
                rates[level] = float(np.mean(hits))
            ours[(row.name, n)] = rates
        print(f"  {row.name}: done ({time.perf_counter() - started:.0f} s)", flush=True)

    fa: dict[int, tuple[int, int]] = {}
    for n in sizes:
        alerts = total = 0
        for _ in range(args.controls):
            a, k, messages = F.feature_alerts(F.check(data, F.sample(data, n, rng)))
            alerts, total = alerts + a, total + k
            for m in messages:
                print(f"  control alert n={n}: {m}")
        fa[n] = (alerts, total)
    print(f"  controls done ({time.perf_counter() - started:.0f} s)", flush=True)

    evidently: dict[str, dict[float, float]] = {}
    if not args.no_evidently and frames:
        flags = run_evidently(
            data.training,
            frames,
            numerical=["distance", F.OUTPUT],
            categorical=["carrier", "origin"],
        )
        by: dict[tuple[str, float], list[bool]] = {}
        evaluation = {row.name: row.evidently for row in ROWS}
        for (name, level), f in zip(slots, flags, strict=True):
            kind, column = evaluation[name]
            by.setdefault((name, level), []).append(bool(f.get(kind, {}).get(column, False)))
        for (name, level), hits in by.items():
            evidently.setdefault(name, {})[level] = float(np.mean(hits))
        print(f"  Evidently: {len(frames)} windows ({time.perf_counter() - started:.0f} s)")

    print()
    print("SMALLEST CHANGE CAUGHT IN ≥ 95% OF WINDOWS")
    print(
        f"(ours: {args.windows} windows per level; Evidently 0.7.23 defaults:"
        f" {args.evidently_windows} windows per level at {EVIDENTLY_SIZE:,} rows, the same frames)"
    )
    columns = "".join(f" ours n={n:,} |" for n in sizes)
    print(f"| check |{columns} Evidently n={EVIDENTLY_SIZE:,} |")
    print("|---|" + "---|" * (len(sizes) + 1))
    for row in ROWS:
        ev = _smallest(evidently[row.name], row) if row.name in evidently else "–"
        smallest = "".join(f" {_smallest(ours[(row.name, n)], row)} |" for n in sizes)
        print(f"| {row.name} |{smallest} {ev} |")
    print()
    label = " / ".join(f"ours n={n:,}" for n in sizes)
    print(f"detection rate per level ({label} / Evidently n={EVIDENTLY_SIZE:,}):")
    for row in ROWS:
        cells = []
        for level in row.levels:
            rate = evidently.get(row.name, {}).get(level)
            cells.append(
                f"{_level(level, row.unit)}: "
                + " / ".join(f"{ours[(row.name, n)][level]:.0%}" for n in sizes)
                + (f" / {rate:.0%}" if rate is not None else "")
            )
        print(f"  {row.name}: " + "; ".join(cells))
    print()
    print("FALSE ALARMS on no-drift controls, per 1,000 (window × feature × check) results:")
    for n in sizes:
        alerts, total = fa[n]
        upper = float(stats.beta.ppf(0.975, alerts + 1, total - alerts))
        print(
            f"  n={n:,}: {1000 * alerts / total:.2f} ({alerts} / {total:,};"
            f" 95% upper bound {1000 * upper:.2f})"
        )
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
