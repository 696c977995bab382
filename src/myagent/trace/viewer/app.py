"""`create_app`: the viewer's FastAPI app over a trace source, its live hub and the UI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from myagent.trace.foreground import ForegroundGate, ForegroundMiddleware
from myagent.trace.manager import TraceManager
from myagent.trace.storage.base import TraceStorage
from myagent.trace.viewer.live import LiveHub
from myagent.trace.viewer.routes import (
    analytics,
    compare,
    datasets,
    experiments,
    facets,
    imports,
    live,
    meta,
    playground,
    scores,
    traces,
    transfer,
)
from myagent.trace.viewer.search_limits import SearchGate
from myagent.trace.viewer.security import OTLP_PREFIX, SecurityMiddleware
from myagent.trace.viewer.settings import ViewerSettings
from myagent.trace.viewer.source import TraceSource


def create_app(
    storage: TraceStorage | None = None,
    *,
    manager: TraceManager | None = None,
    settings: ViewerSettings | None = None,
    otlp_db: str | None = None,
) -> FastAPI:
    """The viewer app over `storage` (a file another process writes) or over `manager`
    (this process's traces, running ones included). One of the two is required.
    `otlp_db` (the storage's path or URL): `POST /v1/traces` is handled by a child process
    writing there, so ingest never shares this process's GIL with the pages."""
    if storage is None and manager is None:
        raise ValueError("create_app needs a storage or a manager")
    settings = settings or ViewerSettings()
    source = TraceSource(storage if storage is not None else manager.storage, manager)  # type: ignore[union-attr]
    hub = LiveHub(source, settings.live_interval)

    otlp = _otlp_routes()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await hub.close()
        if otlp is not None:
            await otlp.close(app)

    app = FastAPI(
        title="myagent trace viewer",
        summary="Traces of agent runs: list, detail, live feed, analytics, export.",
        docs_url=None,  # served by routes/meta.py from local files (no CDN), see DOCS_PATH
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.source, app.state.hub, app.state.settings = source, hub, settings
    app.state.searches = SearchGate()
    app.state.foreground = ForegroundGate()
    app.state.otlp_db = otlp_db
    _add_metrics_route(app, manager)  # before the UI's catch-all route
    routes = (
        traces,
        live,
        compare,
        analytics,
        facets,
        transfer,
        imports,
        scores,
        datasets,
        playground,
    )
    for module in (*routes, experiments, *([otlp] if otlp else []), meta):
        app.include_router(module.router)
    # Pages first: background work (OTLP mapping, the writer) waits while one is answered.
    app.add_middleware(ForegroundMiddleware, gate=app.state.foreground, background=(OTLP_PREFIX,))
    app.add_middleware(SecurityMiddleware, settings=settings)
    return app


def _otlp_routes() -> Any:
    """The OTLP receiver's routes (`POST /v1/traces`) when the 'otel' extra is installed."""
    try:
        from myagent.trace.viewer.routes import otlp
    except ImportError:
        return None
    return otlp


def _add_metrics_route(app: FastAPI, manager: TraceManager | None) -> None:
    """`GET /metrics` in the Prometheus text format when the 'prometheus' extra is installed;
    `manager`, when given, is instrumented (trace metrics and tracing health)."""
    try:
        from myagent.trace.metrics import metrics_app
    except ImportError:
        return
    from starlette.routing import Route

    endpoint = metrics_app(manager, instrument_manager=manager is not None)
    app.router.routes.append(Route("/metrics", endpoint, include_in_schema=False))
