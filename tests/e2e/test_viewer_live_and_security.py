"""In a real browser: a run written by another process appears and grows live; token
mode; trace content holding HTML and script stays inert text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from myagent.trace import SQLiteTraceStorage
from tests.e2e.conftest import screenshot
from tests.support.viewer import XSS_OUTPUT, seed_traces

ROOT = Path(__file__).resolve().parents[2]


def test_a_run_in_another_process_appears_and_grows_live(
    page: Page, tmp_path: Path, viewer_factory: Any
) -> None:
    db = tmp_path / "live.db"
    seed_traces(db)
    server = viewer_factory(SQLiteTraceStorage(db))
    control = tmp_path / "control"
    control.mkdir()
    page.goto(server.url)
    expect(page.locator("tr[data-trace-id]")).to_have_count(5)
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.support.live_writer", str(db), str(control)], cwd=ROOT
    )
    try:
        row = page.locator("tr[data-trace-id]").first
        expect(row).to_contain_text("live_agent", timeout=30_000)
        expect(row.locator("[data-status]")).to_have_text("running")
        screenshot(page, "live-list")
        row.click()
        tree = page.get_by_test_id("tree")
        expect(tree.locator(".tree-row")).to_have_count(1)
        expect(tree).to_contain_text("running")
        (control / "go1").touch()
        expect(tree.locator(".tree-row")).to_have_count(2, timeout=30_000)
        expect(tree).to_contain_text("slow_tool")
        screenshot(page, "live-detail")
        (control / "go2").touch()
        expect(page.locator(".detail-head [data-status]")).to_have_text("success", timeout=30_000)
        expect(page.get_by_test_id("transcript")).to_contain_text("all done")
    finally:
        (control / "go1").touch()
        (control / "go2").touch()
        writer.wait(30)


def test_token_protected_viewer(page: Page, tmp_path: Path, viewer_factory: Any) -> None:
    db = tmp_path / "t.db"
    seeded = seed_traces(db)
    server = viewer_factory(SQLiteTraceStorage(db), token="correct-horse")
    page.goto(server.url)
    expect(page.get_by_role("heading", name="Viewer token required")).to_be_visible()
    expect(page.locator("tr[data-trace-id]")).to_have_count(0)
    page.get_by_label("token").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("That token was not accepted.")).to_be_visible()
    screenshot(page, "token")
    page.get_by_label("token").fill("correct-horse")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("tr[data-trace-id]")).to_have_count(len(seeded.all))
    # a shared link with the token signs a fresh browser in, and drops it from the address
    fresh = page.context.browser.new_context()  # type: ignore[union-attr]
    other = fresh.new_page()
    other.goto(f"{server.url}/traces/{seeded.weather[0]}?token=correct-horse")
    expect(other.get_by_test_id("transcript")).to_contain_text("Paris")
    assert "token" not in other.url
    fresh.close()


def test_html_and_script_in_trace_content_stay_inert_text(
    page: Page, tmp_path: Path, viewer_factory: Any
) -> None:
    db = tmp_path / "xss.db"
    seeded = seed_traces(db)
    server = viewer_factory(SQLiteTraceStorage(db))
    page.add_init_script("window.__xss = undefined")
    page.goto(f"{server.url}/?q=page")
    expect(page.locator("tr[data-trace-id]")).to_have_count(1)
    page.goto(f"{server.url}/traces/{seeded.xss}")
    transcript = page.get_by_test_id("transcript")
    expect(transcript).to_contain_text("<script>window.__xss = 'script'</script>")
    page.locator(".tree-row.kind-tool").click()
    detail = page.get_by_test_id("detail")
    expect(detail.locator("pre.text").last).to_have_text(XSS_OUTPUT)
    page.locator(".tree-row.kind-think").last.click()
    expect(detail.get_by_test_id("markdown")).to_contain_text("The page says hello")
    expect(detail.get_by_test_id("markdown").locator("strong")).to_have_text("hello")
    detail.get_by_role("button", name="Raw").click()
    expect(detail).to_contain_text("<img src=x onerror=\"window.__xss='md'\">")
    screenshot(page, "inert-html")
    page.wait_for_timeout(300)  # give any injected handler the chance to run
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("script:not([src])").count() == 0
