"""The analyzer end to end, on Elasticsearch and on files: alerts, re-runs, recovery, outages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from mlmon_elk.analyzer.config import Config, config_from_dict
from mlmon_elk.analyzer.run import Analyzer, RunOutcome
from mlmon_elk.contract import Check, Dataset, Status, Transition, stream_name
from mlmon_elk.profile.baseline import Baseline, dump_baseline
from mlmon_elk.sinks.files import FileSink
from mlmon_elk.windows import Window
from tests import scenario
from tests.conftest import EsTarget
from tests.factories import index_documents, write_jsonl
from tests.proxy import TcpProxy, connect_via


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Baseline, Path]:
    return scenario.build(tmp_path_factory.mktemp("baselines"))


def window(i: int) -> Window:
    return Window(scenario.window_start(i), scenario.window_start(i + 1))


def config_data(baseline_path: Path, **source: Any) -> dict[str, Any]:
    return {
        **source,
        "schedule": {"interval": "10m", "window": "10m", "delay": "1m"},
        "analysis": {"history": 3},
        "models": [{"name": scenario.MODEL, "baselines": {scenario.VERSION: str(baseline_path)}}],
    }


@dataclass
class Backend:
    """One way of running the analyzer: Elasticsearch (osmem or a real cluster) or files."""

    name: str
    source: dict[str, Any]
    """The config's source section (``elasticsearch:`` or ``files:``) and namespace."""
    base: Path
    baseline_path: Path
    es: EsTarget | None = None
    files: Path | None = None

    @property
    def config(self) -> Config:
        return config_from_dict(config_data(self.baseline_path, **self.source), base=self.base)

    def add(self, docs: list[dict[str, Any]], part: int) -> None:
        if self.es is not None:
            index_documents(
                self.es.client, stream_name(Dataset.PREDICTION, self.es.namespace), docs
            )
        else:
            assert self.files is not None
            write_jsonl(self.files / f"predictions.jsonl.{part}", docs, gzipped=part % 2 == 1)

    def analyzer(self) -> Analyzer:
        client = self.es.client if self.es is not None else None
        return Analyzer.from_config(self.config, client=client)

    def count(self, dataset: Dataset) -> int:
        if self.es is not None:
            index = stream_name(dataset, self.es.namespace)
            self.es.client.indices.refresh(index=index)
            return int(
                self.es.client.count(index=index, query={"term": {"event.dataset": str(dataset)}})[
                    "count"
                ]
            )
        return len(FileSink(self.base / "out").read(dataset))


@pytest.fixture(params=["elasticsearch", "files"])
def backend(
    request: pytest.FixtureRequest, baseline: tuple[Baseline, Path], tmp_path: Path
) -> Iterator[Backend]:
    _, path = baseline
    if request.param == "elasticsearch":
        es: EsTarget = request.getfixturevalue("es")
        source = {
            "elasticsearch": {"hosts": [es.url], "retry": {"attempts": 2, "initial": "50ms"}},
            "namespace": es.namespace,
        }
        yield Backend("elasticsearch", source, tmp_path, path, es=es)
    else:
        source = {"files": {"predictions": [str(tmp_path / "predictions.jsonl*")], "output": "out"}}
        yield Backend("files", source, tmp_path, path, files=tmp_path)


def alerting(outcome: RunOutcome) -> set[tuple[Check, str | None]]:
    return {(r.check, r.feature) for w in outcome.results for r in w.results if r.status.is_alert}


def statuses_except(outcome: RunOutcome, exclude: set[tuple[Check, str | None]]) -> set[Status]:
    return {
        r.status for w in outcome.results for r in w.results if (r.check, r.feature) not in exclude
    }


