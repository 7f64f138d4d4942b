"""``mlmon-elk demo``: the whole loop on one machine, in well under a minute.

1. build a baseline from the bundled training data (``mlmon-elk baseline``);
2. serve simulated traffic through the example model and the real
   ``PredictionHandler`` — to JSON-lines files, or to Logstash; with an
   Elasticsearch (or OpenSearch) URL and no Logstash, the handler's files are
   then bulk-``create``d into the prediction data stream under each
   prediction's id, so loading them twice adds nothing;
3. switch drift on part-way (a vanishing feature, an NA spike, a category
   shift, out-of-vocabulary words) and off again;
4. run the analyzer over every window, printing alerts as they fire and resolve;
5. write a self-contained HTML report.

Simulated time: the traffic covers the last ``windows`` five-minute windows
before now, so the analyzer sees finished windows at once.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
import yaml

from mlmon_elk.checks.result import WindowResult
from mlmon_elk.contract import DEFAULT_NAMESPACE, Status, Transition
from mlmon_elk.demo.traffic import DEMO_DRIFT, MODEL, VERSION, Drift, applications, predict
from mlmon_elk.errors import MlmonError
from mlmon_elk.results.console import time_range
from mlmon_elk.results.run_summary import RunSummary
from mlmon_elk.windows import Window, floor_time, format_time, utc_now

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

TRAINING_DATA = "loan_applications.csv.gz"
OUTPUTS = ("default_risk", "decision")
TEXT_INPUTS = ("description",)


@dataclass(frozen=True, slots=True)
class DemoPlan:
    """How much traffic, over how many windows, with drift when."""

    windows: int = 12
    per_window: int = 2_000
    interval: timedelta = timedelta(minutes=5)
    drift_from: int = 5
    """First window (0-based) with drift switched on."""
    drift_until: int = 9
    """First window after the drift is switched off again."""
    drift: Drift = DEMO_DRIFT
    seed: int = 2024

    def drift_in(self, window: int) -> Drift:
        return self.drift if self.drift_from <= window < self.drift_until else Drift()


@dataclass(frozen=True, slots=True)
class Stack:
    """Where the demo sends predictions and reads results when not on files."""

    elasticsearch: str
    logstash: str | None = None
    """The handler's destination; ``None`` writes the documents straight into the engine."""
    namespace: str = DEFAULT_NAMESPACE
    logstash_ca: str | None = None
    """CA that signed Logstash's certificate (``tls://`` or ``https://`` destinations)."""
    client_cert: str | None = None
    """Client certificate for Logstash's tcp input (the compose stack requires one)."""
    client_key: str | None = None


def training_data_path() -> Path:
    """The bundled training set (20,000 simulated loan applications with outputs)."""
    return Path(str(files("mlmon_elk.demo") / "data" / TRAINING_DATA))


