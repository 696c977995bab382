"""Run the viewer: `start_trace_viewer` inside a process, `serve` for the command line."""

from __future__ import annotations

import asyncio
import logging
import os
import re
from typing import Any

import uvicorn

from myagent.trace.config import storage_for as config_storage_for
from myagent.trace.manager import TraceManager
from myagent.trace.storage.base import TraceStorage
from myagent.trace.viewer.app import create_app
from myagent.trace.viewer.settings import ViewerSettings, check_bind

DEFAULT_DATABASE_URL = "sqlite:///traces.db"


def storage_for(db: str | None = None) -> TraceStorage:
    """The storage a standalone viewer reads: `db` (a path or URL), else
    TRACE_DATABASE_URL, else `traces.db`; PostgreSQL reads go to TRACE_DATABASE_READ_URL
    when it is set (a streaming replica)."""
    return config_storage_for(db or os.environ.get("TRACE_DATABASE_URL") or DEFAULT_DATABASE_URL)


_QUERY_TOKEN = re.compile(r"([?&]token=)[^&\s\"]*")


def mask_query_token(text: str) -> str:
    """`text` with the value of every `token=` query parameter replaced by `***`."""
    return _QUERY_TOKEN.sub(r"\1***", text)


class MaskTokens(logging.Filter):
    """Keeps `?token=` values out of uvicorn's access log (a shared link signs in)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                mask_query_token(a) if isinstance(a, str) else a for a in record.args
            )
        return True


def _mask_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, MaskTokens) for f in access.filters):
        access.addFilter(MaskTokens())


def _server(app: Any, host: str, port: int, log_level: str) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=1,
        proxy_headers=False,
        server_header=False,
    )
    _mask_access_log()  # after the config, which sets uvicorn's loggers up
    return uvicorn.Server(config)


async def start_trace_viewer(
    port: int = 8080,
    host: str = "127.0.0.1",
    *,
    manager: TraceManager | None = None,
    storage: TraceStorage | None = None,
    token: str | None = None,
    log_level: str = "warning",
    wait: bool = False,
) -> uvicorn.Server:
    """Serve this process's traces (default: the global trace manager, in-memory storage
    included) at http://host:port in the background of the running event loop.

    Returns the uvicorn server once it listens; `wait=True` serves until cancelled.
    Stop it with `server.should_exit = True`.
    """
    if manager is None and storage is None:
        from myagent.trace.setup import get_trace_manager

        manager = get_trace_manager()
    settings = ViewerSettings() if token is None else ViewerSettings(token=token)
    check_bind(host, settings.token)
    server = _server(create_app(storage, manager=manager, settings=settings), host, port, log_level)
    task = asyncio.create_task(server.serve(), name="myagent-trace-viewer")
    while not server.started:
        if task.done():
            task.result()  # re-raises the bind error
            raise OSError(f"trace viewer could not listen on {host}:{port}")
        await asyncio.sleep(0.02)
    if wait:
        await task
    return server


def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    db: str | None = None,
    *,
    token: str | None = None,
    log_level: str = "info",
    otlp_in_process: bool = False,
) -> None:
    """Serve a trace database until interrupted (the command-line entry point). OTLP
    exports sent to it are received in a child process unless `otlp_in_process`."""
    settings = ViewerSettings() if token is None else ViewerSettings(token=token)
    check_bind(host, settings.token)
    url = db or os.environ.get("TRACE_DATABASE_URL") or DEFAULT_DATABASE_URL
    app = create_app(storage_for(url), settings=settings, otlp_db=None if otlp_in_process else url)
    _server(app, host, port, log_level).run()


def add_arguments(parser: Any) -> None:
    """The viewer's command-line options, shared by trace_server.py and `myagent viewer`."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    parser.add_argument(
        "--db",
        default=None,
        help="trace database path or URL (default: TRACE_DATABASE_URL, else traces.db)",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
