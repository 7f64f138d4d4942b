"""The embedded mode's speed: JSON-lines reading, and profile + checks beside Evidently.

1. **JSON lines read.** Predictions with 50 features (35 numeric, 12
   categorical, 3 text) are logged through ``PredictionHandler``'s file sink
   (64 MiB files, rotated ones gzipped); the file source reads and counts them
   into the window profile, with the native reader (``native/``, the default
   where it is installed) and with the Python reader. Rows per second are
   printed beside pandas' own
   ``read_json(lines=True, chunksize=…)``, pyarrow's ``json.read_json`` and
   DuckDB's ``read_json`` (one thread, the counted fields typed) parsing the same
   files (parsing only, no counting) for scale.
2. **Profile + checks on 1,000,000 × 50.** A DataFrame of one window (38
   numeric and 12 categorical columns, a few of them drifted) is profiled on
   the baseline's bins (``window_from_frame``) and checked (``check_run``);
   Evidently's ``DataDriftPreset`` runs on the same DataFrame against the same
   reference, in its own virtualenv (``bench/_evidently.py``). The goal is
   ≥ 10× faster than Evidently.
3. **A day of rotated logs.** The last hour, the whole day, and a backfill of its 24
   hours fetched one by one against planned in one pass (files read, seconds).
4. **One window per run.** 500, 5,000 and 50,000 rows logged by the handler, analysed by
   ``Analyzer.run`` in process and by ``mlmon-elk analyze --once`` as a fresh process,
   beside Evidently's ``DataDriftPreset`` on the same rows.
5. **A file several models share.** Each model's window fetched from one file that
   four models write line by line in turn, beside each from a file of its own lines.

Usage::

    python -m bench.embedded                      # 1,000,000 rows, 200,000 JSON lines, 1M-row day
    python -m bench.embedded --rows 200000 --jsonl-rows 50000 --day-rows 48000 --no-evidently
    python -m bench.embedded --rows 0 --jsonl-rows 0 --day-rows 0 --window-rows ''  # shared only
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow.json as pa_json
import yaml

from bench import documents
from mlmon_elk.analyzer.config import load_config
from mlmon_elk.analyzer.fetch import FileSource, ModelFetch
from mlmon_elk.analyzer.run import Analyzer
from mlmon_elk.checks import CheckSettings, ModelJob, check_run
from mlmon_elk.producer.handler import PredictionHandler
from mlmon_elk.profile.baseline import Baseline, ModelBaselines, dump_baseline
from mlmon_elk.profile.build import BuildOptions, build_baseline
from mlmon_elk.profile.frame import window_from_frame
from mlmon_elk.profile.lines import LineSchema
from mlmon_elk.profile.native_lines import DISABLE_VARIABLE, native_module
from mlmon_elk.profile.window import ModelWindow
from mlmon_elk.sources.files import expand_paths, gc_paused, open_lines, read_lines
from mlmon_elk.windows import Window, parse_time

START = datetime(2024, 5, 1, tzinfo=UTC)
WINDOW = Window(START, START + timedelta(days=1))


# ----------------------------------------------------------------- JSON lines


def write_logs(
    folder: Path,
    n: int,
    rng: np.random.Generator,
    *,
    name: str = "predictions.jsonl",
    file_max_bytes: int = 64 * 2**20,
    lognormal_latency: bool = False,
) -> list[Path]:
    """``n`` predictions logged through the handler's file sink (rotated and gzipped
    above ``file_max_bytes``), with a latency of 12 ms or lognormal latencies."""
    rows = documents.frame(n, rng)
    seconds = np.sort(rng.uniform(0, WINDOW.length.total_seconds(), n))
    latencies = rng.lognormal(2.5, 0.6, n).round(3) if lognormal_latency else np.full(n, 12.0)
    active = folder / name
    handler = documents.file_handler(active, n, file_max_bytes=file_max_bytes, file_backups=0)
    try:
        for row, s, ms in zip(rows.to_dict("records"), seconds, latencies, strict=True):
            handler.log_prediction(
                inputs={str(k): v for k, v in row.items()},
                latency_ms=float(ms),
                timestamp=START + timedelta(seconds=float(s)),
            )
    finally:
        handler.close()
    dropped = handler.counters().dropped
    assert not dropped, f"the handler dropped {dropped} predictions"
    return expand_paths([active])


def bench_jsonl(n: int, rng: np.random.Generator) -> None:
    print(f"== JSON lines: {n:,} prediction documents, 50 features (35 num, 12 cat, 3 text)")
    reference = documents.frame(20_000, rng)
    options = BuildOptions(kinds=documents.KINDS, holdout_fraction=0.0)
    model = ModelBaselines(
        "bench",
        {"1": build_baseline(reference, model="bench", version="1", options=options)},
        "1",
    )
    with tempfile.TemporaryDirectory(prefix="mlmon-bench-") as tmp:
        paths = write_logs(Path(tmp), n, rng)
        size = sum(p.stat().st_size for p in paths)
        packed = sum(1 for p in paths if p.suffix == ".gz")
        assert native_module() is not None, "no native reader: pip install ./native"
        # The two readers alternately, three times each, the median of each (a shared
        # machine's speed drifts by a third within minutes).
        native_runs, python_runs = [], []
        for _ in range(3):
            native_runs.append(file_source_read(model, paths, n))
            os.environ[DISABLE_VARIABLE] = "0"
            try:
                python_runs.append(file_source_read(model, paths, n))
            finally:
                del os.environ[DISABLE_VARIABLE]
        reading = _median_run(native_runs)
        python_reading = _median_run(python_runs)
        started, cpu = time.perf_counter(), time.process_time()
        decoded = decode_only(model, paths)
        decoding = time.perf_counter() - started, time.process_time() - cpu
        assert decoded == n, decoded
        started, cpu = time.perf_counter(), time.process_time()
        parsed = 0
        for path in paths:
            for chunk in pd.read_json(path, lines=True, chunksize=50_000, dtype=False):
                parsed += len(chunk)
        parsing = time.perf_counter() - started, time.process_time() - cpu
        started, cpu = time.perf_counter(), time.process_time()
        arrow_rows = 0
        for path in paths:  # one thread, schema inferred: parse into Arrow columns only
            with open_lines(path) as lines:
                options = pa_json.ReadOptions(use_threads=False, block_size=1 << 24)
                arrow_rows += pa_json.read_json(lines, read_options=options).num_rows
        arrow = time.perf_counter() - started, time.process_time() - cpu
        assert arrow_rows >= n
        started, cpu = time.perf_counter(), time.process_time()
        duck_rows = duckdb_columns(paths)
        duck = time.perf_counter() - started, time.process_time() - cpu
        assert duck_rows >= n
    print(f"   handler's files: {len(paths)} ({packed} rotated and gzipped), {size / 1e6:,.0f} MB")
    print("   FileSource: median of 3 runs each, alternating; the others: one run")
    print(f"   {'':<62}{'rows/s':>10}{'per CPU-s':>11}")
    label = "mlmon-elk FileSource, native reader (parse + count):"
    print(f"   {label:<62}{n / reading[0]:>10,.0f}{n / reading[1]:>11,.0f}")
    label = "mlmon-elk FileSource, Python reader (parse + count):"
    print(f"   {label:<62}{n / python_reading[0]:>10,.0f}{n / python_reading[1]:>11,.0f}")
    label = "the Python reader's reading and decoding alone (no counting):"
    print(f"   {label:<62}{n / decoding[0]:>10,.0f}{n / decoding[1]:>11,.0f}")
    label = "pandas.read_json(lines=True, chunksize) (parse only):"
    print(f"   {label:<62}{n / parsing[0]:>10,.0f}{n / parsing[1]:>11,.0f}")
    label = "pyarrow.json.read_json, one thread (parse only):"
    print(f"   {label:<62}{n / arrow[0]:>10,.0f}{n / arrow[1]:>11,.0f}")
    label = "duckdb read_json, one thread, typed fields (parse only):"
    print(f"   {label:<62}{n / duck[0]:>10,.0f}{n / duck[1]:>11,.0f}")
    print()


def bench_shared(n: int, rng: np.random.Generator, models: int = 4) -> None:
    """Every model's window from one file ``models`` models share, and from a file each."""
    print(f"== A file {models} models share: {n:,} predictions each, 50 features")
    reference = documents.frame(20_000, rng)
    options = BuildOptions(kinds=documents.KINDS, holdout_fraction=0.0)
    baseline = build_baseline(reference, model="bench", version="1", options=options)
    names = ["bench", *(f"bench-{i}" for i in range(1, models))]
    with tempfile.TemporaryDirectory(prefix="mlmon-bench-") as tmp:
        folder = Path(tmp)
        (folder / "logged").mkdir()
        logged = write_logs(folder / "logged", n, rng, file_max_bytes=1 << 40)
        lines = b"".join(path.read_bytes() for path in logged).splitlines()
        own: dict[str, list[bytes]] = {}
        for name in names:
            to = f'"name":"{name}"'.encode()
            renamed = [line.replace(b'"name":"bench"', to, 1) for line in lines]
            own[name] = renamed
            (folder / f"{name}.jsonl").write_bytes(b"\n".join(renamed) + b"\n")
        shared = folder / "shared.jsonl"
        turns = zip(*own.values(), strict=True)
        shared.write_bytes(b"\n".join(b"\n".join(turn) for turn in turns) + b"\n")
        each_model = [ModelBaselines(name, {"1": baseline}, "1") for name in names]
        runs: dict[str, list[tuple[float, float]]] = {"one pass": [], "each": [], "own": []}
        for _ in range(3):
            for kind, seconds in runs.items():
                started, cpu = time.perf_counter(), time.process_time()
                source = FileSource([shared])
                if kind == "one pass":  # as the analyzer reads it: every model expected
                    source.expect([ModelFetch(model) for model in each_model])
                for model in each_model:
                    if kind == "own":
                        source = FileSource([folder / f"{model.model}.jsonl"])
                    elif kind == "each":
                        source = FileSource([shared])
                    assert source.fetch(model, WINDOW).window.count == n
                seconds.append((time.perf_counter() - started, time.process_time() - cpu))
    (one_s, one_cpu), (each_s, each_cpu), (own_s, own_cpu) = map(_median_run, runs.values())
    reader = "native" if native_module() is not None else "Python"
    print(f"   every model's window, {reader} reader, median of 3 runs, alternating:")
    print(f"   {'':<48}{'wall s':>9}{'CPU s':>9}")
    print(f"   {'from the shared file, one pass (the analyzer):':<48}{one_s:>9.2f}{one_cpu:>9.2f}")
    print(f"   {'from the shared file, a pass per model:':<48}{each_s:>9.2f}{each_cpu:>9.2f}")
    print(f"   {'from a file each:':<48}{own_s:>9.2f}{own_cpu:>9.2f}")
    print(f"   one pass / own: {one_s / own_s:.2f}× wall, {one_cpu / own_cpu:.2f}× CPU")
    print(f"   a pass per model / own: {each_s / own_s:.2f}× wall, {each_cpu / own_cpu:.2f}× CPU")
    print()


