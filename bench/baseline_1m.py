"""Build a baseline on 1M rows × 50 columns: time and peak memory.

    python -m bench.baseline_1m              # 1,000,000 rows
    python -m bench.baseline_1m --rows 200000

The table is synthetic but shaped like real training data: 30 numeric columns
(5 % NaN in a third of them), 13 categorical columns (3 to 50 values), one with
5,000 and one with 100,000 values, 3 bool columns and 2 short free-text
columns. Peak memory is the process's maximum resident set size; it is
reported beside the size of the DataFrame itself, the floor any in-memory
profiler starts from.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import pandas as pd

from mlmon_elk.contract import Kind
from mlmon_elk.profile.baseline import dump_baseline
from mlmon_elk.profile.build import BuildOptions, build_baseline


def table(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {}
    for i in range(30):
        x = rng.normal(i, 1 + i, rows) if i % 2 else rng.exponential(10 + i, rows)
        if i % 3 == 0:
            x[rng.random(rows) < 0.05] = np.nan
        columns[f"num_{i}"] = x
    for i in range(13):
        k = 3 + 4 * i
        labels = np.array([f"c{i}_{j}" for j in range(k)], dtype=object)
        weights = 1 / np.arange(1, k + 1)
        columns[f"cat_{i}"] = labels[rng.choice(k, rows, p=weights / weights.sum())]
    for name, k in (("ids_5k", 5_000), ("ids_100k", 100_000)):
        labels = np.array([f"{name}_{j}" for j in range(k)], dtype=object)
        columns[name] = labels[rng.zipf(1.3, rows) % k]
    for i in range(3):
        columns[f"flag_{i}"] = rng.random(rows) < 0.1 * (i + 1)
    words = np.array([f"w{j}" for j in range(2_000)], dtype=object)
    weights = 1 / np.arange(1, words.size + 1)
    for i in range(2):
        picks = words[rng.choice(words.size, (rows, 8), p=weights / weights.sum())]
        columns[f"text_{i}"] = [" ".join(r) for r in picks]
    return pd.DataFrame(columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    frame = table(args.rows)
    frame_mb = frame.memory_usage(deep=True).sum() / 2**20
    before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    baseline = build_baseline(
        frame,
        model="bench",
        version="1",
        options=BuildOptions(kinds={"text_0": Kind.TEXT, "text_1": Kind.TEXT}),
    )
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "b.yaml"
        t = time.perf_counter()
        dump_baseline(baseline, path)
        dump_s = time.perf_counter() - t
        size_kb = path.stat().st_size / 1024
    kinds = {k: sum(f.kind is k for f in baseline.features) for k in Kind}
    print(f"rows × columns        {args.rows:,} × {frame.shape[1]} ({kinds})")
    print(f"build_baseline        {seconds:.1f} s ({args.rows / seconds:,.0f} rows/s),")
    print(
        f"                      incl. calibration on {baseline.holdout_rows:,} held-out rows"
        f" at {len(baseline.window_sizes)} window sizes"
    )
    print(f"DataFrame in memory   {frame_mb:,.0f} MiB")
    print(f"peak RSS before build {before_mb:,.0f} MiB (data generated)")
    print(f"peak RSS after build  {peak_mb:,.0f} MiB ({peak_mb / frame_mb:.1f}× the DataFrame)")
    print(f"YAML                  {size_kb:,.0f} KiB written in {dump_s:.1f} s")


if __name__ == "__main__":
    main()
