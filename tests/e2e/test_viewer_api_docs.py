"""In a real browser: the API docs (Swagger UI) render offline, under the strict CSP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import ConsoleMessage, Page, Route, expect

from myagent.trace import SQLiteTraceStorage


def test_swagger_ui_renders_the_operations_offline_under_the_csp(
    page: Page, tmp_path: Path, viewer_factory: Any
) -> None:
    server = viewer_factory(SQLiteTraceStorage(tmp_path / "t.db"))
    elsewhere: list[str] = []
    violations: list[str] = []

    def offline(route: Route) -> None:  # any other origin is unreachable, as offline
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.route("**/*", offline)
    page.on("console", console)
    page.goto(f"{server.url}/api/docs")
    operations = page.locator(".opblock-summary-path")
    expect(operations.filter(has_text="/api/traces/{trace_id}").first).to_be_visible()
    expect(operations.filter(has_text="/api/export").first).to_be_visible()
    page.locator(".opblock-summary", has_text="/api/health").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()
    assert elsewhere == []
    assert violations == []
