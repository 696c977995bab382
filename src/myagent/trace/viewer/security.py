"""ASGI middleware: access token, security headers, request size limits, Host checks.

Pure ASGI (not BaseHTTPMiddleware) so the live feed's streaming responses pass through
untouched.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from myagent.access import is_loopback, token_matches
from myagent.trace.viewer.settings import ViewerSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_COOKIE = "trace_viewer_token"
_OPEN_PATHS = ("/api/health", "/api/auth")
OTLP_PATH = "/v1/traces"
"""The OTLP/HTTP receiver: the token rules of `/api`, a body limit of its own."""
_LIMITS = {"/api/import": "max_import_bytes", OTLP_PATH: "max_otlp_bytes"}
"""Request body limits (ViewerSettings fields) by path; others get max_request_bytes."""

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""Scripts only from this server; trace content can add no script, frame or remote image."""

DOCS_PATH = "/api/docs"
"""The API docs (Swagger UI from the package's own files, under the same CSP)."""


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def host_name(value: str) -> str:
    """The name part of a Host header: `127.0.0.1:8080`, `[::1]:80`, `localhost`."""
    if value.startswith("["):
        return value[1 : value.find("]")]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def request_token(scope: Scope) -> str | None:
    """The token a request carries: bearer header, X-Trace-Token, cookie or ?token=."""
    headers = _headers(scope)
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    if "x-trace-token" in headers:
        return headers["x-trace-token"]
    if "cookie" in headers:
        cookie: SimpleCookie = SimpleCookie()
        try:
            cookie.load(headers["cookie"])
        except Exception:
            cookie = SimpleCookie()
        if TOKEN_COOKIE in cookie:
            return cookie[TOKEN_COOKIE].value
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    values = query.get("token")
    return values[0] if values else None


async def _reply(send: Send, status: int, detail: str, extra: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SecurityMiddleware:
    """Guards every request before it reaches a route."""

    def __init__(self, app: ASGIApp, settings: ViewerSettings) -> None:
        self.app = app
        self.settings = settings

    def _security_headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"content-security-policy", CSP.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"cross-origin-resource-policy", b"same-origin"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra = self._security_headers()
        host = host_name(_headers(scope).get("host", ""))
        if not self.settings.token and host and not is_loopback(host):
            # Without a token only this machine's own names are served (DNS rebinding).
            await _reply(send, 421, "unknown host; set TRACE_VIEWER_TOKEN to serve it", extra)
            return
        protected = (
            path.startswith("/api") or path in ("/metrics", OTLP_PATH)
        ) and not path.startswith(_OPEN_PATHS)
        if (
            protected
            and self.settings.token
            and not token_matches(request_token(scope), self.settings.token)
        ):
            await _reply(send, 401, "a valid viewer token is required", extra)
            return
        limit: int = getattr(self.settings, _LIMITS.get(path, "max_request_bytes"))
        length = _headers(scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _reply(send, 413, f"request body over {limit} bytes", extra)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k for k, _ in extra}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = kept + extra
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except _BodyTooLarge:
            await _reply(send, 413, f"request body over {limit} bytes", extra)


class _BodyTooLarge(Exception):
    """A streamed request body went over the limit."""
