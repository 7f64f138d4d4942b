"""Aggregation plan vs pulling documents: requests and bytes per window of N predictions.

For windows of N predictions with 50 features (35 numeric, 12 categorical, 3
text), this counts what it costs to get the window profile

* with the analyzer's aggregation plan (``ElasticsearchSource.fetch``), and
* by pulling every document into pandas with ``search_after`` pages (what a
  tool that computes statistics client-side must do),

through the same client, with requests counted by the client's transport and
bytes counted on the wire by a TCP proxy (headers included, both directions).
Both ways yield the same profile, which the script checks.

Runs against osmem-server by default (correctness-scale data only: it is slow
beyond a few thousand documents, so no timings are printed), or against a real
cluster given by ``MLMON_TEST_ES_URL`` (+ credentials, as for the tests)::

    python -m bench.query_plan --sizes 1000,4000,16000
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from elastic_transport import Urllib3HttpNode

from mlmon_elk.contract import Dataset, Kind, stream_name
from mlmon_elk.es_client import EsConnection, connect
from mlmon_elk.events import DocumentBuilder, DocumentSettings
from mlmon_elk.opensearch_node import OpenSearchNode
from mlmon_elk.profile.baseline import Baseline
from mlmon_elk.profile.build import BuildOptions, build_baseline
from mlmon_elk.sources import ModelBaselines
from mlmon_elk.sources.elasticsearch import ElasticsearchSource
from mlmon_elk.sources.files import WindowCounter
from mlmon_elk.stack.install import install_templates
from mlmon_elk.windows import Window
from tests.conftest import real_cluster_connection
from tests.proxy import TcpProxy, observing_node
from tests.sources.test_differential import assert_same_profile

START = datetime(2024, 5, 1, tzinfo=UTC)
WINDOW = Window(START, START + timedelta(hours=1))
N_NUM, N_CAT, N_TEXT = 35, 12, 3
WORDS = [f"word{i}" for i in range(300)]
PAGE = 1000
"""search_after page size (Elasticsearch allows up to 10,000)."""


def frame(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` rows of 50 features: numeric, categorical (2–40 levels) and short texts."""
    data: dict[str, Any] = {}
    for i in range(N_NUM):
        data[f"num{i:02d}"] = rng.normal(i, 1 + i % 5, n).round(3)
    for i in range(N_CAT):
        levels = 2 + 3 * i
        data[f"cat{i:02d}"] = rng.choice([f"v{k}" for k in range(levels)], n)
    for i in range(N_TEXT):
        words = rng.choice(WORDS, (n, 5))
        data[f"text{i}"] = [" ".join(w) for w in words]
    return pd.DataFrame(data)


def baseline(rng: np.random.Generator) -> Baseline:
    kinds = {f"text{i}": Kind.TEXT for i in range(N_TEXT)}
    options = BuildOptions(kinds=kinds, holdout_fraction=0.0)
    return build_baseline(frame(20_000, rng), model="bench", version="1", options=options)


def documents(n: int, rng: np.random.Generator) -> Iterator[dict[str, Any]]:
    """``n`` prediction documents, built by the handler's own document builder."""
    rows = frame(n, rng)
    seconds = rng.uniform(0, WINDOW.length.total_seconds(), n)
    builder = DocumentBuilder(
        DocumentSettings.create(
            model="bench", model_version="1", text_inputs=[f"text{i}" for i in range(N_TEXT)]
        )
    )
    for row, offset in zip(rows.to_dict("records"), seconds, strict=True):
        yield builder.prediction(
            {str(k): v for k, v in row.items()},
            latency_ms=float(rng.gamma(3, 4)),
            timestamp=START + timedelta(seconds=float(offset)),
        )


@dataclass
class Traffic:
    requests: int = 0
    up: int = 0
    down: int = 0


class Meter:
    """A client whose requests are counted, through a proxy that counts bytes."""

    def __init__(self, url: str, real: bool) -> None:
        self.proxy = TcpProxy(url).start()
        self.requests = 0

        def count(_method: str, _path: str) -> None:
            self.requests += 1

        base = Urllib3HttpNode if real else OpenSearchNode
        connection = real_cluster_connection()
        target = (
            replace(connection, hosts=(self.proxy.url,))
            if connection
            else EsConnection(hosts=(self.proxy.url,), request_timeout=300)
        )
        self.client = connect(target, node_class=observing_node(base, count))

    @contextmanager
    def measure(self) -> Iterator[Traffic]:
        traffic = Traffic()
        self.proxy.reset_counts()
        before = self.requests
        yield traffic
        traffic.requests = self.requests - before
        traffic.up, traffic.down = self.proxy.bytes_up, self.proxy.bytes_down

    def close(self) -> None:
        self.client.close()
        self.proxy.stop()


