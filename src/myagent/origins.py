"""Cross-origin guards shared by every server myagent runs (viewer, WebSocket, AG-UI).

Browsers say where a request comes from in `Origin` and `Sec-Fetch-Site`; non-browser
clients (curl, SDKs) send neither and are not affected. A request is same-origin when its
`Origin` names the host and port the request was sent to (its `Host`), or an origin the
operator allowed (`--allow-origin`, MYAGENT_ALLOWED_ORIGINS). Another port on the same
host is another origin.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

ORIGINS_ENV = "MYAGENT_ALLOWED_ORIGINS"
"""Comma-separated origins (`https://app.example.com`) allowed besides the server's own."""

CSRF_HEADER = "x-myagent-request"
"""The header every state-changing API request must carry (value `1`): a page of another
origin cannot send it without a CORS preflight, which myagent servers never grant."""

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_FOREIGN_SITES = frozenset({"cross-site", "same-site"})


def normalize_origin(value: str) -> str | None:
    """`scheme://host:port` in lower case with the port made explicit; None if not one."""
    value = value.strip()
    if value == "*":
        return value
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port or _DEFAULT_PORTS[scheme]}"


def allowed_origins(extra: Iterable[str] | str | None = None) -> frozenset[str]:
    """The configured origins: `extra` (a list or a comma-separated string), else the
    MYAGENT_ALLOWED_ORIGINS variable. Raises ValueError for a value that is no origin."""
    if extra is None:
        extra = os.environ.get(ORIGINS_ENV, "")
    items = extra.split(",") if isinstance(extra, str) else list(extra)
    found = set()
    for item in items:
        if not item.strip():
            continue
        origin = normalize_origin(item)
        if origin is None:
            raise ValueError(f"not an origin (scheme://host[:port]): {item!r}")
        found.add(origin)
    return frozenset(found)


def host_name(value: str) -> str:
    """The name part of a Host header: `127.0.0.1:8080`, `[::1]:80`, `localhost`."""
    if value.startswith("["):
        return value[1 : value.find("]")]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def same_origin(origin: str, host: str) -> bool:
    """True when `origin` names the `host` (a Host header: `name[:port]`) it was sent to."""
    normalized = normalize_origin(origin)
    if normalized is None or normalized == "*" or not host:
        return False
    scheme = normalized.split(":", 1)[0]
    target = normalize_origin(f"{scheme}://{host}")
    return target is not None and target == normalized


def origin_allowed(origin: str | None, host: str, allowed: frozenset[str] = frozenset()) -> bool:
    """An `Origin` header is acceptable: absent (not a browser), the server's own, or allowed.

    The literal `null` (sandboxed frames, `file:` pages, some redirects) is never allowed.
    """
    if origin is None:
        return True
    if "*" in allowed:
        return origin.strip() != "null"
    if same_origin(origin, host):
        return True
    normalized = normalize_origin(origin)
    return normalized is not None and normalized in allowed


def foreign_fetch(headers: Mapping[str, str]) -> bool:
    """True when the browser says the request comes from another origin of this site or
    from another site (`Sec-Fetch-Site: same-site` / `cross-site`)."""
    return headers.get("sec-fetch-site", "").strip().lower() in _FOREIGN_SITES


def media_type(headers: Mapping[str, str]) -> str:
    """The request's media type without parameters, lower case (`""` when absent)."""
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()
