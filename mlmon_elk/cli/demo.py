"""``mlmon-elk demo``: baseline, simulated traffic with drift, analyzer, report."""

from __future__ import annotations

import argparse
from typing import Any

EXAMPLES = """\
examples:
  mlmon-elk demo
      everything on files in ./mlmon-demo (no Elastic stack needed)
  mlmon-elk demo --out /tmp/demo --per-window 5000
      bigger windows, elsewhere
  mlmon-elk demo --elasticsearch https://localhost:9200 --logstash tls://localhost:5000 \
      --logstash-ca certs/ca/ca.crt --client-cert certs/mlmon-app/mlmon-app.crt \
      --client-key certs/mlmon-app/mlmon-app.key
      the same through the compose stack (docker compose up; its tcp input
      requires the client certificate; credentials from MLMON_ES_API_KEY or
      MLMON_ES_USERNAME/MLMON_ES_PASSWORD)
  mlmon-elk demo --elasticsearch http://localhost:9200
      without Logstash: installs the index templates, then bulk-creates the
      handler's documents straight into the prediction data stream
      (Elasticsearch 8.14+ or OpenSearch 2.x)
"""


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo",
        help="see it work: baseline, traffic with drift, analyzer, report",
        description=(
            "Build a baseline from bundled training data, serve simulated traffic through"
            " an example model and the real handler, switch drift on part-way, analyse"
            " every window (alerts print as they fire and resolve) and write an HTML report."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out", default="mlmon-demo", help="output directory (default: ./mlmon-demo)"
    )
    parser.add_argument(
        "--windows", type=int, default=12, help="five-minute windows of traffic (default 12)"
    )
    parser.add_argument(
        "--per-window", type=int, default=2000, help="predictions per window (default 2000)"
    )
    parser.add_argument(
        "--elasticsearch", metavar="URL", help="use a running stack: Elasticsearch URL"
    )
    parser.add_argument(
        "--logstash",
        metavar="URL",
        help="with --elasticsearch: handler destination, e.g. tcp://localhost:5000"
        " (default: none — the documents are bulk-created straight into the engine)",
    )
    parser.add_argument("--namespace", default="default", help="data stream namespace on the stack")
    parser.add_argument(
        "--logstash-ca", metavar="PATH", help="with --logstash tls:// or https://: CA of Logstash"
    )
    parser.add_argument(
        "--client-cert", metavar="PATH", help="with --logstash tls://: client certificate (PEM)"
    )
    parser.add_argument("--client-key", metavar="PATH", help="its private key (PEM)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mlmon_elk.demo.run import DemoPlan, Stack, run_demo
    from mlmon_elk.errors import ConfigError

    if args.logstash and not args.elasticsearch:
        msg = "--logstash needs --elasticsearch (where the analyzer reads the predictions)"
        raise ConfigError(msg)
    if args.windows < 7:
        msg = (
            "--windows: at least 7 are needed to see drift come and go (an alert resolves"
            f" after three clear windows), got {args.windows}"
        )
        raise ConfigError(msg)
    if args.per_window < 200:
        msg = f"--per-window: at least 200 predictions per window, got {args.per_window}"
        raise ConfigError(msg)
    # Drift from a third of the way in, off early enough for the alerts to resolve
    # (after three clear windows) before the end.
    drift_until = args.windows - 3
    plan = DemoPlan(
        windows=args.windows,
        per_window=args.per_window,
        drift_from=min(args.windows // 3 + 1, drift_until - 1),
        drift_until=drift_until,
    )
    if (args.logstash_ca or args.client_cert or args.client_key) and not args.logstash:
        msg = "--logstash-ca, --client-cert and --client-key go with --logstash"
        raise ConfigError(msg)
    if bool(args.client_cert) != bool(args.client_key):
        msg = "--client-cert and --client-key go together"
        raise ConfigError(msg)
    stack = (
        Stack(
            args.elasticsearch,
            args.logstash,
            args.namespace,
            logstash_ca=args.logstash_ca,
            client_cert=args.client_cert,
            client_key=args.client_key,
        )
        if args.elasticsearch
        else None
    )
    from mlmon_elk.cli import STARTED

    run_demo(Path(args.out), plan=plan, stack=stack, started=STARTED)
    return 0