def file_source_read(model: ModelBaselines, paths: list[Path], n: int) -> tuple[float, float]:
    """Wall and CPU seconds of one ``FileSource.fetch`` of the window (all ``n`` rows)."""
    started, cpu = time.perf_counter(), time.process_time()
    window = FileSource(paths).fetch(model, WINDOW).window
    seconds = time.perf_counter() - started, time.process_time() - cpu
    assert window.count == n, window.count
    return seconds


def _median_run(runs: list[tuple[float, float]]) -> tuple[float, float]:
    """The run of median CPU seconds."""
    return sorted(runs, key=lambda run: run[1])[len(runs) // 2]


def decode_only(model: ModelBaselines, paths: list[Path]) -> int:
    """The file source's reading and msgspec decoding into the counted fields, nothing
    counted: the ceiling of any counting done in Python on these documents."""
    schema = LineSchema(model)
    rows = 0
    with gc_paused():
        for _, lines in read_lines(paths):
            decoded = schema.decode(lines)
            rows += len(decoded.typed.docs) + len(decoded.whole.docs)
            del decoded
    return rows


DUCKDB_COLUMNS = {
    "@timestamp": "VARCHAR",
    "event": "STRUCT(dataset VARCHAR, outcome VARCHAR)",
    "mlmon": (
        'STRUCT("model" STRUCT("name" VARCHAR, "version" VARCHAR), "latency_ms" DOUBLE, '
        f'"inputs" STRUCT("num" STRUCT({", ".join(f"{n} DOUBLE" for n in documents.NUMERIC)}), '
        f'"cat" STRUCT({", ".join(f"{n} VARCHAR" for n in documents.CATEGORICAL)})), '
        f'"tokens" STRUCT({", ".join(f"{n} VARCHAR[]" for n in documents.TEXT)}), '
        f'"token_count" STRUCT({", ".join(f"{n} DOUBLE" for n in documents.TEXT)}), '
        '"present" VARCHAR[], "null" VARCHAR[])'
    ),
}
"""The fields a window is counted from, each with the type the handler writes there."""


def duckdb_columns(paths: list[Path]) -> int:
    """Rows DuckDB's JSON reader parses from ``paths`` into Arrow record batches, one thread,
    the counted fields typed (numbers DOUBLE, keywords VARCHAR, lists VARCHAR[]).

    A peer for scale, not a path of the package: typed columns hide the JSON type a value
    had (an array under a keyword arrives as its JSON text) where the file source must count
    each value as the engine indexes it (docs/analyzer.md, *DuckDB as the reader*).
    """
    import duckdb  # this peer only: the package does not need it

    connection = duckdb.connect(config={"threads": 1})
    columns = ", ".join(f"'{k}': '{v}'" for k, v in DUCKDB_COLUMNS.items())
    rows = 0
    for path in paths:  # rotated files are gzipped, named .gz: DuckDB gunzips them
        source = (
            f"read_json('{path}', format='newline_delimited', compression='auto_detect', "
            f"columns={{{columns}}})"
        )
        for batch in connection.sql(f"SELECT * FROM {source}").to_arrow_reader(10_000):  # noqa: S608
            rows += batch.num_rows
    connection.close()
    return rows


# ------------------------------------------------------- profile + checks


NUMERIC = [f"num{i:02d}" for i in range(38)]
CATEGORICAL = [f"cat{i:02d}" for i in range(12)]
DRIFTED = {"num00", "num01", "cat00"}


def frame(n: int, rng: np.random.Generator, *, drift: bool) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for i, name in enumerate(NUMERIC):
        shift = 0.5 if drift and name in DRIFTED else 0.0
        data[name] = rng.normal(i + shift, 1 + i % 5, n)
    for i, name in enumerate(CATEGORICAL):
        levels = np.array([f"v{k}" for k in range(2 + 3 * i)], dtype=object)
        p = np.full(len(levels), 1 / len(levels))
        if drift and name in DRIFTED:
            p = np.linspace(1, 3, len(levels))
            p /= p.sum()
        data[name] = levels[rng.choice(len(levels), n, p=p)]
    return pd.DataFrame(data)


def profile_and_check(window_frame: pd.DataFrame, baseline: Baseline) -> tuple[float, set[str]]:
    started = time.perf_counter()
    profile = window_from_frame(window_frame, baseline, start=WINDOW.start, end=WINDOW.end)
    window = ModelWindow("bench", WINDOW.start, WINDOW.end, {profile.version: profile})
    settings = CheckSettings(expected_versions=frozenset({"1"}))
    results = check_run([ModelJob(window, {"1": baseline}, settings)])
    seconds = time.perf_counter() - started
    flagged = {
        r.feature
        for w in results
        for r in w.results
        if r.status.is_alert and r.feature and r.check in ("numeric_drift", "category_shift")
    }
    return seconds, flagged


def bench_frame(n: int, rng: np.random.Generator, *, evidently: bool) -> None:
    print(f"== profile + checks on a {n:,} × 50 DataFrame (38 numeric, 12 categorical)")
    reference = frame(100_000, rng, drift=False)
    started = time.perf_counter()
    baseline = build_baseline(reference, model="bench", version="1")
    took = time.perf_counter() - started
    print(f"   baseline from 100,000 reference rows (once, not timed below): {took:.1f} s")
    current = frame(n, rng, drift=True)
    seconds, flagged = profile_and_check(current, baseline)
    label = "mlmon-elk window_from_frame + check_run:"
    print(f"   {label:<42}{seconds:8.2f} s   drift flagged: {sorted(flagged)}")
    if not evidently:
        print("   Evidently: skipped (--no-evidently)")
        return
    try:
        from bench._evidently import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
            run_evidently,
        )
    except ImportError:
        print("   Evidently: bench/_evidently.py (the Evidently virtualenv helper) is missing")
        return
    (result,) = run_evidently(
        reference, [current], numerical=NUMERIC, categorical=CATEGORICAL, evaluations=("drift",)
    )
    theirs = float(result["seconds"])
    drifted = sorted(c for c, d in result["drift"].items() if d)
    print(
        f"   Evidently DataDriftPreset (0.7.23):       {theirs:8.2f} s   drift flagged: {drifted}"
    )
    print(f"   mlmon-elk is {theirs / seconds:.1f}× faster (goal: ≥ 10×)")


