"""Records per second straight into a cluster: the handler's bulk transport beside the
``elasticsearch`` client's ``helpers.bulk``.

Both write the same 20-feature prediction documents with ``create`` under the
prediction id into a fresh namespace's prediction data stream (templates
installed first), on the same cluster, in one run. The handler's figure is
from the first ``log_prediction`` call until ``close()`` returned (everything
acknowledged); the client's from the first document handed to ``helpers.bulk``
until it returned, with the documents already built as dicts (the client is
spared building them, the handler is not). Each side's documents are counted
in the stream afterwards.

Run: ``python -m bench.bulk [--url http://127.0.0.1:9250] [--records 50000]``
(default URL: the test engine of this worktree, ``.engine/url``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from mlmon_elk.contract import Dataset, stream_name
from mlmon_elk.engine.client import EsConnection, connect
from mlmon_elk.producer.handler import PredictionHandler
from mlmon_elk.stack.install import install_templates

ENGINE_URL = Path(__file__).resolve().parents[1] / ".engine" / "url"


def features(i: int) -> dict[str, Any]:
    numeric = {f"x{k}": (i * 31 + k * 7) % 1000 / 10 for k in range(15)}
    categories = {f"c{k}": ("a", "b", "c", "d")[(i + k) % 4] for k in range(5)}
    return {**numeric, **categories}


def through_handler(url: str, namespace: str, records: int, batch_bytes: int) -> float:
    with tempfile.TemporaryDirectory() as spool:
        handler = PredictionHandler(
            f"elasticsearch+{url}",
            model="bench",
            namespace=namespace,
            spool_dir=spool,
            counters_interval=0,
            batch_bytes=batch_bytes,
            queue_size=records + 1,
            close_timeout=600,
        )
        start = time.perf_counter()
        for i in range(records):
            handler.log_prediction(
                inputs=features(i), outputs={"p": i % 100 / 100}, prediction_id=f"h-{i}"
            )
        handler.close()
        elapsed = time.perf_counter() - start
        counters = handler.counters()
    assert counters.sent == records, counters
    return elapsed


def through_client(es: Any, namespace: str, records: int, batch_bytes: int) -> float:
    from elasticsearch import helpers

    # The handler's own documents, built beforehand: the client only ships them.
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.jsonl"
        handler = PredictionHandler(
            f"file://{path}",
            model="bench",
            namespace=namespace,
            spool_dir=None,
            counters_interval=0,
            queue_size=records + 1,
        )
        for i in range(records):
            handler.log_prediction(
                inputs=features(i), outputs={"p": i % 100 / 100}, prediction_id=f"c-{i}"
            )
        handler.close()
        docs = [json.loads(line) for line in path.read_text().splitlines()]
    index = stream_name(Dataset.PREDICTION, namespace)
    actions = (
        {"_op_type": "create", "_index": index, "_id": d["mlmon"]["prediction_id"], "_source": d}
        for d in docs
    )
    start = time.perf_counter()
    ok, errors = helpers.bulk(es, actions, chunk_size=100_000, max_chunk_bytes=batch_bytes)
    elapsed = time.perf_counter() - start
    assert ok == records, errors
    return elapsed


def count(es: Any, namespace: str) -> int:
    index = stream_name(Dataset.PREDICTION, namespace)
    es.indices.refresh(index=index)
    return int(es.count(index=index)["count"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=None)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--batch-bytes", type=int, default=4 * 1024 * 1024)
    args = parser.parse_args()
    url = args.url or ENGINE_URL.read_text().strip()
    es = connect(EsConnection(hosts=(url,)))
    install_templates(es, data_streams=True)
    run: dict[str, tuple[float, int]] = {}
    for name in ("handler", "client"):
        namespace = f"bench{uuid.uuid4().hex[:8]}"
        try:
            if name == "handler":
                seconds = through_handler(url, namespace, args.records, args.batch_bytes)
            else:
                seconds = through_client(es, namespace, args.records, args.batch_bytes)
            run[name] = (seconds, count(es, namespace))
        finally:
            es.options(ignore_status=404).indices.delete_data_stream(
                name=stream_name(Dataset.PREDICTION, namespace)
            )
    handler_s, handler_n = run["handler"]
    client_s, client_n = run["client"]
    print(f"{args.records} predictions of 20 features into {url}, batches of {args.batch_bytes} B")
    print(f"{'':54} {'seconds':>8} {'records/s':>10} {'in stream':>10}")
    print(
        f"{'PredictionHandler elasticsearch+http:// (built+sent)':54}"
        f" {handler_s:8.2f} {args.records / handler_s:10.0f} {handler_n:10d}"
    )
    print(
        f"{'elasticsearch helpers.bulk (documents prebuilt)':54}"
        f" {client_s:8.2f} {args.records / client_s:10.0f} {client_n:10d}"
    )
    print(f"handler / client throughput: {client_s / handler_s:.2f}x")


if __name__ == "__main__":
    main()