def pull(client: Any, index: str) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Every prediction of the window into a DataFrame, page by page (search_after)."""
    query = {
        "bool": {
            "filter": [
                {"term": {"event.dataset": "mlmon.prediction"}},
                {"term": {"mlmon.model.name": "bench"}},
                {
                    "range": {
                        "@timestamp": {"gte": "2024-05-01T00:00:00Z", "lt": "2024-05-01T01:00:00Z"}
                    }
                },
            ]
        }
    }
    sort = [{"@timestamp": "asc"}, {"mlmon.prediction_id": "asc"}]
    hits: list[dict[str, Any]] = []
    after = None
    while True:
        body: dict[str, Any] = {
            "size": PAGE,
            "query": query,
            "sort": sort,
            "track_total_hits": False,
        }
        if after is not None:
            body["search_after"] = after
        page = client.search(index=index, body=body)["hits"]["hits"]
        hits.extend(h["_source"] for h in page)
        if len(page) < PAGE:
            return pd.json_normalize(hits), hits
        after = page[-1]["sort"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,4000,16000", help="window sizes N (cumulative)")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))

    rng = np.random.default_rng(7)
    model = ModelBaselines("bench", {"1": baseline(rng)}, "1")
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    index = stream_name(Dataset.PREDICTION, namespace)
    connection = real_cluster_connection()
    server = None
    if connection is None:
        from osmem_server import OsmemServer

        server = OsmemServer.start()
        url, real = server.url, False
    else:
        url, real = connection.hosts[0], True
    meter = Meter(url, real)
    print(f"server: {'real cluster ' + url if real else 'osmem-server (in-memory)'}")
    print(f"window: 1 h, 50 features ({N_NUM} numeric, {N_CAT} categorical, {N_TEXT} text)\n")
    header = (
        f"{'N':>7} | {'aggregations: requests':>22} {'bytes up':>10} {'bytes down':>11}"
        f" | {'search_after pull: requests':>27} {'bytes up':>10} {'bytes down':>12}"
        f" | {'down ratio':>10}"
    )
    print(header)
    print("-" * len(header))
    try:
        install_templates(meter.client, data_streams=real)
        indexed = 0
        for n in sizes:
            batch = list(documents(n - indexed, rng))
            for start in range(0, len(batch), 2000):
                ops: list[Any] = []
                for doc in batch[start : start + 2000]:
                    ops.extend(({"create": {"_index": index}}, doc))
                response = meter.client.bulk(operations=ops, refresh=False)
                if response["errors"]:
                    print("bulk errors", file=sys.stderr)
                    return 1
            meter.client.indices.refresh(index=index)
            indexed = n

            source = ElasticsearchSource(meter.client, namespace)
            with meter.measure() as agg:
                profile = source.fetch(model, WINDOW).window
            with meter.measure() as pulled:
                table, hits = pull(meter.client, index)
            assert len(table) == n, (len(table), n)
            counter = WindowCounter(model, WINDOW)
            counter.add(hits)
            try:  # equal counts; floats to 1e-9 (summation order differs)
                assert_same_profile(counter.result(), profile)
                same = True
            except AssertionError as exc:
                print(f"profiles differ: {exc}", file=sys.stderr)
                same = False
            print(
                f"{n:>7,} | {agg.requests:>22} {agg.up:>10,} {agg.down:>11,}"
                f" | {pulled.requests:>27} {pulled.up:>10,} {pulled.down:>12,}"
                f" | {pulled.down / agg.down:>9.1f}×" + ("" if same else "  (profiles differ!)")
            )
    finally:
        if real:
            meter.client.options(ignore_status=404).indices.delete_data_stream(name=index)
        meter.close()
        if server is not None:
            server.close()
    print(
        "\nThe aggregation plan is one request whose size depends on the features and bins;"
        "\npulling documents costs N / page requests and bytes that grow with N."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
