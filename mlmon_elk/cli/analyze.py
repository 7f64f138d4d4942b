"""``mlmon-elk analyze``: analyse the latest window once, or backfill a period."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

EXAMPLES = """\
examples:
  mlmon-elk analyze --config mlmon.yaml --once
      analyse the latest complete window (for cron or a Kubernetes CronJob)
  mlmon-elk analyze --config mlmon.yaml --from 2024-05-01 --to 2024-05-02
      backfill every scheduled window of that day, with progress
  mlmon-elk analyze --once --at 2024-05-01T12:07Z --verbose
      analyse the window that was latest at that time, listing every check

exit codes: 0 every run succeeded (alerts or not), 1 a run failed (recorded in
its run summary), 2 bad configuration or arguments, 3 the runs succeeded but
no window held a single prediction (stderr says which period the prediction
files do hold, and the command that analyses it).

A run summary that cannot be written (Elasticsearch down) is printed on stderr
and kept in elasticsearch.unsent_runs (default: mlmon-unsent-runs.jsonl next to
the config); the next analyze or serve writes it first.
"""


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "analyze",
        help="analyse the latest window once, or backfill a period",
        description=(
            "Count each configured model's predictions in a window, run every check,"
            " write check results, alerts and a run summary."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_argument(parser)
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--once", action="store_true", help="analyse the latest complete window")
    when.add_argument(
        "--from", dest="start", metavar="TIME", help="backfill windows from this ISO-8601 time"
    )
    parser.add_argument(
        "--to", dest="end", metavar="TIME", help="end of the backfill (default: now)"
    )
    parser.add_argument(
        "--at", metavar="TIME", help="with --once: pretend it is this time (default: now)"
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="list every check result")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only failures")
    parser.set_defaults(run=run)


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        "-c",
        default=os.environ.get("MLMON_CONFIG", "mlmon.yaml"),
        help="YAML configuration (default: $MLMON_CONFIG or ./mlmon.yaml)",
    )


def run(args: argparse.Namespace) -> int:
    from mlmon_elk.analyzer.config import load_config
    from mlmon_elk.analyzer.run import Analyzer
    from mlmon_elk.errors import ConfigError
    from mlmon_elk.results.console import run_table
    from mlmon_elk.windows import parse_time, utc_now

    def time_arg(name: str, text: str) -> Any:
        try:
            return parse_time(text)
        except ValueError as exc:
            msg = f"--{name}: {exc}"
            raise ConfigError(msg) from None

    config = load_config(args.config)
    if args.once:
        if args.end:
            msg = "--to goes with --from (a backfill), not with --once"
            raise ConfigError(msg)
        now = time_arg("at", args.at) if args.at else utc_now()
        windows = [config.schedule.latest(now)]
    else:
        if args.at:
            msg = "--at goes with --once"
            raise ConfigError(msg)
        start = time_arg("from", args.start)
        end = time_arg("to", args.end) if args.end else utc_now()
        windows = config.schedule.between(start, end)
        if not windows:
            msg = f"no complete {config.schedule.window} window between {start} and {end}"
            raise ConfigError(msg)

    analyzer = Analyzer.from_config(config)
    analyzer.plan(windows)
    failed = 0
    predictions = 0
    starved: list[int] = []
    for i, window in enumerate(windows, 1):
        outcome = analyzer.run(window)
        predictions += sum(w.count for w in outcome.results if w.version is not None)
        starved += [w.count for w in outcome.results if too_few_rows(w)]
        if not outcome.summary.ok:
            failed += 1
        counter = f"[{i}/{len(windows)}] " if len(windows) > 1 else ""
        if not args.quiet or not outcome.summary.ok:
            # The table ends with the summary line: print it once, numbered.
            table = run_table(
                outcome.results, outcome.alerts, outcome.summary, verbose=args.verbose
            )
            print(f"{counter}{table}" if counter else table)
            print(flush=True)
        elif counter:
            print(f"{counter}{outcome.summary.line()}", file=sys.stderr, flush=True)
    if analyzer.pending:
        _report_unsent(analyzer.pending, analyzer.unsent_runs, analyzer.unsent_error)
    if len(windows) > 1:
        print(f"{len(windows) - failed} of {len(windows)} windows analysed", file=sys.stderr)
    if starved:
        print(
            f"mlmon-elk analyze: hint: {len(starved)} model-version windows had too few"
            f" predictions ({min(starved):,}–{max(starved):,}) for any feature check"
            " (insufficient_data); checks need checks.min_rows per window (200 by default):"
            " lengthen schedule.window or lower checks.min_rows in the config",
            file=sys.stderr,
        )
    if failed or analyzer.pending:
        return 1
    if predictions == 0:
        print(no_predictions_hint(config, args.config, windows), file=sys.stderr)
        return NO_PREDICTIONS
    return 0


def too_few_rows(window: Any) -> bool:
    """A version's window with predictions, where every feature check said insufficient_data."""
    from mlmon_elk.contract import Status

    features = [r for r in window.results if r.feature is not None]
    return (
        window.version is not None
        and window.count > 0
        and bool(features)
        and all(r.status is Status.INSUFFICIENT_DATA for r in features)
    )


NO_PREDICTIONS = 3
"""Exit code of runs that succeeded on windows without a single prediction."""


def no_predictions_hint(config: Any, config_path: str, windows: list[Any]) -> str:
    """Where the predictions are, when the analysed windows had none."""
    from datetime import timedelta

    from mlmon_elk.windows import ceil_time, floor_time, format_time

    period = windows[0] if len(windows) == 1 else f"{windows[0].start} → {windows[-1].end}"
    head = f"mlmon-elk analyze: no predictions in {period}"
    if config.files is None:
        return (
            f"{head} in Elasticsearch (namespace {config.namespace!r}). For historical data,"
            f" analyse its period: mlmon-elk analyze --config {config_path} --from TIME --to TIME"
        )
    from mlmon_elk.sources.file_span import file_span
    from mlmon_elk.sources.files import expand_paths

    paths = expand_paths(config.files.predictions)
    if not paths:
        patterns = ", ".join(config.files.predictions)
        return f"{head}: no file matches files.predictions ({patterns}) in {config_path}"
    span = file_span(paths)
    if span is None:
        return f"{head}: the {len(paths)} prediction files hold no line with an @timestamp"
    interval = config.schedule.interval
    start = floor_time(span.first, interval)
    end = ceil_time(span.last + timedelta(milliseconds=1), interval)
    return (
        f"{head}. The prediction files hold predictions from {format_time(span.first)}"
        f" to {format_time(span.last)}; analyse that period with:\n"
        f"  mlmon-elk analyze --config {config_path}"
        f" --from {format_time(start)} --to {format_time(end)}"
    )


def _report_unsent(pending: list[Any], kept_in: Any, error: str | None) -> None:
    """On stderr: each unwritten run summary, and where it waits for the next run."""
    count = len(pending)
    print(f"mlmon-elk analyze: {count} run summaries could not be written:", file=sys.stderr)
    for document in pending:
        print(f"  {document.source.get('message', document.id)}", file=sys.stderr)
    if kept_in is not None and error is None:
        where = f"kept in {kept_in}; the next analyze or serve writes them first"
    else:
        where = f"not kept ({error})" if error else "not kept (no config file to keep them by)"
    print(f"mlmon-elk analyze: {where}", file=sys.stderr)