def run_demo(
    out: Path,
    *,
    plan: DemoPlan = DemoPlan(),
    stack: Stack | None = None,
    echo: TextIO | None = None,
    started: float | None = None,
) -> Path:
    """Run the demo into ``out``; returns the path of the HTML report.

    Progress goes to ``echo``, by default the standard output of the moment.
    ``started`` (a ``time.perf_counter()`` value) is what "done in" counts from:
    the command line passes its own start, so imports are counted too.
    """
    say = _printer(echo if echo is not None else sys.stdout)
    started = time.perf_counter() if started is None else started
    out.mkdir(parents=True, exist_ok=True)
    cleared = _start_clean(out)
    if cleared:
        say(f"0/5 starting clean: removed the previous run's {', '.join(cleared)} in {_rel(out)}")

    baseline_path = out / "baselines" / f"{MODEL}-{VERSION}.yaml"
    say(f"1/5 building the baseline of {MODEL} {VERSION} from {training_data_path().name} …")
    _build_baseline(baseline_path)
    say(f"    wrote {_rel(baseline_path)}")

    end = floor_time(utc_now(), plan.interval)
    windows = [
        Window(
            end - plan.interval * (plan.windows - i), end - plan.interval * (plan.windows - i - 1)
        )
        for i in range(plan.windows)
    ]
    log_file = (out / "logs" / "predictions.jsonl").resolve()
    destination = stack.logstash if stack and stack.logstash else f"file://{log_file}"
    if stack is not None and stack.logstash is None:
        say(f"    direct to {stack.elasticsearch}: installing the index templates (as setup does)")
        _install_templates(stack)
    say(
        f"2/5 serving {plan.windows * plan.per_window:,} simulated predictions over {plan.windows}"
        f" windows of {_minutes(plan.interval)} through PredictionHandler → {destination}"
    )
    say(
        f"3/5 drift on in windows {plan.drift_from + 1}–{plan.drift_until}: employment_years"
        f" missing from {plan.drift.employment_years_absent:.0%} of requests, income NA +"
        f"{plan.drift.extra_income_na:.0%}, divorced {plan.drift.divorced_share:.0%},"
        f" {plan.drift.new_word_share:.0%} new words in descriptions"
    )
    sent = _serve(destination, windows, plan, stack)
    say(f"    {sent:,} predictions logged")
    if stack is not None and stack.logstash is None:
        created, existing = _bulk_load(stack, log_file)
        say(
            f"    bulk-created {created:,} documents in {_prediction_stream(stack)}"
            f" ({existing:,} were already there)"
        )

    config_path = _write_config(out, baseline_path, plan, stack)
    say(f"4/5 analysing {len(windows)} windows (config: {_rel(config_path)})")
    if stack is not None:
        _wait_for_documents(config_path, windows, sent, say)
    _analyse(config_path, windows, say)

    report = out / "report.html"
    say("5/5 writing the report …")
    from mlmon_elk.report import write_report

    write_report(
        report, config=config_path, model=MODEL, start=windows[0].start, end=windows[-1].end
    )
    say(f"    {_rel(report)}")
    say(f"done in {time.perf_counter() - started:.1f} s. Next:")
    say(f"  open {_rel(report)}")
    span = f"--from {format_time(windows[0].start)} --to {format_time(windows[-1].end)}"
    say(f"  mlmon-elk analyze --config {_rel(config_path)} {span} -v   (again: writes nothing new)")
    say("  attach PredictionHandler to your own model: see README.md (Quickstart)")
    return report


CONFIG_HEADER = "# Analyzer configuration written by `mlmon-elk demo`"
"""First line of the demo's config: how a later run knows the folder is the demo's."""

DEMO_OUTPUTS = ("logs", "results", "report.html", "mlmon.yaml", "baselines")
"""What a demo run writes into its folder, removed before the next run: appending
a second run's traffic to the first's would overlap windows (and fake a volume rise)."""


def _start_clean(out: Path) -> list[str]:
    """Remove what an earlier demo wrote into ``out``; returns what was removed."""
    import shutil

    present = [name for name in DEMO_OUTPUTS if (out / name).exists()]
    config = out / "mlmon.yaml"
    if present and not (config.is_file() and config.read_text("utf-8").startswith(CONFIG_HEADER)):
        msg = (
            f"{out} holds {', '.join(present)} that an earlier demo did not write"
            " (no demo mlmon.yaml); give --out an empty or new folder"
        )
        raise MlmonError(msg)
    removed = []
    for name in DEMO_OUTPUTS:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(f"{name}/" if path.suffix == "" else name)
    return removed


