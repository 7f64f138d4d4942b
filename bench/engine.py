"""The analyzer on a real search engine beside pulling the documents: one window, three ways.

Prediction documents of 50 features (35 numeric, 12 categorical, 3 text),
built by the handler's own ``DocumentBuilder``, are bulk-``create``d (``_id`` =
prediction id, several requests in parallel, ``refresh_interval: -1`` during
the load) into the prediction data stream of the real templates. They are
laid out so that windows of 10,000, 100,000 and 1,000,000 predictions nest:
the first hour holds 10,000, the first two 100,000, the first three 1,000,000.

For each window, side by side:

* **ours** — the analyzer's time per model-window: ``ElasticsearchSource``
  fetching the window's profile with aggregations, plus the checks
  (``check_run``); requests and response bytes (bodies, headers aside) counted
  by the client's transport node, no proxy in the path. Median of ``--repeats``
  runs, the shard request cache cleared before each (it would answer a repeated
  search in ~20 ms).
  With the default plan, whose features are counted on a random sample of
  ``DEFAULT_SAMPLE_ROWS`` (20,000) above that many predictions, and **exact**
  (``sample_rows`` 0): both must raise the same alerts (notices may differ: a
  million predictions make differences significant that a sample does not).
* **pull** — the same window pulled with ``search_after`` under a point in
  time (see :func:`_pages` for the sort) into a pandas DataFrame, pages of
  10,000 whole documents (filtering ``_source`` made the engine 6× slower per
  page); then profiled with our own code (``window_from_frame``) and checked.
  The two profiles must agree (counts exact; floats to 1e-9).
* **Evidently** — its ``DataDriftPreset`` on the pulled DataFrame (numeric and
  categorical columns; text drift is left out: Evidently trains a classifier
  for it), in its own virtualenv (``bench/_evidently.py``).

The engine is the running test engine (``bash tests/engine/start``; give it
``MLMON_ENGINE_HEAP=4g``), or a real cluster named by ``MLMON_TEST_ES_URL`` (+
credentials, as for the tests). The documents stay in the
``logs-mlmon.prediction-bench`` data stream, so a second run skips the load
(``--reindex`` forces it). While it exists, the plain-index templates cannot
be installed on that engine (the stream would no longer match a data-stream
template), so ``tests/stack`` fails there: ``--drop`` deletes it::

    python -m bench.engine                       # 1,000,000 documents
    python -m bench.engine --no-evidently --repeats 1
    python -m bench.engine --docs 100000         # windows of 10,000 and 100,000
    python -m bench.engine --drop                # before running the tests on this engine
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pandas as pd
from elastic_transport import OrjsonSerializer, Urllib3HttpNode
from elastic_transport._node import NodeApiResponse

from bench.documents import CATEGORICAL, KINDS, NUMERIC, TEXT, frame
from mlmon_elk.analyzer.fetch import ElasticsearchSource
from mlmon_elk.checks import CheckSettings, ModelJob, check_run
from mlmon_elk.contract import Dataset, stream_name
from mlmon_elk.engine.client import EsConnection, connect
from mlmon_elk.producer.builder import DocumentBuilder
from mlmon_elk.producer.call import PredictionCall
from mlmon_elk.producer.settings import DocumentOptions, DocumentSettings
from mlmon_elk.profile.baseline import ModelBaselines
from mlmon_elk.profile.build import BuildOptions, build_baseline
from mlmon_elk.profile.defaults import DEFAULT_SAMPLE_ROWS
from mlmon_elk.profile.engine_plan import (
    PlanOptions,
    build_plan,
    count_body,
    parse_counts,
    parse_responses,
)
from mlmon_elk.profile.frame import window_from_frame
from mlmon_elk.profile.window import ModelWindow, WindowProfile
from mlmon_elk.stack.install import engine_of, install_templates
from mlmon_elk.windows import Window, format_time
from tests.analyzer.test_fetch_differential import assert_same_profile
from tests.conftest import ENGINE_HOME, real_cluster_connection

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from mlmon_elk.stack.templates import Engine

MODEL, VERSION, NAMESPACE = "bench", "1", "bench"
START = datetime(2024, 5, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
WINDOW_SIZES = (10_000, 100_000, 1_000_000, 10_000_000)
GOAL_SIZE = 1_000_000
"""The window the goals speak of; pulling a larger one takes a long time and much memory."""
CHUNK = 5_000
"""Documents per bulk request (~10 MB); window sizes are multiples of it."""
PAGE = 10_000
"""search_after page size (the engines' default index.max_result_window)."""


# ------------------------------------------------------------------ data


def model_baselines() -> ModelBaselines:
    options = BuildOptions(kinds=KINDS, holdout_fraction=0.0)
    reference = frame(20_000, np.random.default_rng(7))
    baseline = build_baseline(reference, model=MODEL, version=VERSION, options=options)
    return ModelBaselines(MODEL, {VERSION: baseline}, VERSION)


def layout(docs: int) -> tuple[int, ...]:
    """Nested window sizes: hour ``h`` holds predictions ``sizes[h-1]`` to ``sizes[h]``."""
    sizes = tuple(s for s in WINDOW_SIZES if s <= docs)
    if not sizes or sizes[-1] != docs:
        msg = f"--docs must be one of {', '.join(f'{s:,}' for s in WINDOW_SIZES)}"
        raise SystemExit(msg)
    return sizes


def window_of(size: int, sizes: Sequence[int]) -> Window:
    return Window(START, START + HOUR * (sizes.index(size) + 1))


# ------------------------------------------------------------ connection


def engine_url() -> tuple[str, EsConnection | None]:
    """The real cluster of ``MLMON_TEST_ES_URL``, else the running test engine."""
    connection = real_cluster_connection()
    if connection is not None:
        return connection.hosts[0], connection
    url_file = ENGINE_HOME / "url"
    if url_file.is_file():
        return url_file.read_text().strip(), None
    msg = (
        "no search engine: start one with `MLMON_ENGINE_HEAP=4g bash tests/engine/start`"
        " or set MLMON_TEST_ES_URL"
    )
    raise SystemExit(msg)


def client_for(url: str, connection: EsConnection | None, **extra: Any) -> Elasticsearch:
    target = replace(connection, hosts=(url,)) if connection else EsConnection(hosts=(url,))
    return connect(replace(target, request_timeout=600), **extra)


@dataclass
class Traffic:
    requests: int = 0
    down: int = 0


class Meter:
    """Clients straight to the engine whose requests and response bytes are counted.

    Counted in the transport node, not by a proxy in the path: a proxy's own copying
    adds to every window's time (0.02–0.04 s here, a quarter of a 10,000 window's),
    flattering the growth from the small windows to the large.
    """

    def __init__(self, url: str, connection: EsConnection | None, engine: Engine) -> None:
        self.requests = 0
        self.down = 0
        meter = self

        class CountingNode(Urllib3HttpNode):
            def perform_request(self, *args: Any, **kwargs: Any) -> NodeApiResponse:
                meter.requests += 1
                response = super().perform_request(*args, **kwargs)
                meter.down += len(response.body)
                return response

        target = replace(connection, hosts=(url,)) if connection else EsConnection(hosts=(url,))
        # The engine is named, not probed, so the probe is not counted.
        target = replace(target, distribution=engine)
        self.client = client_for(url, target, node_class=CountingNode)
        # The pull decodes its pages with orjson (the client's default is the
        # standard library's json, 4–5× slower on 20 MB pages): the peer at its best.
        self.puller = client_for(
            url,
            target,
            node_class=CountingNode,
            serializers={"application/json": OrjsonSerializer()},
        )

    @contextmanager
    def measure(self) -> Iterator[Traffic]:
        traffic = Traffic()
        requests, down = self.requests, self.down
        yield traffic
        traffic.requests = self.requests - requests
        traffic.down = self.down - down

    def close(self) -> None:
        self.client.close()
        self.puller.close()


# ------------------------------------------------------------------ load

_worker: dict[str, Any] = {}


def _start_worker(url: str, connection: EsConnection | None, engine: Engine) -> None:
    target = connection or EsConnection(hosts=(url,))
    _worker["client"] = client_for(url, replace(target, distribution=engine))
    _worker["builder"] = DocumentBuilder(
        DocumentSettings.create(
            DocumentOptions(model=MODEL, model_version=VERSION, text_inputs=TEXT)
        )
    )


def _load_chunk(index: str, chunk: int, sizes: tuple[int, ...]) -> tuple[int, int, float]:
    """Build and bulk-create documents ``chunk * CHUNK`` onwards; (created, errors, build s)."""
    started = time.perf_counter()
    rng = np.random.default_rng([11, chunk])
    first = chunk * CHUNK
    hour = next(h for h, size in enumerate(sizes) if first < size)
    rows = frame(CHUNK, rng).to_dict("records")
    seconds = rng.uniform(0, HOUR.total_seconds(), CHUNK)
    latencies = rng.gamma(3, 4, CHUNK)
    builder: DocumentBuilder = _worker["builder"]
    lines: list[bytes] = []
    for row, offset, latency in zip(rows, seconds, latencies, strict=True):
        doc = builder.prediction(
            PredictionCall(
                row,
                latency_ms=float(latency),
                timestamp=START + HOUR * hour + timedelta(seconds=float(offset)),
            )
        )
        action = {"create": {"_index": index, "_id": doc["mlmon"]["prediction_id"]}}
        lines.extend((orjson.dumps(action), orjson.dumps(doc)))
    body = b"\n".join(lines) + b"\n"
    built = time.perf_counter() - started
    response = _worker["client"].bulk(body=body, refresh=False)
    errors = sum(1 for item in response["items"] if item["create"].get("error"))
    return CHUNK - errors, errors, built


def indexed(client: Elasticsearch, index: str) -> int:
    if not client.indices.exists(index=index):
        return 0
    client.indices.refresh(index=index)
    return int(client.count(index=index)["count"])


def load(
    client: Elasticsearch,
    *,
    url: str,
    connection: EsConnection | None,
    engine: Engine,
    sizes: tuple[int, ...],
    workers: int,
) -> None:
    """Index ``sizes[-1]`` documents into a fresh data stream and report the rate."""
    index = stream_name(Dataset.PREDICTION, NAMESPACE)
    client.options(ignore_status=404).indices.delete_data_stream(name=index)
    install_templates(client, data_streams=True, engine=engine)
    client.indices.create_data_stream(name=index)
    # One node here: no replicas; no refresh while loading, one at the end.
    client.indices.put_settings(
        index=index, settings={"index": {"number_of_replicas": 0, "refresh_interval": "-1"}}
    )
    chunks = sizes[-1] // CHUNK
    print(f"indexing {sizes[-1]:,} documents into {index}: {workers} parallel bulk requests")
    started = time.perf_counter()
    created = errors = 0
    built = 0.0
    with ProcessPoolExecutor(
        workers, initializer=_start_worker, initargs=(url, connection, engine)
    ) as pool:
        done = pool.map(_load_chunk, [index] * chunks, range(chunks), [sizes] * chunks)
        for i, (ok, failed, seconds) in enumerate(done, 1):
            created, errors, built = created + ok, errors + failed, built + seconds
            if i % max(1, chunks // 10) == 0:
                rate = created / (time.perf_counter() - started)
                print(f"  {created:>10,} created ({rate:,.0f} docs/s)", flush=True)
    client.indices.put_settings(index=index, settings={"index": {"refresh_interval": None}})
    client.indices.refresh(index=index)
    took = time.perf_counter() - started
    if errors:
        msg = f"{errors:,} documents were rejected"
        raise SystemExit(msg)
    print(
        f"indexed {created:,} documents in {took:,.0f} s: {created / took:,.0f} docs/s"
        f" (building the documents in Python: {built:,.0f} s of the workers' time)\n"
    )


# ------------------------------------------------------------ the analyzer


@dataclass
class Ours:
    seconds: float
    cold: float
    requests: int
    down: int
    took_ms: int
    parse: float
    checks: float
    window: ModelWindow
    statuses: dict[tuple[str, str | None], str]
    """(check, feature) → status of the window's checks."""


def _clear_request_cache(client: Elasticsearch, index: str) -> None:
    client.indices.clear_cache(index=index, request=True)


def analyze(
    meter: Meter, model: ModelBaselines, window: Window, repeats: int, sample_rows: int
) -> Ours:
    """Fetch the profile with aggregations and check it, as the analyzer does per model."""
    options = PlanOptions(sample_rows=sample_rows)
    source = ElasticsearchSource(meter.client, NAMESPACE, options=options)
    settings = CheckSettings(expected_versions=frozenset({VERSION}))
    times: list[float] = []
    traffics: list[Traffic] = []
    fetched = None
    results = []
    for _ in range(repeats):
        # An identical size-0 search is answered from the shard request cache
        # (~20 ms at any size): each analyzer run asks a new window, so not here.
        _clear_request_cache(meter.client, source.index)
        with meter.measure() as traffic:
            started = time.perf_counter()
            fetched = source.fetch(model, window)
            results = check_run([ModelJob(fetched.window, dict(model.by_version), settings)])
            times.append(time.perf_counter() - started)
        traffics.append(traffic)
    assert fetched is not None
    # Where the time goes: the engine's `took` (the slowest search of the plan,
    # they run side by side), our parsing, the checks.
    client = meter.client
    counts = None
    if sample_rows:
        counted = client.search(index=source.index, body=count_body(model, window, options))
        counts = parse_counts(counted.body)
    plan = build_plan(model, window, source.index, options, counts)
    _clear_request_cache(client, source.index)
    if len(plan.bodies) == 1:
        responses = [client.search(index=plan.index, body=plan.bodies[0]).body]
    else:
        searches: list[Mapping[str, Any]] = []
        for body in plan.bodies:
            searches.extend(({"index": plan.index}, body))
        responses = list(client.msearch(searches=searches).body["responses"])
    started = time.perf_counter()
    parse_responses(plan, responses)
    parse = time.perf_counter() - started
    started = time.perf_counter()
    check_run([ModelJob(fetched.window, dict(model.by_version), settings)])
    checks = time.perf_counter() - started
    statuses = {(str(r.check), r.feature): str(r.status) for w in results for r in w.results}
    return Ours(
        statistics.median(times),
        times[0],
        traffics[-1].requests,
        traffics[-1].down,
        max(int(r["took"]) for r in responses),
        parse,
        checks,
        fetched.window,
        statuses,
    )


def same_alerts(sampled: Ours, exact: Ours) -> str:
    """``""`` when every check raised an alert (or not) alike on the sample and on every
    prediction. Notices may differ: a million predictions make tiny differences
    significant that a sample does not (they are never alerts)."""
    alerts = {"warning", "critical"}
    differ = [
        f"{check}/{feature}: {status} vs {exact.statuses.get((check, feature))}"
        for (check, feature), status in sorted(sampled.statuses.items(), key=str)
        if (status in alerts) != (exact.statuses.get((check, feature)) in alerts)
    ]
    return "; ".join(differ)


def notices(ours: Ours) -> int:
    return sum(status == "notice" for status in ours.statuses.values())


# ------------------------------------------------------------ the pull


def _time_query(window: Window) -> dict[str, Any]:
    return {
        "bool": {
            "filter": [
                {"term": {"event.dataset": str(Dataset.PREDICTION)}},
                {"term": {"mlmon.model.name": MODEL}},
                {
                    "range": {
                        "@timestamp": {
                            "gte": format_time(window.start),
                            "lt": format_time(window.end),
                        }
                    }
                },
            ]
        }
    }


def _pages(
    client: Elasticsearch, index: str, window: Window, engine: Engine
) -> Iterator[list[Any]]:
    """Every hit of the window in pages of :data:`PAGE`, under a point in time.

    Elasticsearch sorts on ``_shard_doc``, its tiebreaker for points in time.
    OpenSearch 2.19 has points in time but no ``_shard_doc`` ("No mapping found
    for [_shard_doc]"): on one shard, Lucene's ``_doc`` is as stable under the
    point in time (the cheapest sort there is); over several shards it is not,
    so there the sort is on the prediction id (the documents' ``_id``).
    """
    if engine == "elasticsearch":
        sort: list[Any] = [{"_shard_doc": "asc"}]
    elif sum(s["prirep"] == "p" for s in _shards(client, index)) == 1:
        sort = [{"_doc": "asc"}]
    else:
        sort = [{"mlmon.prediction_id": "asc"}]
    if engine == "opensearch":
        opened = client.perform_request(
            "POST",
            f"/{index}/_search/point_in_time",
            params={"keep_alive": "2m"},
            headers={"accept": "application/json"},
        )
        pit = opened.body["pit_id"]
    else:
        pit = client.open_point_in_time(index=index, keep_alive="2m").body["id"]
    after: list[Any] | None = None
    try:
        while True:
            body: dict[str, Any] = {
                "size": PAGE,
                "query": _time_query(window),
                "sort": sort,
                "track_total_hits": False,
                "pit": {"id": pit, "keep_alive": "2m"},
            }
            if after is not None:
                body["search_after"] = after
            hits = client.search(body=body, filter_path=["hits.hits._source", "hits.hits.sort"])
            page = hits.body.get("hits", {}).get("hits", [])
            if page:
                yield page
            if len(page) < PAGE:
                return
            after = page[-1]["sort"]
    finally:
        if engine == "opensearch":
            client.perform_request(
                "DELETE",
                "/_search/point_in_time",
                body={"pit_id": [pit]},
                headers={"accept": "application/json", "content-type": "application/json"},
            )
        else:
            client.close_point_in_time(id=pit)


def _page_frame(page: list[Mapping[str, Any]]) -> tuple[pd.DataFrame, np.ndarray, int]:
    """One page as columns of raw feature values, latencies and the failure count."""
    inputs = [h["_source"]["mlmon"].get("inputs", {}) for h in page]
    columns: dict[str, Any] = {}
    for kind, names in (("num", NUMERIC), ("cat", CATEGORICAL), ("text", TEXT)):
        values = [i.get(kind, {}) for i in inputs]
        for name in names:
            column = [v.get(name) for v in values]
            columns[name] = np.array(column, dtype=float) if kind == "num" else column
    latency = np.array([h["_source"]["mlmon"].get("latency_ms", np.nan) for h in page])
    failures = sum(1 for h in page if h["_source"].get("event", {}).get("outcome") == "failure")
    return pd.DataFrame(columns), latency, failures


def _shards(client: Elasticsearch, index: str) -> list[dict[str, Any]]:
    shards = client.cat.shards(index=index, format="json").body
    assert isinstance(shards, list), shards
    return shards


@dataclass
class Pulled:
    frame: pd.DataFrame
    seconds: float
    profile_seconds: float
    requests: int
    down: int
    window: ModelWindow


def pull(meter: Meter, model: ModelBaselines, window: Window, engine: Engine) -> Pulled:
    """Pull the window into pandas, then profile and check it with our own code."""
    index = stream_name(Dataset.PREDICTION, NAMESPACE)
    with meter.measure() as traffic:
        started = time.perf_counter()
        frames, latencies, failures = [], [], 0
        for page in _pages(meter.puller, index, window, engine):
            part, latency, failed = _page_frame(page)
            frames.append(part)
            latencies.append(latency)
            failures += failed
        pulled = pd.concat(frames, ignore_index=True)
        seconds = time.perf_counter() - started
    baseline = model.default
    started = time.perf_counter()
    profile = window_from_frame(
        pulled,
        baseline,
        start=window.start,
        end=window.end,
        latency_ms=np.concatenate(latencies),
        failures=failures,
        version=VERSION,
    )
    modelled = ModelWindow(MODEL, window.start, window.end, {VERSION: profile})
    settings = CheckSettings(expected_versions=frozenset({VERSION}))
    check_run([ModelJob(modelled, dict(model.by_version), settings)])
    profiled = time.perf_counter() - started
    return Pulled(pulled, seconds, seconds + profiled, traffic.requests, traffic.down, modelled)


def same_profile(ours: ModelWindow, theirs: ModelWindow) -> str:
    """``""`` when the two profiles agree, else the first difference.

    Latency percentiles are left out: the engine's are HDR estimates, and
    the frame profile computes its own set of them.
    """

    def exact(window: ModelWindow) -> WindowProfile:
        profile = window.versions[VERSION]
        return replace(
            profile,
            latency=replace(profile.latency, percentiles={}),
            features=dict(sorted(profile.features.items())),
            present_names=dict(sorted(profile.present_names.items())),
        )

    try:
        assert_same_profile(exact(ours), exact(theirs))
    except AssertionError as exc:
        return str(exc)
    return ""


def evidently_seconds(model: ModelBaselines, pulled: pd.DataFrame) -> float:
    from bench._evidently import run_evidently

    reference = frame(20_000, np.random.default_rng(7))
    (result,) = run_evidently(
        reference, [pulled], numerical=NUMERIC, categorical=CATEGORICAL, evaluations=("drift",)
    )
    return float(result["seconds"])


# ------------------------------------------------------------------ main


def _mb(n: int) -> str:
    return f"{n / 1e6:,.2f} MB" if n < 10e6 else f"{n / 1e6:,.0f} MB"


def _load_average() -> str:
    """The machine's load (other work on it slows the engine down)."""
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1, 5, 15 min)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1_000_000, help="documents (largest window)")
    parser.add_argument("--reindex", action="store_true", help="index again even if present")
    parser.add_argument("--workers", type=int, default=3, help="parallel bulk requests")
    parser.add_argument("--repeats", type=int, default=2, help="analyzer runs per window")
    parser.add_argument("--no-evidently", action="store_true", help="skip Evidently")
    parser.add_argument(
        "--pull-up-to",
        type=int,
        default=GOAL_SIZE,
        help="pull (and run Evidently on) windows up to this size only",
    )
    parser.add_argument("--index-only", action="store_true", help="index, measure nothing")
    parser.add_argument("--drop", action="store_true", help="delete the bench's stream and stop")
    args = parser.parse_args(argv)
    sizes = layout(args.docs)

    url, connection = engine_url()
    admin = client_for(url, connection)
    engine = engine_of(admin)
    version = admin.info().body["version"]["number"]
    index = stream_name(Dataset.PREDICTION, NAMESPACE)
    if args.drop:
        admin.options(ignore_status=404).indices.delete_data_stream(name=index)
        print(f"deleted {index}")
        return 0
    print(f"engine: {engine} {version} at {url}; {os.cpu_count()} cores; {_load_average()}")
    print(
        f"documents: 50 features ({len(NUMERIC)} numeric, {len(CATEGORICAL)} categorical,"
        f" {len(TEXT)} text)"
    )
    present = indexed(admin, index)
    if present == sizes[-1] and not args.reindex:
        print(f"{index} already holds {present:,} documents: not indexed again (--reindex)\n")
    else:
        load(
            admin, url=url, connection=connection, engine=engine, sizes=sizes, workers=args.workers
        )
    segments = admin.cat.segments(index=index, format="json").body
    print(f"{index}: {len(segments)} segments, 1 shard, no replicas\n")
    if args.index_only:
        return 0

    model = model_baselines()
    meter = Meter(url, connection, engine)
    rows: list[tuple[int, Ours, Ours, Pulled | None, float | None, str]] = []
    try:
        for size in sizes:
            window = window_of(size, sizes)
            ours = analyze(meter, model, window, args.repeats, DEFAULT_SAMPLE_ROWS)
            exact = analyze(meter, model, window, args.repeats, 0)
            assert size == ours.window.count == exact.window.count
            decisions = same_alerts(ours, exact)
            theirs, evidently, difference = None, None, ""
            if size <= args.pull_up_to:
                theirs = pull(meter, model, window, engine)
                assert len(theirs.frame) == size
                difference = same_profile(exact.window, theirs.window)
                if not args.no_evidently:
                    evidently = evidently_seconds(model, theirs.frame)
                del theirs.frame
            rows.append((size, ours, exact, theirs, evidently, difference or decisions))
            sample = ours.window.versions[VERSION].sample
            sampled = f"a sample of {sample.rows:,}" if sample else "every prediction"
            pulled = "not pulled" if theirs is None else f"pull {theirs.seconds:.1f} s"
            print(
                f"  {size:>9,}: ours {ours.seconds:.2f} s on {sampled} (cold {ours.cold:.2f} s;"
                f" engine took {ours.took_ms / 1000:.2f} s, parsing {ours.parse:.3f} s, checks"
                f" {ours.checks:.3f} s); exact {exact.seconds:.2f} s; {pulled}"
                + (f"; profiles differ: {difference}" if difference else "")
                + (f"; alerts differ: {decisions}" if decisions else "; same alerts")
                + f" (notices: {notices(ours)} sampled, {notices(exact)} exact)",
                flush=True,
            )
    finally:
        meter.close()
        admin.close()

    print()
    header = (
        "| window | ours s | requests | bytes down | engine took s | exact s | pull s"
        " | pull requests | pull bytes | pull+profile s | Evidently s | ratio | ratio exact |"
    )
    print(header)
    print("|---:" * 13 + "|")
    for size, ours, exact, theirs, evidently, _ in rows:
        ev = "–" if evidently is None else f"{evidently:.1f}"
        if theirs is None:
            pulled = " | – | – | – | – | – | – | – |"
        else:
            pulled = (
                f" | {theirs.seconds:.1f} | {theirs.requests} | {_mb(theirs.down)}"
                f" | {theirs.profile_seconds:.1f} | {ev}"
                f" | {theirs.profile_seconds / ours.seconds:.0f}×"
                f" | {theirs.profile_seconds / exact.seconds:.0f}× |"
            )
        print(
            f"| {size:,} | {ours.seconds:.2f} | {ours.requests} | {_mb(ours.down)}"
            f" | {ours.took_ms / 1000:.2f} | {exact.seconds:.2f}" + pulled
        )
    print(
        f"\nours: the default plan (features on a random sample of {DEFAULT_SAMPLE_ROWS:,} above"
        " that many predictions); exact: sample_rows 0.\nratio = (pull + profile + checks) / ours."
    )
    print(f"at the end: {_load_average()}")
    goal = [r for r in rows if r[0] <= GOAL_SIZE][-1]
    first, last, theirs = rows[0][1], goal[1], goal[3]
    print("goals:")
    print(f"  ≤ 2 s per {goal[0]:,}-prediction window: {last.seconds:.2f} s")
    if theirs is not None:
        ratio = theirs.profile_seconds / last.seconds
        print(f"  ≥ 20× faster than the pull at {goal[0]:,}: {ratio:.0f}×")
    print(f"  ≤ 3× growth from {sizes[0]:,} to {goal[0]:,}: {last.seconds / first.seconds:.1f}×")
    if any(r[5] for r in rows):
        print("PROFILES OR ALERTS DIFFER (see above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
