"""Send simulated loan applications to the example app, with a switch to inject drift.

    python examples/serving/traffic.py                      # http://localhost:8000, forever
    MLMON_DEMO_DRIFT=1 python examples/serving/traffic.py   # with drift
    python examples/serving/traffic.py --rate 50 --count 1000 --drift

Environment: ``MLMON_DEMO_APP_URL`` (default ``http://localhost:8000``),
``MLMON_DEMO_DRIFT`` (``1``/``true`` switches drift on).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

import numpy as np

from mlmon_elk.demo.traffic import DEMO_DRIFT, Drift, applications


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--url", default=os.environ.get("MLMON_DEMO_APP_URL", "http://localhost:8000")
    )
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second (default 20)")
    parser.add_argument(
        "--count", type=int, default=0, help="stop after this many (default: never)"
    )
    parser.add_argument(
        "--drift",
        action="store_true",
        default=os.environ.get("MLMON_DEMO_DRIFT", "").lower() in ("1", "true", "yes", "on"),
        help="inject drift (or set MLMON_DEMO_DRIFT=1)",
    )
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    drift = DEMO_DRIFT if args.drift else Drift()
    if not args.url.startswith(("http://", "https://")):
        parser.error(f"--url: expected an http(s) URL, got {args.url!r}")
    endpoint = args.url.rstrip("/") + "/predict"
    print(
        f"sending to {endpoint} at {args.rate:g}/s, drift {'on' if args.drift else 'off'}",
        flush=True,
    )
    sent = failed = 0
    pause = 1.0 / args.rate if args.rate > 0 else 0.0
    while not args.count or sent + failed < args.count:
        for row in applications(100, rng, drift):
            if args.count and sent + failed >= args.count:
                break
            body = json.dumps(row).encode()
            req = urllib.request.Request(  # noqa: S310 - http(s) checked above
                endpoint, data=body, headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(req, timeout=10) as response:  # noqa: S310 - a URL we are given
                    response.read()
                sent += 1
            except (urllib.error.URLError, OSError) as exc:
                failed += 1
                print(f"request failed: {exc}", file=sys.stderr, flush=True)
                time.sleep(1.0)
            if pause:
                time.sleep(pause)
        print(f"{sent} sent, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
