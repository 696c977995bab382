"""Viewer settings: where it listens, the access token, and the size limits it enforces."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from myagent import access, origins

STATIC_DIR = Path(__file__).parent / "static"
"""Where the built UI lives inside the package (`make web-build` writes it)."""


@dataclass(slots=True, kw_only=True)
class ViewerSettings:
    """Everything `create_app` needs besides the traces themselves."""

    token: str | None = field(default_factory=lambda: os.environ.get("TRACE_VIEWER_TOKEN") or None)
    """When set, every API and live-feed request must carry it (TRACE_VIEWER_TOKEN)."""
    inline_payload_bytes: int = 256 * 1024
    """A record field larger than this is served as a download, with a preview."""
    preview_chars: int = 240
    """Characters of each payload field shown in the record tree and transcript."""
    max_request_bytes: int = 1024 * 1024
    """Largest request body, except imports."""
    max_import_bytes: int = 256 * 1024 * 1024
    """Largest trace file `POST /api/import` accepts."""
    max_otlp_bytes: int = 32 * 1024 * 1024
    """Largest OTLP export body `POST /v1/traces` accepts (compressed and decompressed)."""
    otlp_max_spans: int = 20_000
    """Most spans one OTLP export request may carry."""
    otlp_idle_timeout: float = 60.0
    """Seconds after its last span an OTLP trace whose root span never came is finished."""
    live_interval: float = 0.5
    """Seconds between two polls of storage for the live feed."""
    max_search_terms: int = 16
    """Most words a full-text search (`q`) may hold; more is a 422."""
    max_search_term_chars: int = 64
    """Longest word of a search; longer is a 422."""
    search_timeout: float = 5.0
    """Seconds a search's queries may run before they are stopped (503)."""
    max_concurrent_searches: int = 2
    """Searches run at once; one more is refused at once (503, Retry-After) rather than
    queued, so searches never hold every worker thread the other requests need."""
    allowed_origins: frozenset[str] = field(default_factory=origins.allowed_origins)
    """Origins whose writes are accepted besides the viewer's own (MYAGENT_ALLOWED_ORIGINS,
    comma-separated): the public origin when a reverse proxy rewrites the Host header."""
    static_dir: Path = STATIC_DIR
    llm_base_url: str | None = field(
        default_factory=lambda: (
            os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_BASE") or None
        )
    )
    """The OpenAI-compatible endpoint the playground sends runs to (OPENAI_BASE_URL)."""
    llm_api_key: str | None = field(default_factory=lambda: os.environ.get("OPENAI_API_KEY"))
    """Its API key (OPENAI_API_KEY); used by the server only, never sent to the browser."""
    llm_model: str = field(default_factory=lambda: os.environ.get("LLM_MODEL") or "gpt-4o-mini")
    """The playground's default model when a record names none (LLM_MODEL)."""

    def __post_init__(self) -> None:
        self.allowed_origins = origins.allowed_origins(self.allowed_origins)


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token (raises ValueError)."""
    access.check_bind(host, token, env_var="TRACE_VIEWER_TOKEN", serves="traces")
