"""The ``mlmon-elk`` command line.

Each subcommand is a module in this package exposing
``register(subparsers) -> None``; it adds its parser with ``--help`` examples and
sets ``run=<callable(args) -> int>`` as default. Modules are discovered, so a new
subcommand needs no edit here. Heavy imports (pandas, elasticsearch) happen
inside ``run`` so ``mlmon-elk --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Sequence

from mlmon_elk.errors import MlmonError

STARTED = time.perf_counter()
"""When the command line was imported: what "done in …" counts from (imports included)."""

COMMANDS = ("demo", "baseline", "analyze", "serve", "setup", "report")
"""The subcommands, one module each with a ``register`` function, in ``--help`` order."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlmon-elk",
        description="ML-model monitoring on the Elastic stack.",
        epilog="Run 'mlmon-elk <command> --help' for the options and examples of a command.",
    )
    from mlmon_elk import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="<command>", required=True)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse ``argv``, run the subcommand, map errors to exit codes.

    Exit codes: 0 success, 1 the command ran and found problems or failed,
    2 bad usage or bad input (one line on stderr naming the problem). A file
    that cannot be read or written is a user's problem too: one line, no traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except MlmonError as exc:
        print(f"mlmon-elk {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"mlmon-elk {args.command}: error: {file_problem(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def file_problem(exc: OSError) -> str:
    """``cannot write /x/y.yaml: Permission denied`` rather than ``[Errno 13] …``."""
    reason = exc.strerror or str(exc)
    if exc.filename is None:
        return reason
    return f"{exc.filename}: {reason}"