def test_seeded_faults_raise_exactly_their_alerts_then_resolve(backend: Backend) -> None:
    """Clean: no alert; injected: exactly the five injected alerts, new; clean again:
    recovering (resolving takes ``resolve_after`` clear windows)."""
    backend.add(scenario.documents(0), 0)
    backend.add(scenario.documents(1, injected=True), 1)
    backend.add(scenario.documents(2), 2)
    analyzer = backend.analyzer()

    clean = analyzer.run(window(0))
    assert clean.summary.ok, clean.summary.errors
    assert alerting(clean) == set()
    assert clean.alerts == ()
    # Without preceding traffic the volume check cannot judge; everything else is ok.
    assert statuses_except(clean, {(Check.VOLUME, None)}) == {Status.OK}

    faulty = analyzer.run(window(1))
    assert faulty.summary.ok, faulty.summary.errors
    assert alerting(faulty) == scenario.INJECTED
    assert {(Check(e.key.check), e.key.feature, e.transition) for e in faulty.alerts} == {
        (check, feature, Transition.NEW) for check, feature in scenario.INJECTED
    }
    # Side effects of the faults may be significant but small: notices, never alerts.
    others = statuses_except(faulty, scenario.INJECTED | {(Check.VOLUME, None)})
    assert others <= {Status.OK, Status.NOTICE}, others

    recovered = analyzer.run(window(2))
    assert alerting(recovered) == set()
    assert {(Check(e.key.check), e.key.feature, e.transition) for e in recovered.alerts} == {
        (check, feature, Transition.RECOVERING) for check, feature in scenario.INJECTED
    }
    checks_written = sum(len(w.results) for o in (clean, faulty, recovered) for w in o.results)
    assert backend.count(Dataset.CHECK) == checks_written
    assert backend.count(Dataset.ALERT) == 10
    assert backend.count(Dataset.RUN) == 3


def test_models_logging_to_one_file_are_read_in_one_pass(
    baseline: tuple[Baseline, Path], tmp_path: Path
) -> None:
    """Two models whose serving app logs to one file: each window's run reads the file
    once for both, and each model's checks see only its own predictions (the twin's
    clean window stays clean while the other's injected faults alert)."""
    credit, credit_path = baseline
    twin_path = tmp_path / "twin.yaml"
    dump_baseline(replace(credit, model="twin"), twin_path)
    clean_twin = [
        {**d, "mlmon": {**d["mlmon"], "model": {**d["mlmon"]["model"], "name": "twin"}}}
        for d in scenario.documents(1, seed=7)
    ]
    lines = [*scenario.documents(1, injected=True), *clean_twin]
    write_jsonl(tmp_path / "predictions.jsonl", sorted(lines, key=lambda d: d["@timestamp"]))
    data = config_data(
        credit_path, files={"predictions": [str(tmp_path / "predictions.jsonl")], "output": "out"}
    )
    data["models"].append({"name": "twin", "baselines": {scenario.VERSION: str(twin_path)}})
    analyzer = Analyzer.from_config(config_from_dict(data, base=tmp_path))

    outcome = analyzer.run(window(1))

    assert outcome.summary.ok, outcome.summary.errors
    assert outcome.summary.requests == 1  # one file, read once for both models

    def of(model: str) -> RunOutcome:
        return replace(outcome, results=tuple(w for w in outcome.results if w.model == model))

    assert alerting(of("credit")) == scenario.INJECTED
    assert alerting(of("twin")) == set()
    assert [w.count for w in of("twin").results if w.version] == [len(clean_twin)]


def test_running_a_window_again_writes_nothing_new(backend: Backend) -> None:
    """A second analyzer on the same window finds every document already written."""
    backend.add(scenario.documents(0), 0)
    backend.add(scenario.documents(1, injected=True), 1)
    backend.analyzer().run(window(0))
    first = backend.analyzer().run(window(1))
    before = {d: backend.count(d) for d in (Dataset.CHECK, Dataset.ALERT, Dataset.RUN)}

    again = backend.analyzer().run(window(1))

    assert again.summary.ok
    assert again.summary.written == 0
    assert again.summary.existing == first.summary.written
    assert {(e.key, e.transition) for e in again.alerts} == {
        (e.key, e.transition) for e in first.alerts
    }
    assert {d: backend.count(d) for d in before} == before


