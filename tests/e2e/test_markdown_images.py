"""In real Chromium: a Markdown image in a model's answer is shown as a link, never fetched
(a same-origin one would pass the CSP and call the viewer's own API)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from myagent.trace import SQLiteTraceStorage, TraceManager
from tests.support.viewer import write_agent_trace

ANSWER = (
    "Here is **the chart**: ![chart](/api/health?from=markdown) and a tracker "
    "![pixel](http://127.0.0.1:9/pixel.png?from=markdown) and ![inline](data:,x)."
)


def test_markdown_images_render_as_links_and_load_nothing(
    page: Page, tmp_path: Path, viewer_factory: Any
) -> None:
    db = tmp_path / "md.db"
    manager = TraceManager(SQLiteTraceStorage(db))
    trace_id = write_agent_trace(
        manager,
        agent="md_agent",
        question="chart?",
        tool="get_chart",
        params={},
        output="ok",
        answer=ANSWER,
    )
    manager.close(timeout=5)
    server = viewer_factory(SQLiteTraceStorage(db))
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if "from=markdown" in r.url else None)
    page.goto(f"{server.url}/traces/{trace_id}")
    page.locator(".tree-row.kind-think").last.click()
    markdown = page.get_by_test_id("detail").get_by_test_id("markdown")
    expect(markdown.locator("strong")).to_have_text("the chart")
    placeholders = markdown.locator(".md-image")
    expect(placeholders).to_have_text(["[image: chart]", "[image: pixel]", "[image: inline]"])
    # only the remote http(s) image becomes a link (opened on a click, in a new tab)
    link = markdown.locator("a.md-image")
    expect(link).to_have_count(1)
    assert link.get_attribute("href") == "http://127.0.0.1:9/pixel.png?from=markdown"
    assert link.get_attribute("rel") == "noreferrer noopener"
    assert markdown.locator("img").count() == 0
    page.wait_for_timeout(300)
    assert fetched == []
