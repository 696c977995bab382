"""The write guard and cross-site GET refusal, over real HTTP (the browser side is in
tests/e2e/test_cross_origin_attacks.py): with and without a token, a request that a page
of another origin could send never writes, and never reads the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from myagent.trace import SQLiteTraceStorage
from tests.support.viewer import WRITE_HEADERS, planted_trace_file

TOKEN = "a-long-enough-viewer-token"


@pytest.fixture(params=["no-token", "token"])
def viewer(request: pytest.FixtureRequest, tmp_path: Path, viewer_factory: Any) -> Any:
    token = TOKEN if request.param == "token" else None
    return viewer_factory(SQLiteTraceStorage(tmp_path / "t.db"), token=token)


def _client(viewer: Any) -> httpx.Client:
    headers = {"authorization": f"Bearer {TOKEN}"} if viewer.settings.token else {}
    return httpx.Client(base_url=viewer.url, timeout=10, headers=headers)


def _planted(client: httpx.Client) -> int:
    count: int = client.get("/api/traces/count", params={"agent": "planted_agent"}).json()["count"]
    return count


def test_imports_without_the_header_or_as_text_plain_are_refused(viewer: Any) -> None:
    body = planted_trace_file()
    origin = viewer.url
    with _client(viewer) as client:
        attempts = {
            # what a page of another origin can send without a CORS preflight
            "no-cors text/plain": {"content-type": "text/plain"},
            "form urlencoded": {"content-type": "application/x-www-form-urlencoded"},
            "multipart form": {"content-type": "multipart/form-data; boundary=x"},
            # the header with a type a form could send is still refused
            "header but text/plain": {"x-myagent-request": "1", "content-type": "text/plain"},
            # JSON without the header (a non-browser client that forgot it)
            "json without header": {"content-type": "application/json"},
            "header not 1": {"x-myagent-request": "0", "content-type": "application/json"},
        }
        for name, headers in attempts.items():
            response = client.post("/api/import", content=body, headers=headers)
            assert response.status_code in (403, 415), name
            assert "X-Myagent-Request" in response.json()["detail"] or response.status_code == 415
        assert _planted(client) == 0
        ok = client.post("/api/import", content=body, headers=WRITE_HEADERS)
        assert ok.status_code == 200, ok.text
        assert _planted(client) == 1
        # the same-origin UI's request (its own Origin and Sec-Fetch-Site) is accepted
        same = {**WRITE_HEADERS, "origin": origin, "sec-fetch-site": "same-origin"}
        assert client.post("/api/import", content=b"[]", headers=same).status_code == 200


def test_writes_naming_another_origin_are_refused_even_with_the_header(viewer: Any) -> None:
    body = planted_trace_file()
    port = viewer.port
    with _client(viewer) as client:
        foreign = [
            {"origin": f"http://127.0.0.1:{port + 1}"},  # another port is another origin
            {"origin": "http://evil.example"},
            {"origin": "null"},  # file: pages and sandboxed frames
            {"sec-fetch-site": "same-site"},
            {"sec-fetch-site": "cross-site"},
            {"origin": f"http://127.0.0.1:{port}", "sec-fetch-site": "cross-site"},
        ]
        for headers in foreign:
            response = client.post(
                "/api/import", content=body, headers={**WRITE_HEADERS, **headers}
            )
            assert response.status_code == 403, headers
            assert "another site or origin" in response.json()["detail"]
        # sign-in is a write too: no login CSRF from another origin
        auth = client.post(
            "/api/auth",
            json={"token": TOKEN},
            headers={**WRITE_HEADERS, "origin": f"http://127.0.0.1:{port + 1}"},
        )
        assert auth.status_code == 403
        # unknown write routes and methods pass the same guard before any routing
        assert client.delete("/api/traces/abc").status_code == 403
        assert client.put("/api/anything-added-later", content=b"x").status_code == 403
        assert _planted(client) == 0


def test_cross_site_gets_of_the_api_are_refused(viewer: Any) -> None:
    with _client(viewer) as client:
        for site in ("cross-site", "same-site"):
            response = client.get(
                "/api/traces", params={"q": "x"}, headers={"sec-fetch-site": site}
            )
            assert response.status_code == 403, site
        same = client.get("/api/traces", headers={"sec-fetch-site": "same-origin"})
        assert same.status_code == 200
        assert client.get("/api/traces").status_code == 200  # curl sends no Sec-Fetch-Site
        # the UI's pages themselves can still be opened from a link on another site
        assert client.get("/", headers={"sec-fetch-site": "cross-site"}).status_code == 200


def test_the_otlp_receiver_path_needs_its_types_but_not_the_header(viewer: Any) -> None:
    with _client(viewer) as client:
        text = client.post("/v1/traces", content=b"{}", headers={"content-type": "text/plain"})
        assert text.status_code == 415
        cross = client.post(
            "/v1/traces",
            content=b"{}",
            headers={"content-type": "application/json", "sec-fetch-site": "cross-site"},
        )
        assert cross.status_code == 403
        for media in ("application/x-protobuf", "application/json"):
            passed = client.post("/v1/traces", content=b"", headers={"content-type": media})
            assert passed.status_code not in (403, 415), media  # the guard lets SDKs through


def test_a_public_origin_behind_a_host_rewriting_proxy_can_be_allowed(
    tmp_path: Path, viewer_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYAGENT_ALLOWED_ORIGINS", "https://traces.example.com")
    viewer = viewer_factory(SQLiteTraceStorage(tmp_path / "t.db"))
    public = {**WRITE_HEADERS, "origin": "https://traces.example.com"}
    other = {**WRITE_HEADERS, "origin": "https://evil.example"}
    with httpx.Client(base_url=viewer.url, timeout=10) as client:
        assert client.post("/api/import", content=b"[]", headers=public).status_code == 200
        assert client.post("/api/import", content=b"[]", headers=other).status_code == 403
