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
its run summary), 2 bad configuration or arguments.
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
    from mlmon_elk.analyzer import Analyzer
    from mlmon_elk.config import load_config
    from mlmon_elk.console import run_table
    from mlmon_elk.errors import ConfigError
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
    for i, window in enumerate(windows, 1):
        outcome = analyzer.run(window)
        if not outcome.summary.ok:
            failed += 1
        if len(windows) > 1:
            print(f"[{i}/{len(windows)}] {outcome.summary.line()}", file=sys.stderr, flush=True)
        if not args.quiet or not outcome.summary.ok:
            print(run_table(outcome.results, outcome.alerts, outcome.summary, verbose=args.verbose))
            print(flush=True)
    if analyzer.pending:
        print(
            f"mlmon-elk analyze: {len(analyzer.pending)} run summaries could not be written",
            file=sys.stderr,
        )
    if len(windows) > 1:
        print(f"{len(windows) - failed} of {len(windows)} windows analysed", file=sys.stderr)
    return 1 if failed or analyzer.pending else 0
