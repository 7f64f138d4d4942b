"""The analyzer's query plan in variants, side by side: what each knob costs on the engine.

For each window of the bench's documents (``python -m bench.engine`` indexes
them), the plan the analyzer would send is built with each variant of
:class:`~mlmon_elk.profile.engine_plan.PlanOptions` below and sent as the
analyzer sends it (one ``_msearch``, the shard request cache cleared first);
variants alternate run after run so the machine's swings hit them alike, and
the median wall time of each is printed, with its ratio to the default plan::

    python -m bench.engine_plans                       # windows of 10,000 to 1,000,000
    python -m bench.engine_plans --repeats 9 --window 1000000
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Mapping
from typing import Any

from bench import engine
from mlmon_elk.analyzer.fetch import ElasticsearchSource
from mlmon_elk.profile.engine_plan import PlanOptions, build_plan, count_body, parse_counts

VARIANTS: Mapping[str, PlanOptions] = {
    "default (HDR; 2 feature searches at a rate ≥ 2 %)": PlanOptions(),
    "TDigest percentiles": PlanOptions(hdr_percentiles=False),
    "one feature search": PlanOptions(sample_searches=1),
    "TDigest, one feature search (the round before)": PlanOptions(
        hdr_percentiles=False, sample_searches=1
    ),
    "sample_rows 25,000": PlanOptions(sample_rows=25_000),
    "exact (sample_rows 0)": PlanOptions(sample_rows=0),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--window", type=int, action="append", help="window size (repeatable)")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each variant")
    parser.add_argument("--no-exact", action="store_true", help="skip the exact plan (slow)")
    args = parser.parse_args(argv)
    url, connection = engine.engine_url()
    client = engine.client_for(url, connection)
    source = ElasticsearchSource(client, engine.NAMESPACE)
    model = engine.model_baselines()
    variants = {k: v for k, v in VARIANTS.items() if not (args.no_exact and not v.sample_rows)}
    sizes = args.window or list(engine.WINDOW_SIZES[:3])
    print(f"engine: {url}; median of {args.repeats} runs, variants alternating")
    for size in sizes:
        window = engine.window_of(size, engine.WINDOW_SIZES)
        counts = parse_counts(
            client.search(index=source.index, body=count_body(model, window, PlanOptions())).body
        )
        plans = {
            name: build_plan(model, window, source.index, options, counts)
            for name, options in variants.items()
        }
        times: dict[str, list[float]] = {name: [] for name in plans}
        for _ in range(args.repeats):
            for name, plan in plans.items():
                times[name].append(_msearch(client, plan.index, plan.bodies))
        base = statistics.median(next(iter(times.values())))
        print(f"\n== window of {size:,} predictions")
        print(f"   {'plan':<50}{'searches':>9}{'_msearch s':>12}{'vs default':>12}")
        for name, plan in plans.items():
            median = statistics.median(times[name])
            print(f"   {name:<50}{len(plan.bodies):>9}{median:>12.3f}{median / base:>11.2f}×")
    return 0


def _msearch(client: Any, index: str, bodies: tuple[dict[str, Any], ...]) -> float:
    """Wall seconds of one ``_msearch`` of ``bodies``, the request cache cleared first."""
    client.indices.clear_cache(index=index, request=True)
    searches: list[Mapping[str, Any]] = []
    for body in bodies:
        searches.extend(({"index": index}, body))
    started = time.perf_counter()
    responses = client.msearch(searches=searches).body["responses"]
    seconds = time.perf_counter() - started
    failed = [r["error"] for r in responses if "error" in r]
    if failed:
        msg = f"a search failed: {failed[0]}"
        raise SystemExit(msg)
    return seconds


if __name__ == "__main__":
    raise SystemExit(main())
