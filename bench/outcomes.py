"""Reading a window's outcomes from the handler's files, beside counting its predictions.

A classifier of 50 features (``bench/documents.py``) with a score output logs
``--rows`` predictions in one window, then outcomes for 60 % of them (arriving a
day later, in the same files) and ``--later`` more windows of predictions: the
files the window's outcomes are read from hold everything logged since. For
that window, median of ``--repeats`` runs, the variants alternating:

* **predictions** — ``FileSource.fetch``: what every model's window costs;
* **outcomes** — ``FileOutcomes.fetch``: what a model with a performance
  baseline pays on top (its outcomes, and the window's scores for the estimated
  performance);
* **outcomes, every line decoded whole** — the same counts from every line since
  the window's start decoded whole with orjson, none passed over: how
  ``FileOutcomes`` read them before (the counting, though, is today's).

The two outcome counts must be equal. With ``--backfill K``, also K windows
with outcomes analysed as ``mlmon-elk analyze --from … --to …`` does (the real
analyzer on a files config: checks and results written), planned (every source
told the windows first, as the command does) and window by window, in
alternation; both must write the same ``performance`` results::

    python -m bench.outcomes [--rows 50000] [--later 1] [--repeats 5] [--backfill 6]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from bench import documents
from mlmon_elk.analyzer.config import config_from_dict
from mlmon_elk.analyzer.fetch import FileSource
from mlmon_elk.analyzer.fetch_outcomes import FileOutcomes
from mlmon_elk.analyzer.run import Analyzer
from mlmon_elk.contract import Check
from mlmon_elk.producer.outcomes import log_outcome
from mlmon_elk.profile.baseline import Baseline, ModelBaselines, dump_baseline
from mlmon_elk.profile.build import BuildOptions, build_baseline
from mlmon_elk.profile.counting.performance import OutcomeCounter
from mlmon_elk.profile.performance import PerformanceWindow
from mlmon_elk.sources.files import expand_paths, read_chunks
from mlmon_elk.windows import Window, parse_time

START = parse_time("2024-05-01T00:00:00Z")
WINDOW = Window(START, START + timedelta(hours=1))


def scored(rows: pd.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A score that depends on two features, and labels drawn from it."""
    logit = rows["num00"].to_numpy() * 1.2 + (rows["cat01"] == "v1").to_numpy() * 0.8 - 0.3
    score = 1 / (1 + np.exp(-logit))
    return score.round(4), rng.random(len(rows)) < score


def write_logs(
    folder: Path, n: int, later: int, rng: np.random.Generator, *, labelled: int = 1
) -> list[Path]:
    """``1 + later`` windows of predictions, the first ``labelled`` with outcomes for 60 %
    of their predictions (logged a day later)."""
    active = folder / "predictions.jsonl"
    handler = documents.file_handler(active, (2 + later) * n, file_max_bytes=1 << 40)
    try:
        for w in range(1 + later):
            rows = documents.frame(n, rng)
            score, truth = scored(rows, rng)
            start = WINDOW.start + WINDOW.length * w
            step = WINDOW.length / (n + 1)
            records = rows.to_dict("records")
            for i, (inputs, p) in enumerate(zip(records, score, strict=True)):
                handler.log_prediction(
                    inputs={str(k): v for k, v in inputs.items()},
                    outputs={"score": float(p)},
                    prediction_id=f"{w}-{i}",
                    timestamp=start + step * (i + 1),
                )
            if w < labelled:
                for i in np.flatnonzero(rng.random(n) < 0.6).tolist():
                    log_outcome(
                        handler,
                        prediction_id=f"{w}-{i}",
                        outcome=bool(truth[i]),
                        score=float(score[i]),
                        prediction_time=start + step * (i + 1),
                        timestamp=start + timedelta(days=1),
                    )
    finally:
        handler.close()
    assert not handler.counters().dropped, "the handler dropped documents"
    return expand_paths([active])


