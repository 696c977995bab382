"""Health, writers' counters, sign-in with the viewer token, and the UI with its fallback."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from myagent.access import token_matches
from myagent.trace.storage.health import health_totals
from myagent.trace.viewer.routes.traces import Settings, Source
from myagent.trace.viewer.schemas import WritersReport
from myagent.trace.viewer.security import DOCS_PATH, TOKEN_COOKIE

router = APIRouter(tags=["meta"])

_NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>myagent traces</title>
<p>The viewer UI is not built. Run <code>make web-build</code> (Node 20+), or use the
JSON API at <a href="/api/docs">/api/docs</a>.</p>"""


_DOCS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>myagent trace viewer API</title>
<link rel="icon" type="image/png" href="/api-docs/favicon-32x32.png">
<link rel="stylesheet" href="/api-docs/swagger-ui.css"></head>
<body><div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="/api-docs/swagger-ui-bundle.js"></script>
<script src="/api-docs/init.js"></script></body></html>"""

_DOCS_NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>myagent trace viewer API</title>
<p>The API docs UI is not built (<code>make web-build</code>); the OpenAPI schema is at
<a href="{openapi}">{openapi}</a>.</p>"""


class TokenIn(BaseModel):
    """A viewer token presented by the sign-in form."""

    token: str = Field(max_length=1000)


def same_origin_path(path: str) -> str:
    """`path` as a path of this server: `//evil.example/x` or `/\\evil.example` (which
    browsers read as another host) become `/evil.example/x`."""
    return "/" + path.lstrip("/\\")


def _set_cookie(response: Response, token: str, request: Request) -> None:
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


@router.get("/api/health")
async def health(src: Source, cfg: Settings) -> dict[str, Any]:
    """Liveness, the storage class, and whether a token is required."""
    return {
        "status": "ok",
        "storage": type(src.storage).__name__,
        "token_required": bool(cfg.token),
        "in_process": src.manager is not None,
    }


@router.get("/api/writers", response_model=WritersReport)
async def writers(src: Source) -> dict[str, Any]:
    """Tracing health: what each writer process submitted, wrote and dropped (by
    reason), as persisted in storage; an in-process viewer shows its own writer live."""
    found, live = await src.writers()
    return {
        "writers": [{**w.as_dict(), "live": w.writer_id in live} for w in found],
        "totals": health_totals(found),
    }


@router.post("/api/auth")
async def sign_in(body: TokenIn, request: Request, cfg: Settings) -> Response:
    """Check a token and keep it in an HttpOnly, SameSite=Strict cookie."""
    if not cfg.token or not token_matches(body.token, cfg.token):
        raise HTTPException(401, "wrong token")
    response = Response(status_code=204)
    _set_cookie(response, body.token, request)
    return response


@router.get(DOCS_PATH, include_in_schema=False)
async def api_docs(request: Request, cfg: Settings) -> HTMLResponse:
    """Swagger UI from the package's static files (built from swagger-ui-dist), started by
    a script file of its own: it works offline and under the viewer's strict CSP."""
    built = (cfg.static_dir / "api-docs" / "swagger-ui-bundle.js").is_file()
    page = _DOCS if built else _DOCS_NOT_BUILT
    return HTMLResponse(page.format(openapi=request.app.openapi_url))


def _index(static: Path) -> Response:
    index = static / "index.html"
    if not index.is_file():
        return HTMLResponse(_NOT_BUILT, headers={"cache-control": "no-store"})
    return FileResponse(index, headers={"cache-control": "no-store"})


@router.get("/{path:path}", include_in_schema=False)
async def spa(path: str, request: Request, cfg: Settings) -> Response:
    """Built UI files, and index.html for every other page (client-side routes).

    `?token=...` on a page address signs in: the cookie is set and the token is taken
    out of the address bar and history.
    """
    if path.startswith("api/") or path == "api":
        raise HTTPException(404, "no such API route")
    token = request.query_params.get("token")
    if token is not None and cfg.token and token_matches(token, cfg.token):
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
        query = urlencode(kept)
        target = same_origin_path(request.url.path) + (f"?{query}" if query else "")
        redirect = RedirectResponse(target, status_code=303)
        _set_cookie(redirect, token, request)
        return redirect
    static = cfg.static_dir.resolve()
    if path:
        candidate = (static / path).resolve()
        if candidate.is_file() and candidate.is_relative_to(static):
            return static_file(candidate, path, request.headers.get("accept-encoding", ""))
    return _index(static)


_ENCODINGS = (("br", ".br"), ("gzip", ".gz"))
"""Precompressed copies the UI build writes next to each text asset, best first."""


def static_file(file: Path, path: str, accept_encoding: str) -> Response:
    """A built UI file: its precompressed copy when the browser takes that encoding;
    hashed assets (`assets/`) cached for a year as immutable, the rest revalidated."""
    cache = "public, max-age=31536000, immutable" if path.startswith("assets/") else "no-cache"
    headers = {"cache-control": cache, "vary": "accept-encoding"}
    accepted = {part.split(";")[0].strip().lower() for part in accept_encoding.split(",")}
    for encoding, suffix in _ENCODINGS:
        packed = file.with_name(file.name + suffix)
        if encoding in accepted and packed.is_file():
            media = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            headers["content-encoding"] = encoding
            return FileResponse(packed, media_type=media, headers=headers)
    return FileResponse(file, headers=headers)
