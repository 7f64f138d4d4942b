"""``mlmon-elk report``: an HTML report of a model and period from check results."""

from __future__ import annotations

import argparse
import os
from typing import Any

EXAMPLES = """\
examples:
  mlmon-elk report --results mlmon-demo/results --output report.html
      from the JSON-lines results of the embedded mode
  mlmon-elk report --config mlmon.yaml --model credit-risk --from 2024-05-01 --to 2024-05-02
      from wherever the analyzer configured by mlmon.yaml writes (files or Elasticsearch)
"""


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="render an HTML report of check results and alerts",
        description=(
            "Render a self-contained HTML report for a model and period: what fired and how"
            " each alert escalated, each firing check's metric against its threshold over"
            " time, baseline vs window distributions, a filterable table of every check of"
            " every feature, and the alert list — from check-result files or Elasticsearch."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--config",
        "-c",
        help="analyzer YAML configuration (default: $MLMON_CONFIG or ./mlmon.yaml)",
    )
    where.add_argument("--results", metavar="DIR", help="a results directory of the embedded mode")
    parser.add_argument("--model", help="only this model (default: every model found)")
    parser.add_argument(
        "--from", dest="start", metavar="TIME", help="windows ending after this ISO-8601 time"
    )
    parser.add_argument(
        "--to", dest="end", metavar="TIME", help="windows ending at or before this time"
    )
    parser.add_argument("--output", "-o", default="mlmon-report.html", help="HTML file to write")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from mlmon_elk.errors import ConfigError
    from mlmon_elk.report import write_report
    from mlmon_elk.windows import parse_time

    def time_arg(name: str, text: str | None) -> Any:
        if text is None:
            return None
        try:
            return parse_time(text)
        except ValueError as exc:
            msg = f"--{name}: {exc}"
            raise ConfigError(msg) from None

    config = None if args.results else (args.config or os.environ.get("MLMON_CONFIG", "mlmon.yaml"))
    data = write_report(
        args.output,
        config=config,
        results=args.results,
        model=args.model,
        start=time_arg("from", args.start),
        end=time_arg("to", args.end),
    )
    if not data.checks:
        print(f"wrote {args.output}: no check results in the period")
        return 1
    fired = sum(c.status.is_alert for c in data.checks)
    print(f"wrote {args.output}: {len(data.checks):,} check results, {fired:,} of them firing")
    return 0
