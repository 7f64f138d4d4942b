"""Evidently worker: runs inside bench/.venv-evidently (evidently 0.7.23, pandas<3).

Invoked by ``bench/_evidently.py`` as ``python _evidently_worker.py DIR``. DIR
holds ``spec.json`` (column roles and which evaluations to run),
``reference.parquet`` and ``window_<i>.parquet`` files; the worker writes
``results.jsonl``, one line per window in order, each
``{"drift": {col: bool}, "missing": {col: bool}, "outlist": {col: bool}, "seconds": s}``
where ``true`` means Evidently flags the column (drift detected / test failed).

Evidently is applied with its defaults: the legacy ``DataDriftPreset`` (default
stat tests and thresholds per column type and reference size),
``TestColumnShareOfMissingValues`` (default condition: at most the reference
share + 10 %) and ``TestNumberOfOutListValues`` (default list: the reference's
values; default condition: none out of list).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

warnings.filterwarnings("ignore")


def main(folder: str) -> None:
    from evidently.legacy.metric_preset import DataDriftPreset
    from evidently.legacy.pipeline.column_mapping import ColumnMapping
    from evidently.legacy.report import Report
    from evidently.legacy.test_suite import TestSuite
    from evidently.legacy.tests import TestColumnShareOfMissingValues, TestNumberOfOutListValues

    root = Path(folder)
    spec = json.loads((root / "spec.json").read_text())
    mapping = ColumnMapping(
        numerical_features=spec["numerical"],
        categorical_features=spec["categorical"],
        text_features=spec["text"] or None,
        target=None,
        prediction=None,
    )
    columns = spec["numerical"] + spec["categorical"] + spec["text"]
    reference = pd.read_parquet(root / "reference.parquet")[columns]
    with (root / "results.jsonl").open("w") as out:
        for i in range(spec["windows"]):
            current = pd.read_parquet(root / f"window_{i}.parquet")[columns]
            started, cpu = time.perf_counter(), time.process_time()
            result: dict[str, dict[str, bool] | float] = {}
            if "drift" in spec["evaluations"]:
                report = Report(metrics=[DataDriftPreset()])
                report.run(reference_data=reference, current_data=current, column_mapping=mapping)
                table = next(
                    m["result"]
                    for m in report.as_dict()["metrics"]
                    if "drift_by_columns" in m["result"]
                )
                result["drift"] = {
                    col: bool(v["drift_detected"]) for col, v in table["drift_by_columns"].items()
                }
            missing_cols = list(columns) if "missing" in spec["evaluations"] else []
            outlist_cols = list(spec["categorical"]) if "outlist" in spec["evaluations"] else []
            tests = [TestColumnShareOfMissingValues(column_name=c) for c in missing_cols]
            tests += [TestNumberOfOutListValues(column_name=c) for c in outlist_cols]
            if tests:
                suite = TestSuite(tests=tests)
                suite.run(reference_data=reference, current_data=current, column_mapping=mapping)
                # Results come back in the order the tests were given.
                failed = [
                    t["status"] not in ("SUCCESS", "WARNING") for t in suite.as_dict()["tests"]
                ]
                result["missing"] = dict(
                    zip(missing_cols, failed[: len(missing_cols)], strict=False)
                )
                result["outlist"] = dict(
                    zip(outlist_cols, failed[len(missing_cols) :], strict=False)
                )
            result["seconds"] = time.perf_counter() - started
            result["cpu_seconds"] = time.process_time() - cpu  # steadier on a shared machine
            out.write(json.dumps(result) + "\n")
            out.flush()


if __name__ == "__main__":
    main(sys.argv[1])
