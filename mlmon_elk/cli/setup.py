"""``mlmon-elk setup``: install templates, retention, dashboards, connector and rules."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

DESCRIPTION = """\
Install everything mlmon-elk needs on an Elastic stack, idempotently:
Elasticsearch (or OpenSearch 2.x) index templates and retention (ILM, or ISM
on OpenSearch) for the prediction, check and alert data streams, then Kibana
data views, dashboards, a connector and alert rules. Waits for both
services to be ready; running it twice changes nothing. Credentials come
from the environment only:
MLMON_ES_API_KEY or MLMON_ES_USERNAME/MLMON_ES_PASSWORD for Elasticsearch;
MLMON_KIBANA_API_KEY or MLMON_KIBANA_USERNAME/MLMON_KIBANA_PASSWORD for Kibana
(falling back to the Elasticsearch ones)."""

EPILOG = """\
examples:
  # the docker-compose stack (CA from its setup container)
  MLMON_ES_USERNAME=elastic MLMON_ES_PASSWORD=changeme \\
    mlmon-elk setup --elasticsearch https://localhost:9200 --kibana http://localhost:5601 \\
      --ca-certs ./certs/ca/ca.crt

  # see what would change, without writing anything
  mlmon-elk setup --elasticsearch https://es.example.com:9200 \\
    --kibana https://kb.example.com --dry-run

  # OpenSearch 2.x: data streams, retention by ISM where the plugin is installed
  mlmon-elk setup --elasticsearch https://search.example.com:9200 --distribution opensearch

  # only the index templates, on a server without data streams
  mlmon-elk setup --elasticsearch http://localhost:9200 --index-mode plain

  # notify through Slack instead of Kibana's server log
  MLMON_SLACK_WEBHOOK_URL=https://hooks.slack.com/services/... \\
    mlmon-elk setup --elasticsearch ... --kibana ... --connector slack
"""


def register(subparsers: Any) -> None:
    """Add the ``setup`` subcommand."""
    parser = subparsers.add_parser(
        "setup",
        help="install index templates, retention, Kibana dashboards and alert rules",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--elasticsearch", metavar="URL", help="Elasticsearch URL")
    parser.add_argument(
        "--distribution",
        choices=("auto", "elasticsearch", "opensearch"),
        default="auto",
        help="the engine behind --elasticsearch (default: auto — read from the cluster's GET /)",
    )
    parser.add_argument("--kibana", metavar="URL", help="Kibana URL (omit to skip Kibana)")
    parser.add_argument(
        "--ca-certs", metavar="PATH", help="CA bundle to verify Elasticsearch (and Kibana)"
    )
    parser.add_argument(
        "--kibana-ca-certs", metavar="PATH", help="CA bundle for Kibana if different"
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="do not verify TLS certificates (development only)",
    )
    parser.add_argument("--space", metavar="ID", help="Kibana space (default: the default space)")
    parser.add_argument(
        "--index-mode",
        choices=("auto", "data-streams", "plain"),
        default="auto",
        help="data streams with retention (ILM on Elasticsearch, ISM on OpenSearch), or plain"
        " indices (default: auto — data streams)",
    )
    parser.add_argument(
        "--prediction-retention",
        metavar="AGE",
        default="30d",
        help="delete prediction documents this long after rollover (default: 30d)",
    )
    parser.add_argument(
        "--result-retention",
        metavar="AGE",
        default="365d",
        help="delete check results and alerts this long after rollover (default: 365d)",
    )
    parser.add_argument(
        "--connector",
        metavar="KIND",
        default="server-log",
        help="connector the rules notify through: server-log (default), index, slack, webhook",
    )
    parser.add_argument(
        "--assets",
        metavar="DIR",
        type=Path,
        help="a customised copy of kibana_dashboards/ (default: the installed one)",
    )
    parser.add_argument(
        "--wait",
        metavar="SECONDS",
        type=float,
        default=180.0,
        help="how long to wait for each service to become ready (default: 180)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would be done; write nothing"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run setup and print one line per asset."""
    from mlmon_elk.engine.client import EsConnection, connect
    from mlmon_elk.errors import ConfigError
    from mlmon_elk.stack.kibana import KibanaConnection
    from mlmon_elk.stack.setup import SetupOptions, run_setup
    from mlmon_elk.stack.templates import Retention

    if not args.elasticsearch and not args.kibana:
        msg = "give --elasticsearch URL, --kibana URL or both"
        raise ConfigError(msg)
    verify = not args.insecure
    client = None
    if args.elasticsearch:
        client = connect(
            EsConnection(
                hosts=(args.elasticsearch,),
                ca_certs=args.ca_certs,
                verify_certs=verify,
                distribution=args.distribution,
            )
        )
    kibana = None
    if args.kibana:
        kibana = KibanaConnection(
            url=args.kibana,
            space=args.space,
            ca_certs=args.kibana_ca_certs or args.ca_certs,
            verify_certs=verify,
        )
    options = SetupOptions(
        index_mode=args.index_mode,
        retention=Retention(predictions=args.prediction_retention, results=args.result_retention),
        assets=args.assets,
        connector=args.connector,
        wait_seconds=args.wait,
        dry_run=args.dry_run,
    )
    try:
        report = run_setup(client, kibana, options)
    finally:
        if client is not None:
            client.close()
    for note in report.notes:
        print(f"# {note}")
    for step in report.steps:
        print(step)
    suffix = " (dry run: nothing was written)" if args.dry_run else ""
    print(f"{report.summary()}{suffix}")
    return 0
