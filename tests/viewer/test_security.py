"""Token, bind rules, headers, Host checks and request size limits, over real HTTP."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from myagent.trace import SQLiteTraceStorage
from myagent.trace.viewer import start_trace_viewer
from myagent.trace.viewer.security import CSP
from myagent.trace.viewer.settings import check_bind
from tests.support.viewer import WRITE_HEADERS

TOKEN = "s3cret-token-0123456789"


@pytest.fixture
def protected(tmp_path: Path, viewer_factory: Any) -> Any:
    return viewer_factory(SQLiteTraceStorage(tmp_path / "t.db"), token=TOKEN)


def test_every_api_and_live_request_needs_the_token(protected: Any) -> None:
    with httpx.Client(base_url=protected.url, timeout=10) as client:
        for path in ("/api/traces", "/api/traces/count", "/api/live", "/api/stats", "/api/export"):
            assert client.get(path).status_code == 401, path
        assert client.post("/api/import", content=b"[]", headers=WRITE_HEADERS).status_code == 401
        assert client.get("/api/traces", headers={"x-trace-token": "wrong"}).status_code == 401
        bearer = {"authorization": f"Bearer {TOKEN}"}
        assert client.get("/api/traces", headers=bearer).status_code == 200
        assert client.get("/api/traces", headers={"x-trace-token": TOKEN}).status_code == 200
        assert client.get("/api/traces", params={"token": TOKEN}).status_code == 200
        health = client.get("/api/health").json()
        assert health["token_required"] is True


def test_sign_in_sets_an_httponly_strict_cookie(protected: Any) -> None:
    with httpx.Client(base_url=protected.url, timeout=10) as client:
        assert (
            client.post("/api/auth", json={"token": "nope"}, headers=WRITE_HEADERS).status_code
            == 401
        )
        response = client.post("/api/auth", json={"token": TOKEN}, headers=WRITE_HEADERS)
        assert response.status_code == 204
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert client.get("/api/traces").status_code == 200  # the cookie now rides along


def test_token_in_a_page_address_signs_in_and_leaves_the_address(protected: Any) -> None:
    with httpx.Client(base_url=protected.url, timeout=10) as client:
        response = client.get("/traces/abc", params={"token": TOKEN, "r": "x1"})
        assert response.status_code == 303
        assert response.headers["location"] == "/traces/abc?r=x1"
        assert client.get("/api/traces").status_code == 200


def test_without_a_token_only_loopback_binds_are_allowed() -> None:
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    check_bind("localhost", None)
    with pytest.raises(ValueError, match="TRACE_VIEWER_TOKEN"):
        check_bind("0.0.0.0", None)
    with pytest.raises(ValueError):
        check_bind("192.168.1.5", "")
    check_bind("0.0.0.0", TOKEN)


async def test_start_trace_viewer_refuses_a_public_bind_without_token() -> None:
    with pytest.raises(ValueError):
        await start_trace_viewer(port=1, host="0.0.0.0", storage=SQLiteTraceStorage(":memory:"))


def test_security_headers_on_pages_and_api(tmp_path: Path, viewer_factory: Any) -> None:
    server = viewer_factory(SQLiteTraceStorage(tmp_path / "t.db"))
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for path in ("/", "/traces/abc", "/api/traces", "/api/nope"):
            headers = client.get(path).headers
            assert headers["content-security-policy"] == CSP, path
            assert headers["x-frame-options"] == "DENY"
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "no-referrer"
        assert "script-src 'self';" in CSP and "unsafe-eval" not in CSP


def test_unknown_host_names_are_refused_without_a_token(
    tmp_path: Path, viewer_factory: Any
) -> None:
    server = viewer_factory(SQLiteTraceStorage(tmp_path / "t.db"))
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get("/api/traces", headers={"host": "evil.example"}).status_code == 421
        assert client.get("/api/traces", headers={"host": "localhost:8080"}).status_code == 200
        assert client.get("/api/traces", headers={"host": "[::1]:8080"}).status_code == 200


def test_request_bodies_over_the_limit_are_refused(tmp_path: Path, viewer_factory: Any) -> None:
    server = viewer_factory(
        SQLiteTraceStorage(tmp_path / "t.db"), max_request_bytes=1000, max_import_bytes=5000
    )
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert (
            client.post("/api/auth", json={"token": "x" * 2000}, headers=WRITE_HEADERS).status_code
            == 413
        )
        assert (
            client.post(
                "/api/import", content=b"[" + b" " * 6000 + b"]", headers=WRITE_HEADERS
            ).status_code
            == 413
        )

        def chunks() -> Any:
            for _ in range(10):
                yield b" " * 1000

        assert (
            client.post("/api/import", content=chunks(), headers=WRITE_HEADERS).status_code == 413
        )
        assert (
            client.post("/api/import", content=b"[]", headers=WRITE_HEADERS).json()["imported"] == 0
        )


class _Refs(HTMLParser):
    """The src/href addresses of a page, and whether any script has inline code."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.inline_script = False
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.refs += [v for k, v in attrs if k in ("src", "href") and v]
        self._in_script = tag == "script"

    def handle_data(self, data: str) -> None:
        self.inline_script |= self._in_script and bool(data.strip())

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def test_api_docs_load_only_same_origin_assets_under_the_csp(
    tmp_path: Path, viewer_factory: Any
) -> None:
    viewer = viewer_factory(SQLiteTraceStorage(tmp_path / "t.db"))
    with httpx.Client(base_url=viewer.url, timeout=10) as client:
        docs = client.get("/api/docs")
        assert docs.status_code == 200
        assert docs.headers["content-security-policy"] == CSP
        refs = _Refs()
        refs.feed(docs.text)
        assert not refs.inline_script  # script-src 'self' would block it
        assert any(r.endswith("swagger-ui-bundle.js") for r in refs.refs)
        assert any(r.endswith("swagger-ui.css") for r in refs.refs)
        for ref in refs.refs:
            assert ref.startswith("/") and not ref.startswith("//"), ref  # same origin
            asset = client.get(ref)
            assert asset.status_code == 200, ref
            assert len(asset.content) > 0, ref
        assert client.get("/api/openapi.json").json()["paths"]
        assert client.get("/api/redoc").status_code == 404  # ReDoc is not served
