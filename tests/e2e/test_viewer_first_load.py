"""The list page's first load: only its own code (no ECharts, CodeMirror, Markdown or
Swagger), sent compressed (brotli or gzip, precompressed at build), hashed files cached
as immutable; under 300 KB on the wire. Timings are in benchmarks/viewer_bench.py."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, Request, expect

from tests.e2e.conftest import Site


def test_list_page_loads_its_own_code_compressed_and_cacheable(page: Page, site: Site) -> None:
    requests: list[Request] = []
    page.on("requestfinished", lambda request: requests.append(request))
    page.goto(site.url)
    expect(page.locator("tr[data-trace-id]").first).to_be_visible()
    files = [r for r in requests if r.resource_type in ("script", "stylesheet")]
    names = [r.url.rsplit("/", 1)[-1] for r in files]
    assert names and not any(
        n.startswith(("Dashboard", "BigText", "TraceDetail", "Payload", "swagger")) for n in names
    ), names
    sent = 0
    for request in files:
        response = request.response()
        assert response is not None
        headers: dict[str, Any] = response.headers
        assert headers.get("content-encoding") in ("br", "gzip"), (request.url, headers)
        assert "immutable" in headers["cache-control"]
        sent += request.sizes()["responseBodySize"]
    assert sent < 300_000, sent
    # Opening a trace fetches that page's code then, not before.
    page.locator("tr[data-trace-id]").first.click()
    expect(page.get_by_test_id("tree")).to_be_visible()
    later = [r.url.rsplit("/", 1)[-1] for r in requests if r.resource_type == "script"]
    assert any(n.startswith("TraceDetail") for n in later), later
