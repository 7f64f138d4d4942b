"""The embedded mode's memory: counting a window holds its counts, not its rows.

The same 50,000 predictions (50 features: 35 numeric, 12 categorical, 3 text;
lognormal latencies) are logged once through ``PredictionHandler``'s file sink
and copied to make windows of 50,000, 200,000 and 1,000,000 rows. Each window
is counted by ``FileSource.fetch`` in a fresh process, which reports its peak
resident memory above what it held before counting (``VmHWM`` less
``VmRSS`` just before), and its CPU seconds. Beside it: the memory pandas
needs to hold the same rows as a DataFrame (``memory_usage(deep=True)``), the
floor of any tool that profiles a frame in memory, as Evidently does.

``--before DIR`` runs every size a second time, alternately, with the
``mlmon_elk`` package found in ``DIR`` (e.g. ``git archive <commit> mlmon_elk |
tar -x -C DIR``): an A/B in one run on a shared machine.

Usage::

    python -m bench.embedded_memory                      # 50k, 200k, 1M rows
    python -m bench.embedded_memory --sizes 50000,200000 --before /tmp/before
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import documents
from bench.embedded import WINDOW, write_logs

BLOCK = 50_000
"""Rows logged once; larger windows are copies of this file."""


def status_bytes(key: str) -> int:
    """A size from ``/proc/self/status`` (``VmRSS``: resident now, ``VmHWM``: its peak).

    Not ``ru_maxrss``: Linux carries it over ``exec`` from the parent that forked."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) * 1024
    msg = f"no {key} in /proc/self/status"
    raise RuntimeError(msg)


def write_block(folder: Path, rng: np.random.Generator) -> Path:
    """:data:`BLOCK` predictions through the handler's file sink, in one file (no rotation)."""
    (block,) = write_logs(
        folder, BLOCK, rng, name="block.jsonl", file_max_bytes=2**40, lognormal_latency=True
    )
    return block


def child(block: Path, copies: int, baseline: Path) -> None:
    """Count ``copies`` of ``block`` as one window; print peak memory and CPU as JSON."""
    import mlmon_elk
    from mlmon_elk.analyzer.fetch import FileSource
    from mlmon_elk.profile.baseline import ModelBaselines, load_baseline

    model = ModelBaselines("bench", {"1": load_baseline(baseline)}, "1")
    folder = block.parent / f"copies-{copies}"
    before = status_bytes("VmRSS")
    cpu = time.process_time()
    window = FileSource([folder / "*.jsonl"]).fetch(model, WINDOW).window
    cpu = time.process_time() - cpu
    peak = status_bytes("VmHWM")
    latency = window.versions["1"].latency
    print(
        json.dumps(
            {
                "rows": window.count,
                "peak_above_start": max(peak - before, 0),
                "cpu": cpu,
                "p50": latency.percentiles.get(50.0),
                "p99": latency.percentiles.get(99.0),
                "package": str(Path(mlmon_elk.__file__).parent.parent),
            }
        )
    )


def measure(block: Path, copies: int, baseline: Path, package: Path | None) -> dict[str, float]:
    env = dict(os.environ)
    root = Path(__file__).resolve().parent.parent
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (package, root) if p is not None)
    command = [sys.executable, "-m", "bench.embedded_memory", "--child", str(block)]
    out = subprocess.run(
        [*command, str(copies), str(baseline)],
        env=env,
        cwd=package or root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert Path(result.pop("package")) == (package or root), result  # the package asked for
    return {k: float(v) for k, v in result.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="50000,200000,1000000", help="window rows")
    parser.add_argument("--before", type=Path, help="a folder holding an earlier mlmon_elk")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(Path(args.child[0]), int(args.child[1]), Path(args.child[2]))
        return 0

    from mlmon_elk.profile.baseline import dump_baseline
    from mlmon_elk.profile.build import BuildOptions, build_baseline

    sizes = [int(n) for n in args.sizes.split(",")]
    rng = np.random.default_rng(11)
    options = BuildOptions(kinds=documents.KINDS, holdout_fraction=0.0)
    reference = documents.frame(20_000, rng)
    print("== memory of counting one window: the same 50,000 documents, copied")
    with tempfile.TemporaryDirectory(prefix="mlmon-bench-memory-") as tmp:
        root = Path(tmp)
        baseline = root / "baseline.yaml"
        built = build_baseline(reference, model="bench", version="1", options=options)
        dump_baseline(built, baseline)
        block = write_block(root, rng)
        for n in sizes:
            copies = max(n // BLOCK, 1)
            folder = root / f"copies-{copies}"
            folder.mkdir()
            shutil.copy(block, folder / "p000.jsonl")
            for i in range(1, copies):  # hard links: the same bytes, read as another file
                os.link(folder / "p000.jsonl", folder / f"p{i:03d}.jsonl")
        frame_bytes = documents.frame(BLOCK, np.random.default_rng(0)).memory_usage(deep=True).sum()
        columns = ["rows", "peak MB", "CPU s", "rows/CPU-s", "p50 ms", "p99 ms"]
        header = "".join(f"{c:>12}" for c in columns)
        print(f"   {'':<10}{header}{'pandas frame MB':>17}")
        for n in sizes:
            copies = max(n // BLOCK, 1)
            runs = [("after", None)]
            if args.before is not None:
                runs.insert(0, ("before", args.before))
            for label, package in runs:
                r = measure(block, copies, baseline, package)
                print(
                    f"   {label:<10}{r['rows']:>12,.0f}{r['peak_above_start'] / 1e6:>12.1f}"
                    f"{r['cpu']:>12.2f}{r['rows'] / r['cpu']:>12,.0f}"
                    f"{r['p50']:>12.3f}{r['p99']:>12.3f}{frame_bytes * copies / 1e6:>17,.0f}"
                )
    print("   peak MB: the counting process's peak resident memory above its size before")
    print("   counting; pandas frame MB: the same rows held as a DataFrame (deep)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
