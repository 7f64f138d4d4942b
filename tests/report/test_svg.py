"""The report's charts are well-formed SVG that show the numbers they are given."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from mlmon_elk.report import svg

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NS = "{http://www.w3.org/2000/svg}"


def _parse(text: str) -> ET.Element:
    return ET.fromstring(text)


def test_bars_draw_one_bar_per_share_with_escaped_labels() -> None:
    """Two bars per bin, heights proportional to the shares, labels escaped."""
    root = _parse(svg.bars(["a<b", "c"], [0.5, 0.5], [0.25, 0.75], title="x & y"))
    heights = [
        float(r.get("height", 0))
        for r in root.iter(f"{NS}rect")
        if r.find(f"{NS}title") is not None
    ]
    assert len(heights) == 4
    assert heights[3] == pytest.approx(3 * heights[1])  # window shares 0.25 and 0.75
    assert any("a<b" in (t.text or "") for t in root.iter(f"{NS}text"))


def test_timeline_marks_alerting_windows_in_red() -> None:
    """Alert points are red; values above the axis top are clipped to it, not lost."""
    times = [T0 + timedelta(minutes=5 * i) for i in range(4)]
    root = _parse(
        svg.timeline(times, [0.0, 0.05, 0.3, None], [0.1] * 4, [False, False, True, False])
    )
    dots = root.findall(f"{NS}circle")  # the legend's marks sit in their own group
    assert len(dots) == 3  # the missing value draws nothing
    assert [d.get("fill") for d in dots].count(svg.ALERT_COLOUR) == 1
    legend = root.find(f"{NS}g[@class='legend']")
    assert legend is not None
    assert [c.get("fill") for c in legend.iter(f"{NS}circle")].count(svg.ALERT_COLOUR) == 1


def test_status_grid_has_a_cell_per_result() -> None:
    """Blank where a window has no result for a row."""
    times = [T0, T0 + timedelta(minutes=5)]
    root = _parse(svg.status_grid(["r1", "r2"], times, [["ok", "critical"], [None, "warning"]]))
    fills = [r.get("fill") for r in root.iter(f"{NS}rect")]
    assert fills == [
        svg.STATUS_COLOUR["ok"],
        svg.STATUS_COLOUR["critical"],
        svg.STATUS_COLOUR["warning"],
    ]


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0.07, 0.1), (0.21, 0.25), (0.3, 0.5), (1.0, 1.0), (7, 10)]
)
def test_axis_tops_are_round_numbers(value: float, ceiling: float) -> None:
    """Axes end on 1, 2, 2.5 or 5 × 10^k at or above the largest value."""
    assert svg._nice_ceiling(value) == pytest.approx(ceiling)


def test_mismatched_lengths_are_refused() -> None:
    """A chart never silently drops data."""
    with pytest.raises(ValueError, match="one expected and one observed"):
        svg.bars(["a", "b"], [0.5], [0.5, 0.5])
