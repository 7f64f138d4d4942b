"""Scenario suite: detection and false alarms of every check on real flights, beside Evidently.

    python -m bench.scenarios                      # the full table (~30 min with Evidently)
    python -m bench.scenarios --no-evidently       # ours only
    python -m bench.scenarios --windows 50 --evidently-windows 5   # quicker

Data and injections: ``bench/flights.py``. For each window size, no-drift
**controls** are random windows of control-pool rows (reference period, never
seen by the baseline); each **scenario** injects one drift at its stated
magnitude into such a window. Detection = share of scenario windows where the
target check alerts on the target feature — for the slow drift, where it is a
``notice`` (significant, under every alert threshold) — (Evidently: its
corresponding column verdict; ``hour`` is given to Evidently as categorical,
as it is declared in our baseline). False alarms = alerts per 1,000
(window × feature × check) results on the controls, with a 95 % Clopper–Pearson
upper bound. Evidently runs with its defaults (``bench/_evidently.py``) on the
first ``--evidently-windows`` windows of every cell — the same windows ours saw.

Then, as behaviour under real seasonality (no goal): each later month as one
window, consecutive 5,000-row windows through July–December, and consecutive
5,000-row windows *within* the reference period (time-ordered control pool).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bench import flights as F
from bench._evidently import run_evidently

SIZES = (500, 5_000, 50_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--windows", type=int, default=200, help="windows per cell (ours)")
    parser.add_argument(
        "--evidently-windows", type=int, default=5, help="windows per cell for Evidently"
    )
    parser.add_argument("--no-evidently", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    started = time.perf_counter()
    data = F.load(seed=args.seed)
    print(
        f"baseline: {data.baseline.rows:,} training rows (+{data.baseline.holdout_rows:,} held out"
        f" for calibration); control pool {len(data.pool):,} rows; later months"
        f" {len(data.later):,} rows; built and loaded in {time.perf_counter() - started:.0f} s"
    )
    print(f'category scenario target: carrier "{F.share_target(data)}"')
    rng = np.random.default_rng(args.seed + 100)
    ours: dict[tuple[str, int], list[bool]] = {}
    fa: dict[int, tuple[int, int]] = {}
    fa_examples: list[str] = []
    ev_windows: dict[int, dict[str, list[pd.DataFrame]]] = {n: {} for n in SIZES}
    seconds: dict[int, list[float]] = {n: [] for n in SIZES}
    for n in SIZES:
        windows = args.windows if n < 50_000 else max(args.windows // 4, 10)
        alerts = total = 0
        for i in range(windows):
            w = F.sample(data, n, rng)
            t = time.perf_counter()
            results = F.check(data, w)
            seconds[n].append(time.perf_counter() - t)
            a, k, messages = F.feature_alerts(results)
            alerts, total = alerts + a, total + k
            fa_examples += messages
            if i < args.evidently_windows:
                ev_windows[n].setdefault("controls", []).append(w.frame)
        fa[n] = (alerts, total)
        for sc in F.SCENARIOS:
            hits = []
            for i in range(windows):
                w = sc.inject(data, F.sample(data, n, rng), rng)
                hits.append(F.caught(F.check(data, w), sc))
                if i < args.evidently_windows:
                    ev_windows[n].setdefault(sc.name, []).append(w.frame)
            ours[(sc.name, n)] = hits
        print(f"  n={n:,}: {windows} windows per cell done ({time.perf_counter() - started:.0f} s)")

    evidently: dict[tuple[str, int], Any] = {}
    ev_seconds: dict[int, float] = {}
    if not args.no_evidently:
        for n in SIZES:
            names = list(ev_windows[n])
            frames = [f for name in names for f in ev_windows[n][name]]
            t = time.perf_counter()
            flags = run_evidently(
                data.training,
                frames,
                numerical=[*F.NUMERIC, F.OUTPUT],
                categorical=[*F.CATEGORICAL, *F.CODED],
                text=F.TEXT,
            )
            ev_seconds[n] = (time.perf_counter() - t) / max(len(frames), 1)
            i = 0
            for name in names:
                k = len(ev_windows[n][name])
                evidently[(name, n)] = flags[i : i + k]
                i += k
            print(
                f"  Evidently n={n:,}: {len(frames)} windows"
                f" ({time.perf_counter() - started:.0f} s)"
            )

    print()
    _detection_table(ours, evidently, args)
    print()
    _false_alarm_table(fa, evidently, args)
    if fa_examples:
        print("  control alerts (ours):")
        for m in fa_examples[:10]:
            print(f"    {m}")
    print()
    print(
        "time per window (profile + all checks), ours: "
        + ", ".join(f"n={n:,} {np.mean(seconds[n]) * 1000:.0f} ms" for n in SIZES)
    )
    if ev_seconds:
        print(
            "time per window, Evidently (preset + tests, in its worker): "
            + ", ".join(f"n={n:,} {ev_seconds[n] * 1000:.0f} ms" for n in SIZES)
        )
    print()
    _real_world(data)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


def _rate(hits: list[bool]) -> str:
    return f"{100 * np.mean(hits):5.1f}%" if hits else "   – "


def _ev_hit(flags: dict[str, Any], evaluation: str, column: str) -> bool:
    return bool(flags.get(evaluation, {}).get(column, False))


def _detection_table(ours: dict, evidently: dict, args: argparse.Namespace) -> None:
    print("DETECTION: share of windows in which the scenario is caught")
    print(
        f"(ours: the target check alerts, {args.windows} windows per cell, 50,000: "
        f"{max(args.windows // 4, 10)}; Evidently: the matching column verdict,"
        f" {args.evidently_windows} windows per cell)"
    )
    head = "| scenario | check (feature) | " + " | ".join(
        f"n={n:,} ours | n={n:,} Evidently" for n in SIZES
    )
    print(head + " |")
    print("|" + "---|" * (2 + 2 * len(SIZES)))
    for sc in F.SCENARIOS:
        cells = []
        for n in SIZES:
            cells.append(_rate(ours[(sc.name, n)]))
            flags = evidently.get((sc.name, n))
            cells.append(
                _rate([_ev_hit(f, *sc.evidently) for f in flags]) if flags is not None else "–"
            )
        print(f"| {sc.name} | {sc.check} ({sc.feature}) | " + " | ".join(cells) + " |")
    ev_names = {sc.name: f"{sc.evidently[0]}({sc.evidently[1]})" for sc in F.SCENARIOS}
    print(
        "Evidently verdicts used: "
        + "; ".join(f"{name} → {v}" for name, v in ev_names.items())
        + " (drift = DataDriftPreset column drift; missing = TestColumnShareOfMissingValues;"
        " outlist = TestNumberOfOutListValues)"
    )


def _upper(alerts: int, total: int) -> float:
    return float(stats.beta.ppf(0.975, alerts + 1, total - alerts)) if total > alerts else 1.0


def _false_alarm_table(fa: dict, evidently: dict, args: argparse.Namespace) -> None:
    print("FALSE ALARMS on no-drift controls, per 1,000 (window × feature × check) results")
    print(
        "| window size | ours | ours: alerts / results (95% upper bound)"
        " | Evidently | Evidently: flags / verdicts |"
    )
    print("|---|---|---|---|---|")
    for n in SIZES:
        alerts, total = fa[n]
        ours = f"{1000 * alerts / total:.2f}"
        detail = f"{alerts} / {total:,} (≤ {1000 * _upper(alerts, total):.2f})"
        flags = evidently.get(("controls", n))
        if flags is not None:
            verdicts = [
                v
                for f in flags
                for key in ("drift", "missing", "outlist")
                for v in f.get(key, {}).values()
            ]
            ev = f"{1000 * np.mean(verdicts):.0f}"
            ev_detail = f"{sum(verdicts)} / {len(verdicts)}"
            by = Counter(
                f"{key}({col})"
                for f in flags
                for key in ("drift", "missing", "outlist")
                for col, v in f.get(key, {}).items()
                if v
            )
            ev_detail += " — " + ", ".join(f"{k} {c}/{len(flags)}" for k, c in by.most_common(6))
        else:
            ev, ev_detail = "–", "–"
        print(f"| {n:,} | {ours} | {detail} | {ev} | {ev_detail} |")


def _real_world(data: F.Flights) -> None:
    later = data.later
    print("REAL-WORLD (no goal): each later month as one window — what fires")
    for month in range(7, 13):
        rows = np.flatnonzero(later["month"].to_numpy() == month)
        w = F.Window(
            later.iloc[rows][F.COLUMNS].reset_index(drop=True),
            [data.later_tokens[i] for i in rows],
        )
        results = F.check(data, w)
        _, total, messages = F.feature_alerts(results)
        print(f"  month {month:2d} ({len(rows):,} rows): {len(messages)} of {total} results alert")
        for m in messages:
            print(f"    {m.split(' · ', 1)[1]}")
    for label, frame, tokens in (
        ("July–December", later, data.later_tokens),
        ("reference period (control pool, time order)", data.pool, data.pool_tokens),
    ):
        n = 5_000
        counts: Counter[str] = Counter()
        windows = len(frame) // n
        for i in range(windows):
            w = F.Window(
                frame.iloc[i * n : (i + 1) * n][F.COLUMNS].reset_index(drop=True),
                tokens[i * n : (i + 1) * n],
            )
            for r in (r for wr in F.check(data, w) for r in wr.results):
                if r.status.is_alert and r.feature is not None:
                    counts[f"{r.check} ({r.feature})"] += 1
        print(f"  consecutive {n:,}-row windows, {label}: {windows} windows; alerts by check:")
        print("    " + (", ".join(f"{k} {c}/{windows}" for k, c in counts.most_common()) or "none"))


if __name__ == "__main__":
    main()
