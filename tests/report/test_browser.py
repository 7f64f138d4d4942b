"""The report's filter works in a real browser (headless Chromium, where installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mlmon_elk.report import load_report_data, render_report
from tests.report.test_report import _documents, _rate_checks, _write

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs chromium (apt-get install chromium)"
)


def rendered_count(page: Path, fragment: str, tmp_path: Path) -> str:
    """The row counter the filter script writes, after the page's script has run."""
    assert CHROMIUM is not None
    dom = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            f"{page.as_uri()}{fragment}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    found = re.search(r'id="f-count"[^>]*>([^<]*)<', dom)
    assert found, dom[-2000:]
    return found.group(1)


def test_the_filter_hides_rows_in_a_browser(tmp_path: Path) -> None:
    checks, alerts = _documents()
    _write(tmp_path / "r", checks + _rate_checks(), alerts)
    page = tmp_path / "report.html"
    page.write_text(render_report(load_report_data(results=tmp_path / "r")), encoding="utf-8")
    assert rendered_count(page, "", tmp_path) == "3 of 3 checks shown"
    assert rendered_count(page, "#filter=income", tmp_path) == "1 of 3 checks shown"
    assert rendered_count(page, "#alerted", tmp_path) == "2 of 3 checks shown"
