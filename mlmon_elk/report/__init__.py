"""HTML reports of check results and alerts (``mlmon-elk report``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from mlmon_elk.report.data import ReportData, read_result_files, read_result_index
from mlmon_elk.report.html import render_report

__all__ = ["ReportData", "load_report_data", "render_report", "write_report"]


def load_report_data(
    *,
    config: str | Path | None = None,
    results: str | Path | None = None,
    model: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> ReportData:
    """Results of a period, from a results directory or from where a config writes them.

    With ``results``, the JSON-lines files in that directory; with ``config``,
    the analyzer's own output: its ``files.output`` directory or its
    Elasticsearch cluster.
    """
    if results is not None:
        return read_result_files(results, model=model, start=start, end=end)
    from mlmon_elk.analyzer.config import load_config

    cfg = load_config(config or "mlmon.yaml")
    if cfg.files is not None:
        return read_result_files(cfg.files.output, model=model, start=start, end=end)
    assert cfg.elasticsearch is not None  # noqa: S101 - a config has one of the two
    from mlmon_elk.engine.client import connect

    client = connect(cfg.elasticsearch.connection)
    try:
        return read_result_index(client, cfg.namespace, model=model, start=start, end=end)
    finally:
        client.close()


def write_report(
    path: str | Path,
    *,
    config: str | Path | None = None,
    results: str | Path | None = None,
    model: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> ReportData:
    """Render the report of a period into ``path``; returns what it shows."""
    data = load_report_data(config=config, results=results, model=model, start=start, end=end)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(render_report(data), encoding="utf-8")
    return data