# ------------------------------------------------------------ one window, as a user runs it

HOUR = Window(START, START + timedelta(hours=1))


def log_frame(folder: Path, rows: pd.DataFrame, window: Window, rng: np.random.Generator) -> None:
    """``rows`` logged through the handler's file sink, spread over ``window``."""
    seconds = np.sort(rng.uniform(0, window.length.total_seconds(), len(rows)))
    handler = PredictionHandler(
        f"file://{folder / 'predictions.jsonl'}",
        model="bench",
        model_version="1",
        spool_dir=None,
        queue_size=len(rows) + 1000,
        counters_interval=0,
    )
    try:
        for row, s in zip(rows.to_dict("records"), seconds, strict=True):
            handler.log_prediction(
                inputs={str(k): v for k, v in row.items()},
                latency_ms=12.0,
                timestamp=window.start + timedelta(seconds=float(s)),
            )
    finally:
        handler.close()
    assert not handler.counters().dropped


def files_config(folder: Path, baseline: Path, output: str) -> Path:
    """An embedded-mode configuration: hourly windows read from ``folder``'s files."""
    config = {
        "files": {"predictions": [str(folder / "predictions.jsonl")], "output": output},
        "schedule": {"interval": "1h", "window": "1h", "delay": "1m"},
        "models": [{"name": "bench", "baselines": {"1": str(baseline)}}],
    }
    path = folder / f"{output}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def in_process(config: Path) -> tuple[float, float]:
    """One ``Analyzer.run`` of the window as ``analyze --once`` does it, baseline load included:
    wall and CPU seconds."""
    started, cpu = time.perf_counter(), time.process_time()
    analyzer = Analyzer.from_config(load_config(config))
    summary = analyzer.run(HOUR).summary
    seconds = time.perf_counter() - started, time.process_time() - cpu
    assert summary.ok, summary.line()
    return seconds