def test_a_missing_baseline_fails_the_run_and_the_next_tick_recovers(
    backend: Backend, baseline: tuple[Baseline, Path], tmp_path: Path
) -> None:
    """No baseline file: the run is recorded as failed, not raised; once it exists, it succeeds."""
    backend.add(scenario.documents(0), 0)
    path = tmp_path / "later.yaml"
    backend.baseline_path = path
    analyzer = backend.analyzer()

    failed = analyzer.run(window(0))
    assert not failed.summary.ok
    assert failed.summary.errors == (
        f"credit: cannot read baseline {path}: No such file or directory",
    )
    path.write_bytes(baseline[1].read_bytes())
    recovered = analyzer.run(window(0))

    assert recovered.summary.ok
    assert backend.count(Dataset.RUN) == 2
    assert backend.count(Dataset.CHECK) == sum(len(w.results) for w in recovered.results)


def test_elasticsearch_unreachable_mid_run_is_recorded_then_recovered(
    es: EsTarget, baseline: tuple[Baseline, Path], tmp_path: Path
) -> None:
    """Down before a run, then gone between the searches and the writes: both runs are
    recorded as failed, and once the server is back the retry writes everything once."""
    index_documents(
        es.client,
        stream_name(Dataset.PREDICTION, es.namespace),
        scenario.documents(0) + scenario.documents(1, injected=True),
    )
    proxy = TcpProxy(es.url).start()
    # Searches left before the outage: the count per version, then the plan.
    outage_after_search = {"armed": False, "left": 2}

    def after(method: str, path: str) -> None:
        endpoint = path.split("?", maxsplit=1)[0]
        if outage_after_search["armed"] and endpoint.endswith(("_search", "_msearch")):
            outage_after_search["left"] -= 1
            if not outage_after_search["left"]:
                proxy.stop()

    client = connect_via(es, proxy.url, after=after)
    data = config_data(
        baseline[1],
        elasticsearch={"hosts": [proxy.url], "retry": {"attempts": 2, "initial": "20ms"}},
        namespace=es.namespace,
    )
    analyzer = Analyzer.from_config(config_from_dict(data, base=tmp_path), client=client)
    try:
        assert analyzer.run(window(0)).summary.ok

        proxy.stop()
        down = analyzer.run(window(1))
        assert not down.summary.ok
        assert "cannot reach Elasticsearch" in down.summary.errors[0]
        assert len(analyzer.pending) == 1

        proxy.start()
        outage_after_search["armed"] = True
        mid_run = analyzer.run(window(1))
        outage_after_search["armed"] = False
        assert not mid_run.summary.ok
        assert mid_run.summary.errors[0].startswith("writing results: writing")
        assert alerting(mid_run) == scenario.INJECTED  # counted and checked, not written
        assert len(analyzer.pending) == 2

        proxy.start()
        back = analyzer.run(window(1))
    finally:
        proxy.stop()
        client.close()
    assert back.summary.ok
    assert analyzer.pending == []
    assert {(Check(e.key.check), e.key.feature) for e in back.alerts} == scenario.INJECTED
    index = stream_name(Dataset.CHECK, es.namespace)
    es.client.indices.refresh(index=index)
    runs = es.client.search(
        index=index,
        query={"term": {"event.dataset": "mlmon.run"}},
        sort=[{"@timestamp": "asc"}],
        size=10,
    )["hits"]["hits"]
    outcomes = [(h["_source"]["event"]["start"], h["_source"]["event"]["outcome"]) for h in runs]
    start0, start1 = (f"{w.start:%Y-%m-%dT%H:%M:%S}.000Z" for w in (window(0), window(1)))
    assert sorted(outcomes) == sorted(
        [(start0, "success"), (start1, "failure"), (start1, "failure"), (start1, "success")]
    )
    alerts_index = stream_name(Dataset.ALERT, es.namespace)
    es.client.indices.refresh(index=alerts_index)
    assert es.client.count(index=alerts_index)["count"] == len(scenario.INJECTED)


