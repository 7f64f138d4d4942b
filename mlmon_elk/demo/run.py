"""``mlmon-elk demo``: the whole loop on one machine, in well under a minute.

1. build a baseline from the bundled training data (``mlmon-elk baseline``);
2. serve simulated traffic through the example model and the real
   ``PredictionHandler`` — to JSON-lines files, or to Logstash;
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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import yaml

from mlmon_elk.contract import DEFAULT_NAMESPACE, Status, Transition
from mlmon_elk.demo.traffic import DEMO_DRIFT, MODEL, VERSION, Drift, applications, predict
from mlmon_elk.errors import MlmonError
from mlmon_elk.run_summary import RunSummary
from mlmon_elk.windows import Window, floor_time, format_time, utc_now

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
    logstash: str
    namespace: str = DEFAULT_NAMESPACE


def training_data_path() -> Path:
    """The bundled training set (20,000 simulated loan applications with outputs)."""
    return Path(str(files("mlmon_elk.demo") / "data" / TRAINING_DATA))


def run_demo(
    out: Path,
    *,
    plan: DemoPlan = DemoPlan(),
    stack: Stack | None = None,
    echo: TextIO = sys.stdout,
) -> Path:
    """Run the demo into ``out``; returns the path of the HTML report."""
    say = _printer(echo)
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)

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
    destination = (
        stack.logstash if stack else f"file://{(out / 'logs' / 'predictions.jsonl').resolve()}"
    )
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
    from mlmon_elk.handler import PredictionHandler

    handler = PredictionHandler(
        destination,
        model=MODEL,
        model_version=VERSION,
        service="loan-api",
        environment="demo",
        namespace=stack.namespace if stack else "default",
        text_inputs=TEXT_INPUTS,
        # On files nothing can be down; towards Logstash keep a spool for outages.
        spool_dir=None if stack is None else "auto",
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
        "# Analyzer configuration written by `mlmon-elk demo` (keys: docs/configuration.md)\n"
        + yaml.safe_dump(config, sort_keys=False),
        encoding="utf-8",
    )
    return path


def _analyse(config_path: Path, windows: list[Window], say: Callable[[str], None]) -> None:
    from mlmon_elk.analyzer import Analyzer
    from mlmon_elk.config import load_config

    analyzer = Analyzer.from_config(load_config(config_path))
    for i, window in enumerate(windows, 1):
        outcome = analyzer.run(window)
        summary = outcome.summary
        fired = [
            e
            for e in outcome.alerts
            if e.transition not in (Transition.ONGOING, Transition.RECOVERING)
        ]
        span = f"{window.start:%H:%M}–{window.end:%H:%M}"
        say(f"    window {i:2}/{len(windows)} {span}  {_checks_line(summary)}")
        for event in fired:
            mark = (
                "✔ resolved" if event.transition is Transition.RESOLVED else f"✖ {event.severity}"
            )
            say(
                f"      {mark:<11} {event.result.message(event.window.model, event.window.version)}"
            )
        if not summary.ok:
            msg = f"the analyzer failed on window {window}: {'; '.join(summary.errors)}"
            raise MlmonError(msg)


def _checks_line(summary: RunSummary) -> str:
    """``54 checks: all ok`` or ``54 checks: 3 critical, 1 warning`` (ongoing alerts too)."""
    if not summary.ok:
        return "FAILED: " + "; ".join(summary.errors)
    notable = [
        f"{summary.statuses[status]} {status}"
        for status in (Status.CRITICAL, Status.WARNING, Status.ERROR, Status.INSUFFICIENT_DATA)
        if summary.statuses.get(status)
    ]
    return f"{summary.checks} checks: {', '.join(notable) or 'all ok'}"


def _wait_for_documents(
    config_path: Path, windows: list[Window], expected: int, say: Callable[[str], None]
) -> None:
    """Wait until Logstash has indexed every prediction (or 120 s pass)."""
    from mlmon_elk.config import load_config
    from mlmon_elk.contract import Dataset, stream_name
    from mlmon_elk.es_client import connect

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