def as_subprocess(config: Path) -> float:
    """Wall time of ``mlmon-elk analyze --once`` in a fresh interpreter."""
    exe = Path(sys.executable).with_name("mlmon-elk")
    at = (HOUR.end + timedelta(minutes=2)).isoformat()
    started = time.perf_counter()
    subprocess.run(
        [str(exe), "analyze", "--config", str(config), "--once", "--at", at, "--quiet"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def bench_windows(sizes: list[int], rng: np.random.Generator, *, evidently: bool) -> None:
    print(f"== one window per run, {', '.join(f'{n:,}' for n in sizes)} rows × 50 features")
    print("   (38 numeric, 12 categorical; files written by PredictionHandler)")
    reference = frame(50_000, rng, drift=False)
    baseline = build_baseline(reference, model="bench", version="1")
    currents = [frame(n, rng, drift=True) for n in sizes]
    theirs: list[float | None] = [None] * len(sizes)
    theirs_cpu: list[float | None] = [None] * len(sizes)
    if evidently:
        from bench._evidently import run_evidently  # type: ignore[import-not-found,unused-ignore]

        # DataDriftPreset alone, as in the 1M-row comparison: our run checks more than drift,
        # so the comparison errs in Evidently's favour.
        found = run_evidently(
            reference, currents, numerical=NUMERIC, categorical=CATEGORICAL, evaluations=("drift",)
        )
        theirs = [float(r["seconds"]) for r in found]
        theirs_cpu = [float(r["cpu_seconds"]) for r in found]
    header = f"   {'rows':>7} {'ours, in process':>17} {'ours, subprocess':>17} {'Evidently':>10}"
    print("   Evidently: DataDriftPreset on a DataFrame already in memory; ours: analyzer.run,")
    print("   baseline file loaded, JSON lines read, every check, results written")
    print(header + f" {'Evidently / ours':>17}   CPU s: {'ours':>6} {'Evidently':>9} {'ratio':>7}")
    with tempfile.TemporaryDirectory(prefix="mlmon-bench-") as tmp:
        root = Path(tmp)
        baseline_path = root / "baseline.yaml"
        dump_baseline(baseline, baseline_path)
        for n, current, peer, peer_cpu in zip(sizes, currents, theirs, theirs_cpu, strict=True):
            folder = root / f"rows-{n}"
            folder.mkdir()
            log_frame(folder, current, HOUR, rng)
            # Median of three runs, each a fresh analyzer writing to its own output.
            runs = [in_process(files_config(folder, baseline_path, f"in{k}")) for k in range(3)]
            ours = sorted(wall for wall, _ in runs)
            ours_cpu = sorted(cpu for _, cpu in runs)[1]
            sub = sorted(
                as_subprocess(files_config(folder, baseline_path, f"sub{k}")) for k in range(3)
            )
            ratio = f"{peer / ours[1]:16.1f}×" if peer else f"{'–':>17}"
            peer_text = f"{peer:9.2f}s" if peer else f"{'skipped':>10}"
            cpu_text = f"{peer_cpu:9.2f}s {peer_cpu / ours_cpu:6.1f}×" if peer_cpu else f"{'–':>18}"
            print(
                f"   {n:>7,} {ours[1]:16.3f}s {sub[1]:16.2f}s {peer_text} {ratio}"
                f"          {ours_cpu:6.3f}s {cpu_text}"
            )
    print("   goals: ≥ 10× faster than Evidently in process; subprocess at 5,000 rows ≤ 1.5 s")
    print()


# ------------------------------------------------- a day of rotated logs: one hour, a backfill


def write_day(folder: Path, n: int, rng: np.random.Generator) -> list[Path]:
    """``n`` predictions over one day, rotated about hourly and gzipped by the handler; each
    file's mtime set to its last prediction's time, as a live handler leaves it."""
    rows = frame(n, rng, drift=False)
    seconds = np.sort(rng.uniform(0, WINDOW.length.total_seconds(), n))
    active = folder / "predictions.jsonl"
    handler = PredictionHandler(
        f"file://{active}",
        model="bench",
        model_version="1",
        spool_dir=None,
        queue_size=n + 1000,
        counters_interval=0,
        file_max_bytes=max(n // 24, 1) * 1300,  # ~1.3 kB a document: about one file an hour
        file_backups=0,
    )
    try:
        for row, s in zip(rows.to_dict("records"), seconds, strict=True):
            handler.log_prediction(
                inputs={str(k): v for k, v in row.items()},
                latency_ms=12.0,
                timestamp=START + timedelta(seconds=float(s)),
            )
    finally:
        handler.close()
    assert not handler.counters().dropped
    # close() waits a while for the gzip of the last rotations, then leaves it to
    # finish on its own: wait for it here, before the files are stamped.
    while any(t.name == "mlmon-elk-compress" for t in threading.enumerate()):
        time.sleep(0.05)
    paths = expand_paths([active])
    for path in paths:
        with open_lines(path) as lines:
            stamp = max(orjson.loads(line)["@timestamp"] for line in lines if line.strip())
        t = parse_time(stamp).timestamp()
        os.utime(path, (t, t))
    return paths


def bench_day(n: int, rng: np.random.Generator) -> None:
    print(f"== a day of logs: {n:,} predictions × 50 features, rotated about hourly, gzipped")
    reference = frame(20_000, rng, drift=False)
    model = ModelBaselines(
        "bench", {"1": build_baseline(reference, model="bench", version="1")}, "1"
    )
    hours = [Window(START + timedelta(hours=h), START + timedelta(hours=h + 1)) for h in range(24)]
    with tempfile.TemporaryDirectory(prefix="mlmon-bench-") as tmp:
        paths = write_day(Path(tmp), n, rng)
        size = sum(p.stat().st_size for p in paths)
        print(f"   {len(paths)} files, {size / 1e6:,.0f} MB on disk")
        active = [Path(tmp) / "predictions.jsonl"]
        started = time.perf_counter()
        last = FileSource(active).fetch(model, hours[-1])
        hour = time.perf_counter() - started
        started = time.perf_counter()
        whole = FileSource(active).fetch(model, WINDOW)
        day = time.perf_counter() - started
        print(f"   last hour: {hour:6.2f} s, {last.requests} of {len(paths)} files read")
        print(f"   whole day: {day:6.2f} s, {whole.requests} of {len(paths)} files read")
        started = time.perf_counter()
        single = FileSource(active)
        alone = [single.fetch(model, w) for w in hours]
        one_by_one = time.perf_counter() - started
        started = time.perf_counter()
        planned = FileSource(active)
        planned.plan(hours)
        together = [planned.fetch(model, w) for w in hours]
        backfill = time.perf_counter() - started
        assert [a.window.versions["1"].count for a in alone] == [
            t.window.versions["1"].count for t in together
        ]
        reads = sum(a.requests for a in alone), sum(t.requests for t in together)
        print(
            f"   backfill of 24 hours, a fetch per hour: {one_by_one:6.2f} s, {reads[0]} file reads"
        )
        print(
            f"   backfill of 24 hours, planned, one pass: {backfill:6.2f} s, {reads[1]} file reads"
        )
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="DataFrame rows")
    parser.add_argument("--jsonl-rows", type=int, default=200_000, help="JSON-lines documents")
    parser.add_argument(
        "--window-rows", default="500,5000,50000", help="window sizes run one at a time ('' skips)"
    )
    parser.add_argument("--day-rows", type=int, default=1_000_000, help="a day of rotated logs")
    parser.add_argument("--no-evidently", action="store_true", help="skip the Evidently run")
    parser.add_argument(
        "--shared-rows", type=int, default=50_000, help="predictions per model in a shared file"
    )
    args = parser.parse_args(argv)
    rng = np.random.default_rng(11)
    if args.jsonl_rows:
        bench_jsonl(args.jsonl_rows, rng)
    if args.day_rows:
        bench_day(args.day_rows, rng)
    if args.window_rows:
        sizes = [int(n) for n in args.window_rows.split(",")]
        bench_windows(sizes, rng, evidently=not args.no_evidently)
    if args.rows:
        bench_frame(args.rows, rng, evidently=not args.no_evidently)
    if args.shared_rows:
        bench_shared(args.shared_rows, rng)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