def test_two_analyzers_at_once_write_each_document_once(backend: Backend) -> None:
    """Two analyzers racing on the same window leave one copy of every document."""
    import threading

    backend.add(scenario.documents(0), 0)
    backend.add(scenario.documents(1, injected=True), 1)
    backend.analyzer().run(window(0))
    before = backend.count(Dataset.CHECK)
    outcomes: list[RunOutcome] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        analyzer = backend.analyzer()
        barrier.wait()
        outcomes.append(analyzer.run(window(1)))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert [o.summary.ok for o in outcomes] == [True, True]
    written = sum(o.summary.written for o in outcomes)
    results = sum(len(w.results) for w in outcomes[0].results)
    # Every check result and alert is written by exactly one of the two …
    assert written == results + len(scenario.INJECTED)
    assert sum(o.summary.existing for o in outcomes) == results + len(scenario.INJECTED)
    assert backend.count(Dataset.CHECK) == before + results
    assert backend.count(Dataset.ALERT) == len(scenario.INJECTED)
    assert backend.count(Dataset.RUN) == 2  # … and both runs share one summary for the window


@pytest.mark.parametrize("mode", ["elasticsearch", "files"])
def test_predictions_logged_by_the_real_handler_raise_exactly_the_injected_alerts(
    mode: str, request: pytest.FixtureRequest, baseline: tuple[Baseline, Path], tmp_path: Path
) -> None:
    """The scenario logged through PredictionHandler's rotating, gzipping file sink: the
    analyzer reads the handler's files (or the same documents indexed) and raises the same
    five alerts as from documents written by the contract."""
    from mlmon_elk.producer.handler import PredictionHandler
    from mlmon_elk.sources.files import expand_paths, read_chunks

    active = tmp_path / "logs" / "predictions.jsonl"
    handler = PredictionHandler(
        f"file://{active}",
        model=scenario.MODEL,
        model_version=scenario.VERSION,
        text_inputs=["note"],
        spool_dir=None,
        file_max_bytes=150_000,
        batch_bytes=50_000,
        file_backups=0,
        file_compress=True,
    )
    try:
        scenario.log_window(handler, 0)
        scenario.log_window(handler, 1, injected=True)
    finally:
        handler.close()
    files = expand_paths([active])
    assert len(files) > 5  # rotated, and compressed
    assert any(f.suffix == ".gz" for f in files)

    if mode == "elasticsearch":
        es: EsTarget = request.getfixturevalue("es")
        docs = [d for chunk in read_chunks(files) for d in chunk]
        index_documents(es.client, stream_name(Dataset.PREDICTION, es.namespace), docs)
        source: dict[str, Any] = {"elasticsearch": {"hosts": [es.url]}, "namespace": es.namespace}
        client = es.client
    else:
        source = {"files": {"predictions": [str(active)], "output": "out"}}
        client = None
    config = config_from_dict(config_data(baseline[1], **source), base=tmp_path)
    analyzer = Analyzer.from_config(config, client=client)

    clean = analyzer.run(window(0))
    faulty = analyzer.run(window(1))

    assert clean.summary.ok, clean.summary.errors
    assert [w.count for w in clean.results] == [scenario.WINDOW_ROWS, scenario.WINDOW_ROWS]
    assert alerting(clean) == set()
    assert alerting(faulty) == scenario.INJECTED
    # Side effects of the faults may be significant but small: notices, never alerts.
    others = statuses_except(faulty, scenario.INJECTED | {(Check.VOLUME, None)})
    assert others <= {Status.OK, Status.NOTICE}, others


