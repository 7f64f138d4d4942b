"""``mlmon-elk baseline``: profile training data into a baseline YAML file."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from mlmon_elk.contract import Kind
from mlmon_elk.errors import ConfigError

EXAMPLES = """\
examples:
  mlmon-elk baseline train.parquet --model credit-risk --version 1.2.0
  mlmon-elk baseline train.csv --model credit-risk --version 1.2.0 \\
      --output score --kind zip_code=cat --kind notes=text --ignore customer_id
  mlmon-elk baseline train.jsonl --model m --version 3 --holdout last_month.jsonl \\
      --window-sizes 500,5000,50000 --out baselines/m-3.yaml
  mlmon-elk baseline train.csv --model m --version 3 --config baseline.yaml
  mlmon-elk baseline train.csv --model m --version 3 --holdout scored_holdout.csv \
      --target late --prediction score

--target records the model's performance on the held-out rows, for the
performance checks: the held-out data must hold the model's predictions on
those rows (--prediction: a score in [0, 1] of the positive class and/or the
predicted label, or a regressor's predicted value).

--config reads the same options from YAML:
  kinds: {zip_code: cat, notes: text}
  outputs: [score]
  ignore: [customer_id, ts]
  empty_as_null: false
  holdout: last_month.parquet
  window_sizes: [500, 5000, 50000]
  target: late
  predictions: [score]
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "baseline",
        help="build a baseline profile from training data",
        description=(
            "Profile training data (CSV, TSV, Parquet or JSON lines) into the YAML baseline the"
            " checks compare live windows with: each column's kind, presence and null rates,"
            " numeric quantile bins, category shares and vocabulary, text token vocabulary, and"
            " thresholds calibrated on held-out data (given with --holdout, or carved from the"
            " input)."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("data", help="training data: .csv, .tsv, .parquet or .jsonl")
    parser.add_argument("--model", required=True, help="model name, as the handler logs it")
    parser.add_argument("--version", required=True, help="model version, as the handler logs it")
    parser.add_argument("--out", help="output file (default: <model>-<version>.baseline.yaml)")
    parser.add_argument("--config", help="YAML file with the options below")
    parser.add_argument(
        "--kind",
        action="append",
        default=[],
        metavar="COLUMN=KIND",
        help="override a column's inferred kind (num, cat or text); repeatable",
    )
    parser.add_argument(
        "--output", action="append", default=[], metavar="COLUMN", help="a model output column"
    )
    parser.add_argument(
        "--ignore", action="append", default=[], metavar="COLUMN", help="a column to leave out"
    )
    parser.add_argument("--holdout", help="held-out data for calibration (same format)")
    parser.add_argument(
        "--holdout-fraction",
        type=float,
        help="share of rows carved out for calibration without --holdout (default 0.2)",
    )
    parser.add_argument(
        "--window-sizes",
        help="window sizes (rows) to calibrate, comma-separated"
        " (default 200,1000,5000,20000,100000)",
    )
    parser.add_argument(
        "--empty-as-null",
        action="store_true",
        default=None,
        help="treat empty strings as null (set the handler's option the same)",
    )
    parser.add_argument("--target", help="column of the actual value: record held-out performance")
    parser.add_argument(
        "--prediction",
        action="append",
        default=[],
        metavar="COLUMN",
        help="a column with the model's prediction on the same rows (score, label or value)",
    )
    parser.add_argument("--positive-class", help="the class a score column is the probability of")
    parser.add_argument("--seed", type=int, help="seed of the holdout carve and resampling")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from mlmon_elk.profile.baseline import dump_baseline
    from mlmon_elk.profile.build import (
        LARGE_INPUT,
        BuildOptions,
        build_baseline,
        read_table,
        stderr_progress,
    )

    out = Path(args.out or f"{args.model}-{args.version}.baseline.yaml")
    _prepare_output(out)
    config = _load_config(args.config) if args.config else {}
    kinds = {**_kinds(config.get("kinds", {}), "config kinds"), **_kind_args(args.kind)}
    holdout_path = args.holdout or config.get("holdout")
    defaults = BuildOptions()
    options = BuildOptions(
        kinds=kinds,
        outputs=frozenset([*_names(config.get("outputs", []), "outputs"), *args.output]),
        ignore=frozenset([*_names(config.get("ignore", []), "ignore"), *args.ignore]),
        empty_as_null=bool(
            args.empty_as_null
            if args.empty_as_null is not None
            else config.get("empty_as_null", False)
        ),
        holdout_fraction=float(
            args.holdout_fraction
            if args.holdout_fraction is not None
            else config.get("holdout_fraction", defaults.holdout_fraction)
        ),
        window_sizes=_sizes(args.window_sizes)
        if args.window_sizes
        else tuple(int(x) for x in config.get("window_sizes", defaults.window_sizes)),
        seed=args.seed if args.seed is not None else int(config.get("seed", defaults.seed)),
        target=args.target or config.get("target"),
        predictions=(*_names(config.get("predictions", []), "predictions"), *args.prediction),
        positive_class=args.positive_class or config.get("positive_class"),
    )
    if options.predictions and options.target is None:
        msg = "--prediction goes with --target (the column of the actual value)"
        raise ConfigError(msg)
    frame, absent = read_table(args.data)
    holdout, holdout_absent = read_table(holdout_path) if holdout_path else (None, None)
    quiet = args.quiet or len(frame) < LARGE_INPUT
    progress = None if quiet else stderr_progress
    if progress:
        progress(f"read {len(frame):,} rows × {frame.shape[1]} columns from {args.data}")
    baseline = build_baseline(
        frame,
        model=args.model,
        version=args.version,
        options=options,
        holdout=holdout,
        absent=absent,
        holdout_absent=holdout_absent,
        source=Path(args.data).name,
        progress=progress,
    )
    dump_baseline(baseline, out)
    if progress and sys.stderr.isatty():
        sys.stderr.write("\n")
    for warning in baseline.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    kinds_line = ", ".join(f"{sum(f.kind is k for f in baseline.features)} {k}" for k in Kind)
    calibrated = (
        f"calibrated on {baseline.holdout_rows:,} held-out rows"
        if baseline.holdout_rows
        else "not calibrated (too few rows for a held-out split)"
    )
    print(
        f"wrote {out}: {len(baseline.inputs)} inputs, {len(baseline.outputs)} outputs"
        f" ({kinds_line}) from {baseline.rows:,} rows; {calibrated}"
        + (
            f"; {len(baseline.warnings)} warnings (above, and in the file)"
            if baseline.warnings
            else ""
        )
    )
    if baseline.performance is not None:
        from mlmon_elk.checks.performance import describe_baseline

        print(describe_baseline(baseline.performance))
    return 0


def _prepare_output(out: Path) -> None:
    """Create the output's folder and refuse an unwritable target before profiling for minutes."""
    if out.is_dir():
        msg = f"--out {out}: is a directory; give a file name such as {out / 'model.yaml'}"
        raise ConfigError(msg)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"--out {out}: cannot create the folder {out.parent} ({exc.strerror or exc})"
        raise ConfigError(msg) from None
    if not os.access(out.parent, os.W_OK):
        msg = f"--out {out}: the folder {out.parent} is not writable"
        raise ConfigError(msg)


def _load_config(path: str) -> dict[str, Any]:
    from mlmon_elk.yaml_files import read_yaml_mapping

    data = read_yaml_mapping(path, what="config", error=ConfigError)
    known = {"kinds", "outputs", "ignore", "empty_as_null", "holdout", "holdout_fraction"}
    known |= {"window_sizes", "seed", "target", "predictions", "positive_class"}
    unknown = sorted(set(data) - known)
    if unknown:
        msg = f"config {path}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})"
        raise ConfigError(msg)
    return data


def _kinds(raw: object, where: str) -> dict[str, Kind]:
    if not isinstance(raw, dict):
        msg = f"{where}: expected a mapping of column to kind"
        raise ConfigError(msg)
    return {str(k): _kind(str(v), f"{where}.{k}") for k, v in raw.items()}


def _kind_args(pairs: list[str]) -> dict[str, Kind]:
    out = {}
    for pair in pairs:
        column, sep, kind = pair.rpartition("=")
        if not sep or not column:
            msg = f"--kind {pair!r}: expected COLUMN=KIND"
            raise ConfigError(msg)
        out[column] = _kind(kind, f"--kind {pair}")
    return out


def _kind(value: str, where: str) -> Kind:
    try:
        return Kind(value)
    except ValueError:
        msg = f"{where}: kind must be num, cat or text, got {value!r}"
        raise ConfigError(msg) from None


def _names(raw: object, where: str) -> list[str]:
    if not isinstance(raw, list):
        msg = f"config {where}: expected a list of column names"
        raise ConfigError(msg)
    return [str(x) for x in raw]


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        msg = f"--window-sizes {text!r}: expected comma-separated integers"
        raise ConfigError(msg) from None
    if not sizes or min(sizes) <= 0:
        msg = f"--window-sizes {text!r}: expected positive integers"
        raise ConfigError(msg)
    return sizes