def backfill(rows: int, windows: int, baseline: Baseline, repeats: int) -> None:
    """``windows`` labelled windows analysed by the real analyzer, planned or one by one."""
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory(prefix="mlmon-bench-") as tmp:
        folder = Path(tmp)
        write_logs(folder, rows, windows - 1, rng, labelled=windows)
        dump_baseline(baseline, folder / "baseline.yaml")
        period = [
            Window(WINDOW.start + WINDOW.length * i, WINDOW.end + WINDOW.length * i)
            for i in range(windows)
        ]
        seconds: dict[bool, list[float]] = {True: [], False: []}
        files: dict[bool, int] = {}
        written: dict[bool, list[object]] = {}
        for run in range(repeats):
            for planned in (True, False):
                config = config_from_dict(
                    {
                        "files": {
                            "predictions": [str(folder / "predictions.jsonl")],
                            "output": f"out-{planned}-{run}",
                        },
                        "schedule": {"interval": "1h", "window": "1h", "delay": "1m"},
                        "models": [{"name": "bench", "baselines": {"1": "baseline.yaml"}}],
                    },
                    base=folder,
                )
                analyzer = Analyzer.from_config(config)
                started = time.perf_counter()
                if planned:
                    analyzer.plan(period)
                outcomes = [analyzer.run(window) for window in period]
                seconds[planned].append(time.perf_counter() - started)
                files[planned] = sum(o.summary.requests for o in outcomes)
                written[planned] = [
                    (r.status, r.value)
                    for o in outcomes
                    for w in o.results
                    for r in w.results
                    if r.check in (Check.PERFORMANCE, Check.ESTIMATED_PERFORMANCE)
                ]
        assert written[True] == written[False], "planned and one by one differ"
    print(
        f"== a backfill of {windows} windows of {rows:,} predictions with outcomes, the real"
        f" analyzer (files read and checked, results written); median of {repeats}, alternating"
    )
    together, alone = (statistics.median(seconds[p]) for p in (True, False))
    print(
        f"   {'planned (as analyze --from --to)':<40}{together:>8.2f} s{files[True]:>6} files read"
    )
    print(f"   {'window by window':<40}{alone:>8.2f} s{files[False]:>6} files read")
    print(f"   planned: {alone / together:.1f}× faster")


def whole(model: ModelBaselines, paths: list[Path], counts: dict[str, int]) -> object:
    """The outcome counts from every line decoded whole (orjson), no line passed over."""
    counter = OutcomeCounter(model, WINDOW)
    for chunk in read_chunks(paths):
        counter.add(chunk)
    return counter.result(counts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000, help="predictions per window")
    parser.add_argument("--later", type=int, default=1, help="windows logged after")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each variant")
    parser.add_argument("--backfill", type=int, default=0, help="labelled windows backfilled")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(5)
    reference = documents.frame(20_000, rng)
    reference["score"], reference["late"] = scored(reference, rng)
    options = BuildOptions(
        kinds=documents.KINDS, target="late", predictions=("score",), holdout_fraction=0.5
    )
    baseline = build_baseline(reference, model="bench", version="1", options=options)
    assert baseline.performance is not None
    assert baseline.performance.score is not None
    model = ModelBaselines("bench", {"1": baseline}, "1")
    with tempfile.TemporaryDirectory(prefix="mlmon-bench-") as tmp:
        paths = write_logs(Path(tmp), args.rows, args.later, rng)
        size = sum(path.stat().st_size for path in paths)
        counted = FileSource(paths).fetch(model, WINDOW).window
        counts = {v: w.count for v, w in counted.versions.items()}
        ours, _ = FileOutcomes(paths).fetch(model, WINDOW, counted)
        assert _close(ours, whole(model, paths, counts)), "the two outcome counts differ"
        variants: dict[str, Callable[[], object]] = {
            "predictions (FileSource.fetch)": lambda: FileSource(paths).fetch(model, WINDOW),
            "outcomes (FileOutcomes.fetch)": lambda: FileOutcomes(paths).fetch(
                model, WINDOW, counted
            ),
            "outcomes, every line decoded whole": lambda: whole(model, paths, counts),
        }
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.repeats):
            for name, run in variants.items():
                started = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - started)
    print(
        f"== a window of {args.rows:,} predictions (50 features and a score), outcomes for"
        f" {_labelled(ours['1']):,} of them, {args.later} later window(s) in the files"
        f" ({size / 2**20:.0f} MB); median of {args.repeats}, alternating"
    )
    medians = {name: statistics.median(seconds) for name, seconds in times.items()}
    new = medians["outcomes (FileOutcomes.fetch)"]
    old = medians["outcomes, every line decoded whole"]
    for name, seconds in medians.items():
        print(f"   {name:<40}{seconds:>8.2f} s")
    print(f"   outcomes: {old / new:.1f}× faster than decoding every line whole")
    if args.backfill:
        print()
        backfill(args.rows, args.backfill, baseline, max(args.repeats // 2, 1))
    return 0


def _close(a: object, b: object) -> bool:
    """Equal counts, and sums equal to 1e-9 (added in chunks of other sizes)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if dataclasses.is_dataclass(a) and type(a) is type(b):
        return all(_close(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _labelled(window: PerformanceWindow) -> int:
    return window.outcomes.labelled if window.outcomes is not None else 0


if __name__ == "__main__":
    raise SystemExit(main())
