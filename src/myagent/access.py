"""Access control shared by every server myagent runs: loopback checks and access tokens.

The trace viewer and the agent servers (WebSocket protocol, AG-UI) follow one rule: they
listen on 127.0.0.1 by default, and refuse an address other machines can reach unless an
access token is set, which every request must then carry.
"""

from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import parse_qs


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


MIN_TOKEN_CHARS = 16
"""Shortest token accepted for an address other machines can reach."""


def check_bind(host: str, token: str | None, *, env_var: str, serves: str) -> None:
    """Refuse to listen beyond this machine without a token, or with a weak one: shorter
    than 16 characters, or holding whitespace (raises ValueError)."""
    if is_loopback(host):
        return
    if not token:
        raise ValueError(
            f"refusing to bind {host!r} without a token: set {env_var} "
            f"(or pass token=...) to serve {serves} beyond this machine"
        )
    if len(token) < MIN_TOKEN_CHARS or any(c.isspace() for c in token):
        raise ValueError(
            f"refusing to bind {host!r} with a weak token: {env_var} must have at least "
            f"{MIN_TOKEN_CHARS} characters and no whitespace"
        )


def token_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a presented token with the expected one."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def bearer_or_query_token(authorization: str | None, query_string: str) -> str | None:
    """The token in an `Authorization: Bearer` header, else in a `?token=` parameter.

    Browsers cannot set headers on a WebSocket handshake, hence the query parameter.
    """
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    values = parse_qs(query_string).get("token")
    return values[0] if values else None
