"""`myagent collect`: the OTLP/HTTP receiver alone, on its own port and process.

The same receiver as the viewer's `POST /v1/traces` (same token rules, limits and
writer path), without the viewer: run it beside a viewer that reads the same database,
so ingest at full speed never shares a process (or its GIL) with the viewer's pages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from myagent.trace.storage.base import TraceStorage
from myagent.trace.viewer.routes import otlp
from myagent.trace.viewer.security import SecurityMiddleware
from myagent.trace.viewer.settings import ViewerSettings, check_bind
from myagent.trace.viewer.source import TraceSource

DEFAULT_PORT = 4318
"""The OTLP/HTTP port every OpenTelemetry exporter sends to by default."""


def create_collector_app(storage: TraceStorage, settings: ViewerSettings | None = None) -> FastAPI:
    """An app serving only `POST /v1/traces` (and `GET /api/health`) into `storage`."""
    settings = settings or ViewerSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        otlp.receiver_for(app)  # ready before the first export
        yield
        await otlp.close(app)

    app = FastAPI(
        title="myagent OTLP collector",
        summary="Receives OTLP/HTTP trace exports into a myagent trace database.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.source, app.state.settings = TraceSource(storage), settings
    app.include_router(otlp.router)

    @app.get("/api/health", include_in_schema=False)
    async def health() -> dict[str, Any]:
        receiver = otlp.receiver_for(app)
        assembler = getattr(receiver, "assembler", None)  # in this process, always here
        stats = getattr(assembler, "stats", {})
        return {"ok": True, "receiver": receiver.stats, "assembler": stats}

    app.add_middleware(SecurityMiddleware, settings=settings)
    return app


def serve_collector(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    db: str | None = None,
    *,
    token: str | None = None,
    log_level: str = "info",
) -> None:
    """Receive OTLP into a trace database until interrupted (the command-line entry point)."""
    from myagent.trace.config import storage_for
    from myagent.trace.viewer.server import _server

    settings = ViewerSettings() if token is None else ViewerSettings(token=token)
    check_bind(host, settings.token)
    _server(create_collector_app(storage_for(db), settings), host, port, log_level).run()
