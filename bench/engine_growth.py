"""How the analyzer's time grows with the window, for each sample size.

For each ``sample_rows`` given (and, on OpenSearch, each concurrent segment search
mode given, set on the cluster), the analyzer's time per model-window (the
window's profile fetched from the engine, then the checks, as
``python -m bench.engine`` times "ours") at each window size of the bench's
documents, the windows (and the variants) alternating run after run so the
machine's swings hit them alike, the shard request cache cleared before each.
Prints the median time per window and the growth from the smallest window to the
largest, as the ratio of the medians and as the median of the ratios within each
run::

    python -m bench.engine_growth                         # sample_rows 20,000 (the default)
    python -m bench.engine_growth --sample-rows 50000 --sample-rows 20000 --repeats 11
    python -m bench.engine_growth --concurrency none --concurrency auto   # OpenSearch

The documents are the ones ``python -m bench.engine`` indexed.
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench import engine
from mlmon_elk.analyzer.fetch import ElasticsearchSource
from mlmon_elk.checks import CheckSettings, ModelJob, check_run
from mlmon_elk.profile.defaults import DEFAULT_SAMPLE_ROWS
from mlmon_elk.profile.engine_plan import PlanOptions

MODE = "search.concurrent_segment_search.mode"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sample-rows", type=int, action="append", help="sample size to time (repeatable)"
    )
    parser.add_argument(
        "--concurrency",
        action="append",
        choices=("none", "auto", "all"),
        help=f"OpenSearch's {MODE} to time under, set on the cluster (repeatable)",
    )
    parser.add_argument("--repeats", type=int, default=9, help="runs of each window")
    args = parser.parse_args(argv)
    url, connection = engine.engine_url()
    client = engine.client_for(url, connection)
    model = engine.model_baselines()
    settings = CheckSettings(expected_versions=frozenset({engine.VERSION}))
    sizes = engine.WINDOW_SIZES[:3]
    windows = [engine.window_of(size, engine.WINDOW_SIZES) for size in sizes]
    modes: list[str | None] = list(args.concurrency or [None])

    def use(mode: str | None) -> None:
        if mode is not None:
            client.cluster.put_settings(persistent={MODE: mode})

    # One source per variant, made under its mode: a source reads the mode once.
    sources: dict[tuple[int, str | None], ElasticsearchSource] = {}
    for mode in modes:
        use(mode)
        for rows in args.sample_rows or [DEFAULT_SAMPLE_ROWS]:
            options = PlanOptions(sample_rows=rows)
            source = ElasticsearchSource(client, engine.NAMESPACE, options=options)
            source.fetch(model, windows[-1])
            sources[(rows, mode)] = source
    times: dict[tuple[int, str | None], list[list[float]]] = {
        variant: [[] for _ in sizes] for variant in sources
    }
    try:
        for _ in range(args.repeats):
            for (rows, mode), source in sources.items():
                use(mode)
                for seconds, window in zip(times[(rows, mode)], windows, strict=True):
                    client.indices.clear_cache(index=source.index, request=True)
                    started = time.perf_counter()
                    fetched = source.fetch(model, window)
                    check_run([ModelJob(fetched.window, dict(model.by_version), settings)])
                    seconds.append(time.perf_counter() - started)
    finally:
        if args.concurrency:
            client.cluster.put_settings(persistent={MODE: None})
    print(f"engine: {url}; median of {args.repeats} runs, windows and variants alternating")
    print(
        f"{'sample_rows':>12}{'concurrency':>12}"
        + "".join(f"{size:>12,}" for size in sizes)
        + "  growth"
    )
    for (rows, mode), runs in times.items():
        medians = [statistics.median(seconds) for seconds in runs]
        per_run = statistics.median(b / a for a, b in zip(runs[0], runs[-1], strict=True))
        print(
            f"{rows:>12,}{mode or '(as set)':>12}"
            + "".join(f"{median:>11.3f}s" for median in medians)
            + f"  {medians[-1] / medians[0]:.1f}× (per run {per_run:.1f}×)"
        )
    client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
