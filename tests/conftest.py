"""Shared fixtures: a fresh global trace manager, and fixtures that start real servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from myagent.trace import InMemoryTraceStorage, SQLiteTraceStorage, TraceManager, set_trace_manager
from myagent.trace.setup import reset_trace_manager
from tests.support.openai_server import OpenAITestServer

pytest_plugins = ("pytester",)  # tests of the pytest plugin run pytest in a subprocess


@pytest.fixture
def manager() -> Iterator[TraceManager]:
    """The global TraceManager over in-memory storage, closed afterwards."""
    m = TraceManager(InMemoryTraceStorage())
    set_trace_manager(m)
    yield m
    m.close(timeout=5)
    reset_trace_manager()


@pytest.fixture
def sqlite_manager(tmp_path: Path) -> Iterator[TraceManager]:
    """The global TraceManager over a real SQLite file in tmp_path."""
    m = TraceManager(SQLiteTraceStorage(tmp_path / "traces.db"))
    set_trace_manager(m)
    yield m
    m.close(timeout=5)
    reset_trace_manager()


@pytest.fixture
def openai_server() -> Iterator[OpenAITestServer]:
    """A real OpenAI-compatible HTTP server on 127.0.0.1 with a scripted reply queue."""
    server = OpenAITestServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def viewer_factory() -> Iterator[Any]:
    """Start real trace viewers on 127.0.0.1 (`viewer_factory(storage, token=...)`);
    every one is stopped afterwards."""
    from tests.support.viewer import ViewerTestServer

    started: list[ViewerTestServer] = []

    def start(*args: Any, **kwargs: Any) -> ViewerTestServer:
        server = ViewerTestServer(*args, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def otlp_receiver() -> Iterator[Any]:
    """A real OTLP/HTTP trace receiver on 127.0.0.1 that decodes requests with
    opentelemetry-proto and answers 200, a scripted status, or hangs."""
    from tests.support.otlp_receiver import OTLPReceiver

    receiver = OTLPReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test run's own on the local PostgreSQL server (dropped after).

    The server is `MYAGENT_TEST_POSTGRES` (default: postgres@127.0.0.1:5432, which
    `.ci/run` starts). Unreachable: the test fails in CI (CI=true), skips elsewhere.
    """
    from tests.support.postgres import RunDatabase

    database = RunDatabase.create_or_skip()
    try:
        yield database.url
    finally:
        database.drop()


@pytest.fixture
def private_postgres() -> Iterator[Any]:
    """A throwaway PostgreSQL server of this test's own (initdb in a temporary directory,
    a free port) that the test may stop and restart; the shared server is never touched.
    Stopped and removed afterwards, even when the test fails."""
    from tests.support.postgres import PrivateServer

    server = PrivateServer()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture
def postgres_storage(postgres_url: str) -> Iterator[Any]:
    """A PostgresTraceStorage in a schema of its own inside the run's database."""
    from tests.support.postgres import fresh_storage

    yield from fresh_storage(postgres_url)


@pytest.fixture
async def ws_server_factory() -> AsyncIterator[Any]:
    """Start real agent WebSocket servers on 127.0.0.1
    (`await ws_server_factory(create_agent, **options)`); every one is stopped afterwards."""
    from tests.support.ws import start_server

    started: list[Any] = []

    async def start(create_agent: Any, **options: Any) -> Any:
        server = await start_server(create_agent, **options)
        started.append(server)
        return server

    yield start
    for server in started:
        await server.stop()


@pytest.fixture
async def agui_server_factory() -> AsyncIterator[Any]:
    """Serve AG-UI apps with uvicorn on 127.0.0.1 (`url = await agui_server_factory(app)`);
    every one is stopped afterwards."""
    from tests.support.ws import AguiTestServer

    started: list[Any] = []

    async def start(app: Any) -> str:
        server = await AguiTestServer(app).start()
        started.append(server)
        return str(server.url)

    yield start
    for server in started:
        await server.stop()
