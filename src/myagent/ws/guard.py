"""Who may reach the agent servers: the access token, the Host, and the page's Origin.

Shared by the WebSocket handshake and AG-UI. A page of another origin (another port on
the same host counts) can neither open the socket nor start a run: browsers always send
`Origin` on both, and it must name the server itself or an origin the operator allowed.
Without a token only this machine's own host names are served (DNS rebinding).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from myagent import access, origins

RECONNECT_TOKEN = "reconnect_token"
"""The field of `agent.session_created`'s metadata holding a session's reconnect secret,
and of `user.reconnect` (metadata, content or top level) presenting it."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request refused before it reaches the agent: an HTTP status and why."""

    status: int
    message: str


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """The token and the allowed origins of one server."""

    token: str | None = None
    allowed_origins: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def build(cls, token: str | None, allowed: Iterable[str] | str | None = None) -> AccessPolicy:
        """A policy with `allowed` origins (None: the MYAGENT_ALLOWED_ORIGINS variable)."""
        return cls(token, origins.allowed_origins(allowed))

    def check_host(self, headers: Mapping[str, str]) -> Refusal | None:
        """Without a token, only loopback Host names are served (421 otherwise)."""
        if self.token:
            return None
        host = origins.host_name(headers.get("host", ""))
        if host and not access.is_loopback(host):
            return Refusal(421, "Unknown host; set MYAGENT_SERVE_TOKEN to serve it")
        return None

    def check_origin(self, headers: Mapping[str, str]) -> Refusal | None:
        """A browser's request must come from this server's origin or an allowed one."""
        origin = headers.get("origin")
        host = headers.get("host", "")
        if origin is not None:
            if origins.origin_allowed(origin, host, self.allowed_origins):
                return None
            return Refusal(403, f"Origin {origin!r} is not allowed (see --allow-origin)")
        if origins.foreign_fetch(headers):
            return Refusal(403, "Requests from another site or origin are refused")
        return None

    def check_token(self, authorization: str | None, query: str) -> Refusal | None:
        """When a token is set, the request carries it (bearer header or `?token=`)."""
        if self.token is None:
            return None
        given = access.bearer_or_query_token(authorization, query)
        if access.token_matches(given, self.token):
            return None
        return Refusal(401, "Missing or wrong access token")

    def cors_headers(self, headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
        """CORS response headers for a front-end on an allowed origin (none for others:
        the browser then keeps the response from the page)."""
        origin = headers.get("origin")
        if origin is None:
            return []
        normalized = origins.normalize_origin(origin)
        if normalized is None or not (
            normalized in self.allowed_origins or "*" in self.allowed_origins
        ):
            return []
        return [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", b"GET, POST"),
            (b"access-control-allow-headers", b"authorization, content-type, accept"),
            (b"access-control-max-age", b"600"),
            (b"vary", b"Origin"),
        ]

    def check(self, headers: Mapping[str, str], query: str) -> Refusal | None:
        """Host, then token, then origin: the first refusal, or None."""
        return (
            self.check_host(headers)
            or self.check_token(headers.get("authorization"), query)
            or self.check_origin(headers)
        )


def new_reconnect_token() -> str:
    """A fresh per-session secret (256 bits), sent only to the client that made the session."""
    return secrets.token_urlsafe(32)


def presented_reconnect_token(frame: Mapping[str, Any]) -> str | None:
    """The secret a `user.reconnect` frame carries: in `metadata`, `content` or top level."""
    for place in (frame.get("metadata"), frame.get("content"), frame):
        if isinstance(place, Mapping):
            value = place.get(RECONNECT_TOKEN)
            if isinstance(value, str):
                return value
    return None


def reconnect_allowed(expected: str, frame: Mapping[str, Any]) -> bool:
    """True when the frame presents the session's secret (compared in constant time)."""
    given = presented_reconnect_token(frame)
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def session_cap_refusal(
    on_connection: int, in_total: int, per_connection: int, total: int
) -> str | None:
    """Why one more session is refused (a flood would grow memory without bound), or None."""
    if on_connection >= per_connection:
        return f"This connection already holds {per_connection} sessions"
    if in_total >= total:
        return f"The server already holds {total} sessions (its limit); close one or try later"
    return None
