"""``mlmon-elk serve``: run the analyzer on its schedule until stopped."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from mlmon_elk.cli.analyze import add_config_argument

EXAMPLES = """\
examples:
  mlmon-elk serve --config mlmon.yaml
      analyse every window as it completes (schedule: in the config); stop with
      SIGTERM or Ctrl-C — the run in progress finishes first
  MLMON_ES_API_KEY=... mlmon-elk serve -c /etc/mlmon/mlmon.yaml --log-level WARNING

A failing run (Elasticsearch down, a baseline file missing) is recorded in its
run summary and retried at the next tick; the service keeps running. After a
restart it first analyses the windows it missed, back to the last one analysed
successfully (at most schedule.catch_up back, a day by default).
"""


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run the analyzer on its schedule (APScheduler)",
        description="Analyse each window on the configured schedule until stopped.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_argument(parser)
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level of the service (default: INFO)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from mlmon_elk.analyzer.config import load_config
    from mlmon_elk.analyzer.scheduler import serve

    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # APScheduler logs every job start and end at INFO; keep the service's own lines.
    # The client logs every HTTP request at INFO; keep those for DEBUG.
    quiet = max(logging.WARNING, logging.getLevelName(args.log_level))
    for name in ("apscheduler", "elastic_transport"):
        logging.getLogger(name).setLevel(quiet if args.log_level != "DEBUG" else logging.DEBUG)
    config = load_config(args.config)
    return serve(config)
