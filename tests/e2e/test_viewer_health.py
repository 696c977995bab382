"""The drop counters in the browser: the top bar's badge and the Health page."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from myagent.trace import SQLiteTraceStorage, TraceManager
from tests.e2e.conftest import screenshot
from tests.reliability.test_books import HangingRepr
from tests.support.lossy_writer import EXPECTED_DROPS
from tests.viewer.test_writers_api import run_lossy_writer


def test_dropped_traces_of_another_process_show_in_the_badge_and_health_page(
    page: Page, tmp_path: Path, viewer_factory: Any
) -> None:
    """A writer process that dropped traces turns the badge (on every page) into a warning
    with the exact count; the Health page lists the writer and the drops by reason."""
    db = tmp_path / "lossy.db"
    report = run_lossy_writer("sqlite", str(db))
    dropped = sum(EXPECTED_DROPS.values())
    viewer = viewer_factory(SQLiteTraceStorage(db))
    page.goto(f"{viewer.url}/sessions")
    badge = page.get_by_test_id("health-badge")
    expect(badge).to_have_text(f"⚠ {dropped} dropped")
    expect(badge).to_have_class("health-badge warn")
    badge.click()
    page.wait_for_url("**/health")
    expect(page.get_by_test_id("dropped-total")).to_contain_text(str(dropped))
    for reason, count in EXPECTED_DROPS.items():
        expect(page.get_by_test_id(f"dropped-{reason}")).to_contain_text(str(count))
    row = page.get_by_test_id("writers").locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(str(report["writer"]["pid"]))
    expect(row).to_contain_text("closed")
    expect(row).to_contain_text("disk I/O error")
    screenshot(page, "health")


def test_the_badge_says_nothing_was_dropped_when_nothing_was(
    page: Page, tmp_path: Path, viewer_factory: Any
) -> None:
    viewer = viewer_factory(SQLiteTraceStorage(tmp_path / "empty.db"))
    page.goto(viewer.url)
    badge = page.get_by_test_id("health-badge")
    expect(badge).to_have_text("✓ none dropped")
    expect(badge).to_have_class("health-badge ok")


def test_a_trace_given_up_as_stuck_shows_under_its_own_reason(
    page: Page, tmp_path: Path, viewer_factory: Any
) -> None:
    """A writer that gave up a trace whose value hung shows it on the Health page as
    `stuck`, beside the other reasons (a `shutdown` card too, at zero)."""
    release = threading.Event()
    db = tmp_path / "stuck.db"
    manager = TraceManager(SQLiteTraceStorage(db), flush_interval=0.05, stuck_timeout=0.3)
    try:
        hanging = HangingRepr(release)
        for i in range(5):
            with manager.trace(f"t{i}", input=hanging if i == 2 else i):
                pass
        assert manager.flush(10) is False
        assert manager.close(5)
    finally:
        release.set()
    viewer = viewer_factory(SQLiteTraceStorage(db))
    page.goto(f"{viewer.url}/health")
    expect(page.get_by_test_id("health-badge")).to_have_text("⚠ 1 dropped")
    expect(page.get_by_test_id("dropped-stuck")).to_contain_text("1")
    expect(page.get_by_test_id("dropped-shutdown")).to_contain_text("0")
    expect(page.get_by_test_id("writers").locator("tbody tr")).to_contain_text("stuck: 1")
