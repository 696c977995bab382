"""The dashboard right after a demo run: the time axis fits the data (not one dot on a
two-day axis), its labels never overlap, an unknown cost is "–", and an empty database
gets guidance instead of "0.0% success / 0 µs"."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from myagent.trace import SQLiteTraceStorage, TraceManager
from tests.e2e.conftest import Site, screenshot
from tests.support.viewer import write_agent_trace


def axis_labels(page: Page, chart: str) -> list[dict[str, Any]]:
    """Text and boxes of a chart's x-axis labels (those below the plot)."""
    labels: list[dict[str, Any]] = (
        page.get_by_test_id(chart)
        .locator("svg text")
        .evaluate_all(
            "els => els.map(e => { const b = e.getBoundingClientRect();"
            " return {text: e.textContent, left: b.left, right: b.right, top: b.top}; })"
        )
    )
    bottom = max(label["top"] for label in labels)
    return [label for label in labels if label["top"] > bottom - 4]


def settled_axis_labels(page: Page, chart: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """A chart's x-axis labels once it shows the data's window: the chart is drawn first
    without it (the window and the series arrive by later requests), then redrawn, so
    reading right after the first draw can catch a transient axis."""
    deadline = time.monotonic() + timeout
    labels = axis_labels(page, chart)
    while len(labels) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
        labels = axis_labels(page, chart)
    return labels


def test_time_axes_fit_a_short_run_without_overlapping_labels(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/dashboard")
    expect(page.get_by_test_id("stat-cards")).to_contain_text(f"{len(site.seeded.all)}traces")
    for chart in ("chart-latency", "chart-usage"):
        chart_box = page.get_by_test_id(chart)
        expect(chart_box.locator("svg text").first).to_be_visible()
        labels = settled_axis_labels(page, chart)
        assert len(labels) >= 2, labels
        # The seeded runs took seconds: the axis reads in seconds, not days.
        assert all(label["text"].count(":") == 2 for label in labels), labels
        ordered = sorted(labels, key=lambda label: label["left"])
        for a, b in itertools.pairwise(ordered):
            assert a["right"] <= b["left"], (a, b)  # no overlap
    screenshot(page, "dashboard")


def test_unknown_cost_is_a_dash_and_an_empty_database_gets_guidance(
    page: Page, viewer_factory: Any, tmp_path: Path
) -> None:
    empty = viewer_factory(SQLiteTraceStorage(tmp_path / "empty.db"))
    page.goto(f"{empty.url}/dashboard")
    expect(page.get_by_test_id("empty-setup")).to_contain_text("No finished traces")
    expect(page.get_by_test_id("stat-cards")).to_have_count(0)
    manager = TraceManager(SQLiteTraceStorage(tmp_path / "free.db"))
    write_agent_trace(
        manager, agent="local_agent", question="hi", tool="echo", params={}, output="hi",
        answer="hi", cost=None,
    )  # fmt: skip
    manager.flush()
    manager.close()
    free = viewer_factory(SQLiteTraceStorage(tmp_path / "free.db"))
    page.goto(f"{free.url}/dashboard")
    expect(page.get_by_test_id("card-cost")).to_have_text("–cost")
    expect(page.get_by_test_id("agent-table")).to_contain_text("–")
    expect(page.get_by_test_id("agent-table")).not_to_contain_text("$0")
