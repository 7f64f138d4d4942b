"""Benchmark of the prediction handler against python-json-logger and python-logstash-async.

One run prints one table. For a 20-feature prediction:

* the cost in the caller's thread — wall time of each call (p50, p99) and the
  caller thread's own CPU time per call — through the direct call
  (``handler.log_prediction``) and through a ``logging.Logger``
  (``log_prediction``);
* the total CPU per record: every thread of the process, from the first call
  until ``close()`` returned (everything handed over);
* sustained records per second to a TCP peer, the producing process pinned
  to one core;
* the caller's p99 while the peer is down (the handler spooling to disk);
* instructions per call under ``valgrind --tool=callgrind`` — in the calling
  thread and in all threads — which, unlike wall time on a shared machine,
  repeat from run to run: each scenario runs twice with a different number of
  calls and the difference is divided by the difference in calls, so start-up
  and imports cancel out (``PYTHONHASHSEED=0``).

Side by side in the same run: python-json-logger's ``JsonFormatter`` on a
``StreamHandler`` (to a file) and python-logstash-async's
``AsynchronousLogstashHandler`` to the same peer, both called as
``logger.info("prediction", extra={inputs, outputs, latency_ms})``.

Every scenario runs in a fresh process; scenarios are interleaved over
``--rounds`` rounds; figures are medians over the rounds and ratios medians of
the per-round ratios, because shared machines drift. The peer is the test suite's ``json_lines``
server in its own process, counting lines (the tests check what arrives).

Run: ``python -m bench.handler`` (``--records``, ``--rounds`` to change the size;
``--no-instructions`` skips the callgrind runs, about three minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

FEATURES: dict[str, Any] = {
    **{f"num_{i}": 0.5 + i * 1.25 for i in range(12)},
    **{f"cat_{i}": f"value_{i}" for i in range(6)},
    "count": 7,
    "flag": True,
}
OUTPUTS = {"score": 0.83, "label": "churn"}
LATENCY_MS = 4.2
WARMUP = 2_000
COUNTED_CALLS = (300, 1_300)  # two runs under callgrind; per call = Δ instructions / Δ calls
COUNTED_WARMUP = 200

SCENARIOS = {
    "ours_direct": "mlmon-elk, direct call",
    "ours_logging": "mlmon-elk, through logging",
    "python_json_logger": "python-json-logger, StreamHandler",
    "logstash_async": "python-logstash-async, TCP",
    "ours_outage": "mlmon-elk, direct call, peer down",
}


# -- scenarios (each in its own process) ----------------------------------------------------


def _ours(
    url: str, spool: str, *, via_logging: bool
) -> tuple[Callable[[], None], Callable[[], None]]:
    from mlmon_elk import PredictionHandler, log_prediction

    handler = PredictionHandler(
        url,
        model="bench",
        model_version="1",
        spool_dir=spool,
        counters_interval=0,
        close_timeout=60.0,
    )
    if not via_logging:

        def direct() -> None:
            handler.log_prediction(inputs=FEATURES, outputs=OUTPUTS, latency_ms=LATENCY_MS)

        return direct, handler.close
    logger = logging.getLogger("bench.ours")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False

    def through_logging() -> None:
        log_prediction(logger, inputs=FEATURES, outputs=OUTPUTS, latency_ms=LATENCY_MS)

    return through_logging, handler.close


def _python_json_logger(directory: str) -> tuple[Callable[[], None], Callable[[], None]]:
    from pythonjsonlogger.json import JsonFormatter

    stream = open(Path(directory) / "pjl.jsonl", "a", encoding="utf-8")  # noqa: SIM115
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("bench.pjl")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    extra = {"inputs": FEATURES, "outputs": OUTPUTS, "latency_ms": LATENCY_MS}

    def call() -> None:
        logger.info("prediction", extra=extra)

    def close() -> None:
        handler.close()
        stream.close()

    return call, close


def _logstash_async(port: int) -> tuple[Callable[[], None], Callable[[], None]]:
    from logstash_async.handler import AsynchronousLogstashHandler

    handler = AsynchronousLogstashHandler("127.0.0.1", port, database_path=None)
    logger = logging.getLogger("bench.logstash_async")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    extra = {"inputs": FEATURES, "outputs": OUTPUTS, "latency_ms": LATENCY_MS}

    def call() -> None:
        logger.info("prediction", extra=extra)

    return call, handler.close


def _make(name: str, port: int, directory: str) -> tuple[Callable[[], None], Callable[[], None]]:
    url = f"tcp://127.0.0.1:{port}"
    if name in ("ours_direct", "ours_outage"):
        return _ours(url, directory, via_logging=False)
    if name == "ours_logging":
        return _ours(url, directory, via_logging=True)
    if name == "python_json_logger":
        return _python_json_logger(directory)
    if name == "logstash_async":
        return _logstash_async(port)
    msg = f"unknown scenario {name}"
    raise SystemExit(msg)


def _timer_overhead(count: int = 100_000) -> tuple[float, float]:
    """Wall and thread-CPU ns per iteration of the measuring loop around a no-op."""

    def noop() -> None:
        return None

    clock = time.perf_counter_ns
    samples = [0] * count
    cpu = time.thread_time_ns()
    for i in range(count):
        start = clock()
        noop()
        samples[i] = clock() - start
    cpu = time.thread_time_ns() - cpu
    samples.sort()
    return samples[count // 2], cpu / count


def run_scenario(
    name: str, port: int, records: int, *, timed: bool, cpu: int | None
) -> dict[str, Any]:
    """One scenario in this (fresh) process: warm up, measure, close."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    with tempfile.TemporaryDirectory() as directory:
        call, close = _make(name, port, directory)
        for _ in range(WARMUP):
            call()
        time.sleep(0.5)  # let the warm-up drain
        overhead_wall, overhead_cpu = _timer_overhead() if timed else (0.0, 0.0)
        clock = time.perf_counter_ns
        samples = [0] * (records if timed else 0)
        cpu_start = time.process_time()
        thread_start = time.thread_time_ns()
        start = time.monotonic()
        if timed:
            for i in range(records):
                began = clock()
                call()
                samples[i] = clock() - began
        else:
            for _ in range(records):
                call()
        thread_cpu = time.thread_time_ns() - thread_start
        close()
        result: dict[str, Any] = {
            "start": start,
            "cpu_per_record_us": (time.process_time() - cpu_start) / records * 1e6,
        }
        if timed:
            samples.sort()
            result["p50_us"] = (samples[records // 2] - overhead_wall) / 1000
            result["p99_us"] = (samples[int(records * 0.99)] - overhead_wall) / 1000
            result["thread_cpu_us"] = (thread_cpu / records - overhead_cpu) / 1000
        return result


def run_counted(name: str, port: int, calls: int) -> None:
    """The scenario's calls, untimed, for callgrind to count (warm-up and close included)."""
    with tempfile.TemporaryDirectory() as directory:
        call, close = _make(name, port, directory)
        for _ in range(COUNTED_WARMUP + calls):
            call()
        close()


def _callgrind_totals(prefix: Path) -> tuple[int, int]:
    """Instructions of the first (calling) thread and of all threads of one callgrind run."""
    totals: dict[str, int] = {}
    for path in prefix.parent.glob(prefix.name + ".*"):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("summary:"):
                totals[path.name] = int(line.split()[1])
    main = [count for file, count in totals.items() if file.endswith("-01")]
    if len(main) != 1:
        msg = f"callgrind wrote no thread-1 file under {prefix}"
        raise RuntimeError(msg)
    return main[0], sum(totals.values())


def instructions(name: str, port: int) -> dict[str, float]:
    """Instructions per call of one scenario: calling thread and all threads."""
    counts = []
    with tempfile.TemporaryDirectory() as directory:
        for calls in COUNTED_CALLS:
            prefix = Path(directory) / f"cg{calls}"
            subprocess.run(
                [
                    "valgrind",
                    "--tool=callgrind",
                    "--separate-threads=yes",
                    f"--callgrind-out-file={prefix}.%p",
                    sys.executable,
                    "-m",
                    "bench.handler",
                    "--scenario",
                    name,
                    "--port",
                    str(port),
                    "--records",
                    str(calls),
                    "--counted",
                ],
                cwd=REPO,
                env={**os.environ, "PYTHONHASHSEED": "0"},
                capture_output=True,
                check=True,
            )
            counts.append(_callgrind_totals(prefix))
    calls = COUNTED_CALLS[1] - COUNTED_CALLS[0]
    (caller_a, all_a), (caller_b, all_b) = counts
    return {"caller": (caller_b - caller_a) / calls, "all": (all_b - all_a) / calls}


# -- the conductor ----------------------------------------------------------------------


class Peer:
    """The test suite's json_lines peer in its own process (on CPU 1), counting lines.

    It counts newline-terminated lines without decoding them: the tests check
    what arrives; here the peer must not be what limits the producer.
    """

    def __init__(self) -> None:
        code = (
            "import os, sys\n"
            "if (os.cpu_count() or 1) > 1: os.sched_setaffinity(0, {1})\n"
            "from tests.peers import _serve_cli\n"
            "sys.exit(_serve_cli(['tcp', '--count-only']))\n"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def events(self) -> int:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline().split()[0])

    def settle(self, quiet: float = 1.0, timeout: float = 120.0) -> int:
        """The line count once it stopped changing for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        last, since = self.events(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.events()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
        return last

    def wait_for(self, count: int, timeout: float) -> float | None:
        """Monotonic time at which the peer had ``count`` lines, or None on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.events() >= count:
                return time.monotonic()
            time.sleep(0.002)
        return None

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(10)


def scenario(
    name: str, port: int, records: int, *, timed: bool = True, cpu: int | None = None
) -> dict[str, Any]:
    args = [
        sys.executable,
        "-m",
        "bench.handler",
        "--scenario",
        name,
        "--port",
        str(port),
        "--records",
        str(records),
    ]
    if not timed:
        args.append("--untimed")
    if cpu is not None:
        args += ["--cpu", str(cpu)]
    out = subprocess.run(args, cwd=REPO, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def dead_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def throughput(peer: Peer, name: str, records: int, timeout: float) -> float | None:
    """Records per second on one core, from the first call until the peer holds them all."""
    before = peer.settle()
    result = scenario(name, peer.port, records, timed=False, cpu=0)
    done = peer.wait_for(before + WARMUP + records, timeout)
    return None if done is None else records / (done - result["start"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=50_000, help="timed calls per scenario")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median)")
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--untimed", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--counted", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--no-instructions", action="store_true", help="skip the callgrind instruction counts"
    )
    args = parser.parse_args(argv)
    if args.scenario and args.counted:
        run_counted(args.scenario, args.port, args.records)
        return 0
    if args.scenario:
        result = run_scenario(
            args.scenario, args.port, args.records, timed=not args.untimed, cpu=args.cpu
        )
        print(json.dumps(result))
        return 0

    peer = Peer()
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in SCENARIOS}
    rates: dict[str, list[float | None]] = {"ours_direct": [], "logstash_async": []}
    try:
        for _ in range(args.rounds):
            for name in SCENARIOS:
                port = dead_port() if name == "ours_outage" else peer.port
                rounds[name].append(scenario(name, port, args.records))
            rates["ours_direct"].append(throughput(peer, "ours_direct", 4 * args.records, 120))
        rates["logstash_async"].append(throughput(peer, "logstash_async", 20_000, 120))
        counted = {}
        if args.no_instructions:
            pass
        elif shutil.which("valgrind") is None:
            print("valgrind is not installed: no instruction counts", file=sys.stderr)
        else:
            counted = {name: instructions(name, peer.port) for name in COUNTED}
    finally:
        peer.close()
    report(rounds, rates, args.records)
    report_instructions(counted)
    return 0


COUNTED = ("ours_direct", "ours_logging", "python_json_logger", "logstash_async")


def report_instructions(counted: dict[str, dict[str, float]]) -> None:
    """Instructions per call, side by side, with ratios to our direct call."""
    if not counted:
        return
    base = counted["ours_direct"]
    print("\ninstructions per call (valgrind --tool=callgrind; repeatable, unlike wall time here):")
    print(f"{'scenario':<36}{'caller':>11}{'× direct':>10}{'all threads':>13}{'× direct':>10}")
    for name, count in counted.items():
        print(
            f"{SCENARIOS[name]:<36}"
            f"{count['caller']:>11,.0f}{count['caller'] / base['caller']:>10.2f}"
            f"{count['all']:>13,.0f}{count['all'] / base['all']:>10.2f}"
        )


def _median(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def _ratio(rounds: dict[str, list[dict[str, Any]]], top: str, bottom: str, key: str) -> float:
    """Median over rounds of top/bottom measured in the same round (robust to drift)."""
    pairs = zip(rounds[top], rounds[bottom], strict=True)
    return statistics.median(a[key] / b[key] for a, b in pairs)


def _median_rate(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def report(
    rounds: dict[str, list[dict[str, Any]]], rates: dict[str, list[float | None]], records: int
) -> None:
    """Print figures, ratios and goals."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\nPrediction handler — 20-feature prediction; {records:,} timed calls per scenario,"
        f" median of {len(next(iter(rounds.values())))} interleaved rounds;"
    )
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load:.2f}"
        " (figures are net of the ~timer overhead)\n"
    )
    header = f"{'scenario':<36}{'p50 µs':>9}{'p99 µs':>9}{'thread CPU':>12}{'CPU/record':>12}"
    print(header)
    print(f"{'':<36}{'(wall)':>9}{'(wall)':>9}{'µs/call':>12}{'µs (all)':>12}")
    print("-" * len(header))
    med = {
        name: {
            k: _median(rows, k) for k in ("p50_us", "p99_us", "thread_cpu_us", "cpu_per_record_us")
        }
        for name, rows in rounds.items()
    }
    for name, label in SCENARIOS.items():
        m = med[name]
        print(
            f"{label:<36}{m['p50_us']:>9.2f}{m['p99_us']:>9.2f}{m['thread_cpu_us']:>12.2f}"
            f"{m['cpu_per_record_us']:>12.2f}"
        )
    ours_rate = _median_rate(rates["ours_direct"])
    async_rate = _median_rate(rates["logstash_async"])
    print(
        f"\nsustained records/s to the TCP peer, producer on one core:"
        f" mlmon-elk {_fmt(ours_rate)} (rounds: "
        f"{', '.join(_fmt(r) for r in rates['ours_direct'])});"
        f" python-logstash-async {_fmt(async_rate)}"
    )
    direct, logged = med["ours_direct"], med["ours_logging"]
    checks: list[tuple[str, float | None, float, str]] = [
        ("direct call p50 ≤ 10 µs", direct["p50_us"], 10.0, "≤"),
        ("through logging p50 ≤ 30 µs", logged["p50_us"], 30.0, "≤"),
        ("sustained records/s ≥ 50,000", ours_rate, 50_000.0, "≥"),
        (
            "python-json-logger p50 / direct p50 ≥ 3",
            _ratio(rounds, "python_json_logger", "ours_direct", "p50_us"),
            3.0,
            "≥",
        ),
        (
            "logstash-async p50 / direct p50 ≥ 3",
            _ratio(rounds, "logstash_async", "ours_direct", "p50_us"),
            3.0,
            "≥",
        ),
        (
            "peer-down p99 / peer-up p99 ≤ 1.5",
            _ratio(rounds, "ours_outage", "ours_direct", "p99_us"),
            1.5,
            "≤",
        ),
    ]
    print(f"\n{'goal':<46}{'measured':>12}{'goal':>10}   met")
    for label, value, goal, sense in checks:
        met = value is not None and (value <= goal if sense == "≤" else value >= goal)
        print(f"{label:<46}{_fmt(value, 2):>12}{goal:>10,.1f}   {'yes' if met else 'NO'}")
    print("\nhow many times each costs our direct call (median of the per-round ratios):")
    for name in ("ours_logging", "python_json_logger", "logstash_async"):
        ratio = {
            key: _ratio(rounds, name, "ours_direct", key)
            for key in ("p50_us", "p99_us", "thread_cpu_us", "cpu_per_record_us")
        }
        print(
            f"  {SCENARIOS[name]:<36} p50 ×{ratio['p50_us']:.1f}"
            f"  p99 ×{ratio['p99_us']:.1f}"
            f"  thread CPU ×{ratio['thread_cpu_us']:.1f}"
            f"  CPU/record ×{ratio['cpu_per_record_us']:.1f}"
        )
    per_round = ", ".join(f"{row['p50_us']:.1f}" for row in rounds["ours_direct"])
    print(f"\nour direct call's p50 per round (µs): {per_round}")


def _fmt(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


if __name__ == "__main__":
    raise SystemExit(main())
