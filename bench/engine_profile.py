"""Where the engine spends a window's search: its search profile, per aggregation.

Sends the analyzer's own query plan for one window of the bench's documents
(``python -m bench.engine`` indexes them) with ``"profile": true`` and prints
the time the engine spent in each aggregation, summed by what the aggregation
counts (``kinds``, ``bins``, ``stats``, ``top``…), the slowest ones, and the
query's own time. The shard request cache is cleared first (a repeated search
would be answered from it). Profiling times every collected document in every
aggregation, which inflates the many small ones (the sums exceed ``took``).

``--ablate`` is the sturdier measure: the plan's search again with each family
of aggregations left out, as the engine's ``took`` and, for the local test
engine, the CPU seconds its process spent (on a machine shared with other
work, ``took`` mostly measures the wait for a core)::

    python -m bench.engine_profile                  # the 1,000,000-prediction window
    python -m bench.engine_profile --window 100000 --ablate
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from bench.engine import (
    NAMESPACE,
    WINDOW_SIZES,
    client_for,
    engine_url,
    model_baselines,
    window_of,
)
from mlmon_elk.analyzer.fetch import ElasticsearchSource
from mlmon_elk.stack.install import engine_of
from tests.conftest import ENGINE_HOME


def _walk(aggs: list[Mapping[str, Any]], depth: int = 0) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for agg in aggs:
        yield depth, agg
        yield from _walk(agg.get("children", []), depth + 1)


def _family(description: str) -> str:
    """``kinds`` for ``input:num03:kinds``; the name itself for top-level aggregations."""
    return description.rsplit(":", 1)[-1]


def _engine_cpu() -> float | None:
    """CPU seconds of the local test engine's process so far (``None`` for another engine)."""
    pid_file = ENGINE_HOME / "pid"
    try:
        stat = Path(f"/proc/{pid_file.read_text().strip()}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ablate(client: Any, index: str, body: dict[str, Any], repeats: int) -> None:
    """``took`` and engine CPU of ``body``, and of ``body`` without each aggregation family."""
    aggs = body["aggs"]["window"]["aggs"]["g0"]["aggs"]

    def measure(search: dict[str, Any]) -> str:
        took, cpu = [], []
        for _ in range(repeats):
            client.indices.clear_cache(index=index, request=True)
            before = _engine_cpu()
            took.append(client.search(index=index, body=search).body["took"] / 1000)
            after = _engine_cpu()
            if before is not None and after is not None:
                cpu.append(after - before)
        spent = f"; engine CPU {statistics.median(cpu):5.2f} s" if cpu else ""
        return f"took {statistics.median(took):5.2f} s{spent}"

    print(f"  {'the whole plan':<24} {measure(body)}")
    for family in dict.fromkeys(_family(name) for name in aggs):
        search = copy.deepcopy(body)
        kept = search["aggs"]["window"]["aggs"]["g0"]["aggs"]
        for name in [n for n in kept if _family(n) == family]:
            del kept[name]
        print(f"  {'without ' + family:<24} {measure(search)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--window", type=int, default=1_000_000, choices=WINDOW_SIZES)
    parser.add_argument("--top", type=int, default=12, help="slowest aggregations listed")
    parser.add_argument("--ablate", action="store_true", help="each family left out in turn")
    parser.add_argument("--repeats", type=int, default=2, help="searches per ablation (median)")
    args = parser.parse_args(argv)

    url, connection = engine_url()
    client = client_for(url, connection)
    model = model_baselines()
    source = ElasticsearchSource(client, NAMESPACE)
    sizes = tuple(s for s in WINDOW_SIZES if s <= args.window)
    plan = source.query_plan(model, window_of(args.window, sizes))
    print(f"engine: {engine_of(client)}; window of {args.window:,}; {len(plan.bodies)} request(s)")
    if args.ablate:
        for body in plan.bodies:
            _ablate(client, plan.index, body, args.repeats)
        client.close()
        return 0
    families: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    slowest: list[tuple[float, str, str]] = []
    query_ns = 0
    for body in plan.bodies:
        client.indices.clear_cache(index=plan.index, request=True)
        started = time.perf_counter()
        response = client.search(index=plan.index, body={**body, "profile": True}).body
        wall = time.perf_counter() - started
        print(f"took {response['took'] / 1000:.2f} s (wall {wall:.2f} s, profiled)")
        for shard in response["profile"]["shards"]:
            for search in shard["searches"]:
                query_ns += sum(q["time_in_nanos"] for q in search["query"])
            for depth, agg in _walk(shard["aggregations"]):
                # Time of the aggregation itself: its children are timed on their own.
                children = sum(c["time_in_nanos"] for c in agg.get("children", []))
                own = agg["time_in_nanos"] - children
                name = agg["description"]
                family = _family(name) if depth >= 2 else name
                families[family] += own / 1e9
                counts[family] += 1
                slowest.append((own / 1e9, name, agg["type"]))
    total = sum(families.values())
    print(f"\nquery {query_ns / 1e9:.2f} s; aggregations {total:.2f} s (own time, by family):")
    for family, seconds in sorted(families.items(), key=lambda kv: -kv[1]):
        share = seconds / total if total else 0.0
        print(f"  {family:<16} {counts[family]:>4} aggs  {seconds:7.2f} s  {share:6.1%}")
    print(f"\nslowest {args.top}:")
    for seconds, name, kind in sorted(slowest, reverse=True)[: args.top]:
        print(f"  {seconds:7.3f} s  {name} ({kind})")
    client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