def _build_baseline(path: Path) -> None:
    from mlmon_elk.profile.baseline import dump_baseline
    from mlmon_elk.profile.build import build_baseline, read_table

    frame, absent = read_table(training_data_path())
    baseline = build_baseline(
        frame,
        model=MODEL,
        version=VERSION,
        outputs=OUTPUTS,
        kinds=dict.fromkeys(TEXT_INPUTS, "text"),
        absent=absent,
        source=TRAINING_DATA,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    dump_baseline(baseline, path)


def _serve(destination: str, windows: list[Window], plan: DemoPlan, stack: Stack | None) -> int:
    """Log every window's traffic through the real handler; returns the number logged."""
    from mlmon_elk.producer.handler import PredictionHandler

    handler = PredictionHandler(
        destination,
        model=MODEL,
        model_version=VERSION,
        service="loan-api",
        environment="demo",
        namespace=stack.namespace if stack else "default",
        text_inputs=TEXT_INPUTS,
        ca_certs=stack.logstash_ca if stack else None,
        client_cert=stack.client_cert if stack else None,
        client_key=stack.client_key if stack else None,
        # On files nothing can be down; towards Logstash keep a spool for outages.
        spool_dir=None if stack is None or stack.logstash is None else "auto",
        queue_size=max(50_000, plan.windows * plan.per_window + 1_000),
        counters_interval=3600.0,
    )
    rng = np.random.default_rng(plan.seed)
    sent = 0
    try:
        for i, window in enumerate(windows):
            span = (window.end - window.start).total_seconds()
            offsets = np.sort(rng.uniform(0, span, plan.per_window))
            latencies = rng.lognormal(np.log(35.0), 0.5, plan.per_window)
            for row, offset, latency in zip(
                applications(plan.per_window, rng, plan.drift_in(i)),
                offsets,
                latencies,
                strict=True,
            ):
                handler.log_prediction(
                    inputs=row,
                    outputs=predict(row),
                    latency_ms=float(latency),
                    timestamp=window.start + timedelta(seconds=float(offset)),
                )
                sent += 1
    finally:
        handler.close()
    lost = handler.counters().dropped
    if lost:
        msg = f"the handler dropped {lost} predictions; see its diagnostics on stderr"
        raise MlmonError(msg)
    return sent


def _client(stack: Stack) -> Elasticsearch:
    from mlmon_elk.engine.client import EsConnection, connect

    return connect(EsConnection(hosts=(stack.elasticsearch,)))


def _prediction_stream(stack: Stack) -> str:
    from mlmon_elk.contract import Dataset, stream_name

    return stream_name(Dataset.PREDICTION, stack.namespace)


def _install_templates(stack: Stack) -> None:
    """The index templates, so the documents land in data streams with the real mappings."""
    from mlmon_elk.stack.install import install_templates

    client = _client(stack)
    try:
        install_templates(client)
    finally:
        client.close()


DEMO_BULK = 2_000
"""Documents per bulk request of the direct path."""


def _bulk_load(stack: Stack, log_file: Path) -> tuple[int, int]:
    """Bulk-``create`` the handler's documents under their prediction ids; (created, existing).

    Documents without a prediction id (the handler's counters) get the hash of
    their line. A ``409`` is a document already there (a second demo run over the same
    windows), counted and not written again.

    Raises:
        MlmonError: the engine rejected documents for another reason.
    """
    import json

    from mlmon_elk.contract import Field
    from mlmon_elk.sources.files import expand_paths, open_lines

    index = _prediction_stream(stack)
    client = _client(stack)
    created = existing = 0

    def send(operations: list[dict[str, Any]]) -> None:
        nonlocal created, existing
        response = client.bulk(operations=operations)
        for item in response["items"]:
            status = int(item["create"].get("status", 0))
            if status in (200, 201):
                created += 1
            elif status == 409:
                existing += 1
            else:
                msg = f"{index} rejected a prediction: {item['create'].get('error')}"
                raise MlmonError(msg)

    try:
        operations: list[dict[str, Any]] = []
        for path in expand_paths([log_file]):
            with open_lines(path) as lines:
                for line in lines:
                    doc = json.loads(line)
                    ident = _dig(doc, Field.PREDICTION_ID) or _line_id(line)
                    operations += [{"create": {"_index": index, "_id": ident}}, doc]
                    if len(operations) >= 2 * DEMO_BULK:
                        send(operations)
                        operations = []
        if operations:
            send(operations)
        client.indices.refresh(index=index)
    finally:
        client.close()
    return created, existing


def _dig(doc: dict[str, Any], dotted: str) -> str | None:
    value: Any = doc
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return str(value)


def _line_id(line: bytes) -> str:
    import hashlib

    return hashlib.sha1(line.strip()).hexdigest()  # noqa: S324 - an id, not security


def _write_config(out: Path, baseline: Path, plan: DemoPlan, stack: Stack | None) -> Path:
    """The analyzer configuration of the demo, written so people can reuse it."""
    minutes = f"{int(plan.interval.total_seconds() // 60)}m"
    config: dict[str, Any] = {
        "namespace": stack.namespace if stack else "default",
        "schedule": {"interval": minutes, "window": minutes, "delay": "30s"},
        "models": [
            {
                "name": MODEL,
                "baselines": {VERSION: str(baseline.relative_to(out))},
                "latency_sla_ms": {95: 250},
                "max_error_rate": 0.01,
            }
        ],
    }
    if stack is None:
        config["files"] = {"predictions": ["logs/predictions.jsonl"], "output": "results"}
    else:
        config["elasticsearch"] = {"hosts": [stack.elasticsearch]}
    path = out / "mlmon.yaml"
    path.write_text(
        CONFIG_HEADER
        + " (keys: docs/configuration.md)\n"
        + yaml.safe_dump(config, sort_keys=False),
        encoding="utf-8",
    )
    return path


def _analyse(config_path: Path, windows: list[Window], say: Callable[[str], None]) -> None:
    from mlmon_elk.analyzer.config import load_config
    from mlmon_elk.analyzer.run import Analyzer

    analyzer = Analyzer.from_config(load_config(config_path))
    for i, window in enumerate(windows, 1):
        outcome = analyzer.run(window)
        summary = outcome.summary
        fired = [
            e
            for e in outcome.alerts
            if e.transition not in (Transition.ONGOING, Transition.RECOVERING)
        ]
        span = time_range(window.start, window.end) if i == 1 else _clock_range(window)
        say(f"    window {i:2}/{len(windows)} {span}  {_checks_line(summary, outcome.results)}")
        for event in fired:
            mark = alert_mark(event.transition, event.severity)
            say(
                f"      {mark:<11} {event.result.message(event.window.model, event.window.version)}"
            )
        if not summary.ok:
            msg = f"the analyzer failed on window {window}: {'; '.join(summary.errors)}"
            raise MlmonError(msg)


_MARKS = {Status.CRITICAL: "✖", Status.WARNING: "▲"}
"""A critical and a warning look different at a glance (the report uses the same marks)."""


def alert_mark(transition: Transition, severity: Status) -> str:
    """``✖ critical``, ``▲ warning`` or ``✔ resolved``."""
    if transition is Transition.RESOLVED:
        return "✔ resolved"
    return f"{_MARKS.get(severity, '✖')} {severity}"


def _clock_range(window: Window) -> str:
    """``00:25–00:30`` after the first window's line has given the date and year."""
    return f"{window.start:%H:%M} → {window.end:%H:%M}".rjust(len("2026-01-01 00:00 → 00:00"))


def _checks_line(summary: RunSummary, results: Sequence[WindowResult] = ()) -> str:
    """``54 checks: all ok`` or ``54 checks: 3 critical, 1 insufficient_data (volume)``.

    Ongoing alerts count too. Checks without a line of their own below (no data,
    errors) are named when there are three or fewer.
    """
    if not summary.ok:
        return "FAILED: " + "; ".join(summary.errors)
    notable = []
    for status in (Status.CRITICAL, Status.WARNING, Status.ERROR, Status.INSUFFICIENT_DATA):
        n = summary.statuses.get(status)
        if not n:
            continue
        names = sorted(
            f"{r.check}" + (f" {r.feature}" if r.feature else "")
            for w in results
            for r in w.results
            if r.status is status
        )
        named = status in (Status.ERROR, Status.INSUFFICIENT_DATA) and 0 < len(names) <= 3
        which = f" ({', '.join(names)})" if named else ""
        notable.append(f"{n} {status}{which}")
    return f"{summary.checks} checks: {', '.join(notable) or 'all ok'}"


def _wait_for_documents(
    config_path: Path, windows: list[Window], expected: int, say: Callable[[str], None]
) -> None:
    """Wait until every prediction is searchable (Logstash batches; or 120 s pass)."""
    from mlmon_elk.analyzer.config import load_config
    from mlmon_elk.contract import Dataset, stream_name
    from mlmon_elk.engine.client import connect

    config = load_config(config_path)
    assert config.elasticsearch is not None  # noqa: S101 - written above with elasticsearch
    client = connect(config.elasticsearch.connection)
    index = stream_name(Dataset.PREDICTION, config.namespace)
    query = {
        "bool": {
            "filter": [
                {"term": {"event.dataset": str(Dataset.PREDICTION)}},
                {"term": {"mlmon.model.name": MODEL}},
                {
                    "range": {
                        "@timestamp": {
                            "gte": format_time(windows[0].start),
                            "lt": format_time(windows[-1].end),
                        }
                    }
                },
            ]
        }
    }
    deadline = time.monotonic() + 120
    count = 0
    while time.monotonic() < deadline:
        client.options(ignore_status=404).indices.refresh(index=index)
        count = int(
            client.options(ignore_status=404).count(index=index, query=query).get("count", 0)
        )
        if count >= expected:
            say(f"    Elasticsearch has all {count:,} predictions")
            return
        time.sleep(2)
    msg = (
        f"only {count:,} of {expected:,} predictions reached {index} within 120 s"
        " (is Logstash running?)"
    )
    raise MlmonError(msg)


def _printer(echo: TextIO) -> Callable[[str], None]:
    def say(line: str) -> None:
        print(line, file=echo, flush=True)

    return say


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _minutes(delta: timedelta) -> str:
    return f"{int(delta.total_seconds() // 60)} minutes"


__all__ = ["DemoPlan", "Stack", "run_demo", "training_data_path"]
