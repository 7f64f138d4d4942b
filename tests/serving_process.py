"""A serving process for tests: logs predictions through a PredictionHandler.

Run as ``python -m tests.serving_process URL --count N [--spool DIR] [--prefix P]
[--then hold|close|replay] [--settle SECONDS]``. It prints ``progress <i>`` every
10,000 records, then one JSON line with the handler's counters. ``--settle`` first
waits (at most that long) until everything the handler spooled has been sent again, as
a long-running server would before it is stopped: a handler closed while it backs off
leaves its disk spool to the next process. ``--then hold`` waits until
everything is delivered or spooled, prints ``ready`` and sleeps (for
``SIGKILL``); ``--then close`` (default) closes the handler, which delivers
what is queued or spooled — including a spool adopted from a dead process —
within its close timeout.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

from mlmon_elk import PredictionHandler

FEATURES = {f"f{i}": (i * 1.5 if i % 2 else f"c{i}") for i in range(20)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--spool", default=None)
    parser.add_argument("--prefix", default="id")
    parser.add_argument("--then", choices=("close", "hold"), default="close")
    parser.add_argument("--queue-size", type=int, default=50_000)
    parser.add_argument("--settle", type=float, default=0.0)
    args = parser.parse_args(argv)
    # The handler's diagnostics (a drop, a spool problem) on stderr, for a failing test.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    handler = PredictionHandler(
        args.url,
        model="producer",
        spool_dir=args.spool,
        counters_interval=0,
        backoff_initial=0.05,
        backoff_max=0.5,
        # Generous: close() delivers what the outage left in the spool, to a peer that
        # shares its test process with a whole suite; what it could not deliver would
        # stay spooled (for the next process) and read as missing to the tests.
        close_timeout=60.0,
        queue_size=args.queue_size,
    )
    for i in range(args.count):
        handler.log_prediction(inputs=FEATURES, outputs=0.5, prediction_id=f"{args.prefix}{i}")
        if i % 10_000 == 0:
            print("progress", i, flush=True)
    settle(handler, args.settle)
    if args.then == "hold":
        handler.drain(60.0)
        print(json.dumps(handler.counters().as_dict()), flush=True)
        print("ready", flush=True)
        time.sleep(3600)
    handler.close()
    print(json.dumps(handler.counters().as_dict()), flush=True)
    return 0


def settle(handler: PredictionHandler, seconds: float) -> None:
    """Wait until nothing is queued and the spool's documents were all sent again."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        counters = handler.counters()
        if not counters.queued and counters.replayed >= counters.spooled:
            return
        time.sleep(0.05)


if __name__ == "__main__":
    sys.exit(main())