def test_two_analyzer_processes_on_one_window_write_every_document_once(
    es: EsTarget, tmp_path: Path, baseline: tuple[Baseline, Path]
) -> None:
    """Two `mlmon-elk analyze` processes started together on the injected window: both
    succeed, and thanks to the deterministic ids each document exists once — what one
    wrote, the other found there."""
    import subprocess
    import sys

    import yaml

    index_documents(
        es.client,
        stream_name(Dataset.PREDICTION, es.namespace),
        [*scenario.documents(0), *scenario.documents(1, injected=True)],
    )
    config = tmp_path / "mlmon.yaml"
    data = config_data(baseline[1], namespace=es.namespace, elasticsearch={"hosts": [es.url]})
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    at = (scenario.window_start(2) + scenario.STEP / 5).isoformat()
    command = [str(Path(sys.executable).parent / "mlmon-elk"), "analyze", "-c", str(config)]
    processes = [
        subprocess.Popen(
            [*command, "--once", "--at", at], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs

    def count(dataset: Dataset) -> int:
        index = stream_name(dataset, es.namespace)
        es.client.indices.refresh(index=index)
        query = {"term": {"event.dataset": str(dataset)}}
        return int(es.client.count(index=index, query=query)["count"])

    checks, alerts, runs = count(Dataset.CHECK), count(Dataset.ALERT), count(Dataset.RUN)
    assert alerts == len(scenario.INJECTED)
    assert runs == 1
    index = stream_name(Dataset.RUN, es.namespace)
    (run,) = es.client.search(index=index, query={"term": {"event.dataset": "mlmon.run"}})["hits"][
        "hits"
    ]
    assert run["_source"]["mlmon"]["run"]["checks"] == checks
    # Together the two processes wrote each check and alert once.
    written = existing = 0
    for out, _ in outputs:
        for line in out.decode().splitlines():
            if "documents written" in line:
                written += int(line.split(" documents written")[0].rsplit(" ", 1)[1])
                existing += int(line.split(" already there")[0].rsplit(" ", 1)[1])
    assert written == checks + alerts
    assert existing == checks + alerts


def test_a_sampled_window_raises_exactly_the_injected_alerts_and_says_it_sampled(
    es: EsTarget, baseline: tuple[Baseline, Path], tmp_path: Path
) -> None:
    """With sample_rows under the window's 1,000 predictions the engine counts the
    features of about 70 % of them: the clean window stays quiet, the faulty one
    raises the injected alerts, and every feature result says it tested a random
    sample — in its message and in ``mlmon.window.sample_rate`` — while traffic,
    errors and latency stay counted on every prediction.

    The sample changes from run to run (the engine salts its random score with the
    backing index's name). Its odds, simulated with the DataFrame path on random 70 %
    samples of the same windows: no alert in 1,500 of the clean one; in the faulty one
    the injected unseen cities (4.8 % → 11.5 %) also shift ``city``'s categories, whose
    PSI is 0.096 against 0.100 on the whole window: it crossed in 123 of 600 samples.
    """
    index_documents(
        es.client,
        stream_name(Dataset.PREDICTION, es.namespace),
        scenario.documents(0) + scenario.documents(1, injected=True),
    )
    source = {
        "elasticsearch": {"hosts": [es.url], "sample_rows": 700},
        "namespace": es.namespace,
    }
    config = config_from_dict(config_data(baseline[1], **source), base=tmp_path)
    analyzer = Analyzer.from_config(config, client=es.client)

    clean = analyzer.run(window(0))
    assert clean.summary.ok, clean.summary.errors
    assert alerting(clean) == set()
    faulty = analyzer.run(window(1))
    consequence = {(Check.CATEGORY_SHIFT, "city")}
    assert scenario.INJECTED <= alerting(faulty) <= scenario.INJECTED | consequence

    (version,) = [w for w in faulty.results if w.version is not None]
    assert version.count == scenario.WINDOW_ROWS
    by_check = {(r.check, r.feature): r for r in version.results}
    vanished = by_check[Check.FEATURE_VANISHED, "income"]
    assert vanished.sample_rate == 0.7
    assert 600 < vanished.count < 800  # Binomial(1,000, 0.7): sd 14.5
    assert f"of {scenario.WINDOW_ROWS:,} predictions" in vanished.summary
    assert by_check[Check.ERROR_RATE, None].sample_rate is None
    assert by_check[Check.ERROR_RATE, None].count == scenario.WINDOW_ROWS

    index = stream_name(Dataset.CHECK, es.namespace)
    es.client.indices.refresh(index=index)
    found = es.client.search(
        index=index,
        query={"range": {"mlmon.window.sample_rate": {"gt": 0}}},
        size=0,
        track_total_hits=True,
    )
    sampled_results = sum(
        r.sample_rate is not None for o in (clean, faulty) for w in o.results for r in w.results
    )
    assert found["hits"]["total"]["value"] == sampled_results > 0
