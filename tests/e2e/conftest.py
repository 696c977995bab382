"""Playwright driving Debian's Chromium (scripts/install-browser.sh installs it)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from myagent.trace import SQLiteTraceStorage
from tests.support.viewer import Seeded, ViewerTestServer, seed_traces

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """Debian's Chromium; a clear failure when it is missing."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("Chromium is missing: run scripts/install-browser.sh (make test does)")
    return found


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the e2e tests (torn down after them: Playwright's sync API
    holds an event loop that would break the async tests that follow)."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context and page (1400x860) per test; page errors fail the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: errors.append(f"dialog opened: {dialog.message}"))
    page.set_default_timeout(15_000)
    yield page
    context.close()
    assert errors == [], errors


def screenshot(page: Page, name: str) -> None:
    """Keep a screenshot of the current page in docs/screenshots (shown in the README)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


@dataclass
class Site:
    """A running viewer and the traces seeded into its storage."""

    url: str
    seeded: Seeded


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A viewer over a seeded SQLite file whose runs take realistic time (read only)."""
    db = tmp_path_factory.mktemp("ui") / "traces.db"
    seeded = seed_traces(db, big_output_chars=300_000, pace=0.03)
    server = ViewerTestServer(SQLiteTraceStorage(db), inline_payload_bytes=100_000).start()
    yield Site(server.url, seeded)
    server.stop()


def rows(page: Page) -> list[str]:
    """Trace ids of the list's rows, top to bottom."""
    return page.locator("tr[data-trace-id]").evaluate_all("els => els.map(e => e.dataset.traceId)")
