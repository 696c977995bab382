"""ASGI middleware: access token, security headers, request size limits, Host checks,
and the cross-origin guard (no page of another origin reads the API or writes into it).

Pure ASGI (not BaseHTTPMiddleware) so the live feed's streaming responses pass through
untouched.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from myagent.access import is_loopback, token_matches
from myagent.origins import CSRF_HEADER, foreign_fetch, host_name, media_type, origin_allowed
from myagent.trace.viewer.settings import ViewerSettings
from myagent.trace.viewer.throttle import SignInThrottle

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_COOKIE = "trace_viewer_token"
SIGN_IN_PATH = "/api/auth"
_OPEN_PATHS = ("/api/health", SIGN_IN_PATH)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""Scripts only from this server; trace content can add no script, frame or remote image."""

DOCS_PATH = "/api/docs"
"""The API docs (Swagger UI from the package's own files, under the same CSP)."""

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
"""Methods that change state: every one under /api passes the write guard."""
JSON_ONLY = ("application/json",)
UPLOAD_TYPES: dict[str, tuple[str, ...]] = {
    "/api/import": ("application/json", "application/x-ndjson"),
}
"""Routes taking a body other than JSON, with the media types they document."""
OTLP_PREFIX = "/v1/"
"""The OTLP/HTTP receiver (`/v1/traces`): SDK exporters cannot send the custom header, so
it is exempt from it, but takes only OTLP's media types and no cross-site request."""
OTLP_TYPES = ("application/x-protobuf", "application/json")
_LIMITS = {"/api/import": "max_import_bytes", "/v1/traces": "max_otlp_bytes"}
"""Request body limits (ViewerSettings fields) by path; others get max_request_bytes."""


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


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


def cross_origin_refusal(
    method: str, path: str, headers: dict[str, str], allowed: frozenset[str] = frozenset()
) -> tuple[int, str] | None:
    """Why a request must be refused as coming from another origin, or None.

    - GETs of the API with `Sec-Fetch-Site: cross-site/same-site` (an `<img>` or a link on
      another page firing searches) are refused; requests without the header pass.
    - State-changing requests under /api need the `X-Myagent-Request: 1` header, JSON (or
      the route's documented upload type), and no foreign `Origin`/`Sec-Fetch-Site`.
    - The OTLP receiver needs OTLP's media types and no foreign `Sec-Fetch-Site`/`Origin`.
    """
    host = headers.get("host", "")
    if path.startswith(OTLP_PREFIX):
        if method not in WRITE_METHODS:
            return None
        if foreign_fetch(headers) or not origin_allowed(headers.get("origin"), host, allowed):
            return 403, "cross-origin requests to the OTLP receiver are refused"
        if media_type(headers) not in OTLP_TYPES:
            return 415, f"OTLP requests must be one of {', '.join(OTLP_TYPES)}"
        return None
    if not (path.startswith("/api/") or path == "/api"):
        return None
    if method not in WRITE_METHODS:
        if foreign_fetch(headers):
            return 403, "requests from another site or origin to the viewer API are refused"
        return None
    if foreign_fetch(headers) or not origin_allowed(headers.get("origin"), host, allowed):
        return 403, "writes from another site or origin are refused"
    if headers.get(CSRF_HEADER, "").strip() != "1":
        return 403, "state-changing requests need the header X-Myagent-Request: 1"
    types = UPLOAD_TYPES.get(path, JSON_ONLY)
    has_body = "content-type" in headers or headers.get("content-length", "0") not in ("", "0")
    if (method != "DELETE" or has_body) and media_type(headers) not in types:
        return 415, f"{method} {path} takes {' or '.join(types)}"
    return None


class SecurityMiddleware:
    """Guards every request before it reaches a route."""

    def __init__(self, app: ASGIApp, settings: ViewerSettings) -> None:
        self.app = app
        self.settings = settings
        self.throttle = SignInThrottle()

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
        headers = _headers(scope)
        host = host_name(headers.get("host", ""))
        if not self.settings.token and host and not is_loopback(host):
            # Without a token only this machine's own names are served (DNS rebinding).
            await _reply(send, 421, "unknown host; set TRACE_VIEWER_TOKEN to serve it", extra)
            return
        protected = (
            path.startswith(("/api", OTLP_PREFIX)) or path == "/metrics"
        ) and not path.startswith(_OPEN_PATHS)
        client = str((scope.get("client") or ("unknown",))[0])
        if self.settings.token:
            presented = request_token(scope)
            if presented is not None or path == SIGN_IN_PATH:
                wait = self.throttle.wait(client)
                if wait > 0:  # this client sent wrong tokens: it waits, doubling each time
                    retry = [(b"retry-after", str(math.ceil(wait)).encode())]
                    detail = f"too many wrong tokens; try again in {math.ceil(wait)} s"
                    await _reply(send, 429, detail, extra + retry)
                    return
            if presented is not None:
                if token_matches(presented, self.settings.token):
                    self.throttle.succeeded(client)
                else:
                    self.throttle.failed(client)
            if protected and not token_matches(presented, self.settings.token):
                await _reply(send, 401, "a valid viewer token is required", extra)
                return
        refusal = cross_origin_refusal(
            scope["method"], path, headers, self.settings.allowed_origins
        )
        if refusal is not None:
            await _reply(send, refusal[0], refusal[1], extra)
            return
        limit: int = getattr(self.settings, _LIMITS.get(path, "max_request_bytes"))
        length = headers.get("content-length")
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
                if path == SIGN_IN_PATH and self.settings.token:  # the sign-in form's answer
                    status = message["status"]
                    if status == 401:
                        self.throttle.failed(client)
                    elif status < 300:
                        self.throttle.succeeded(client)
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
