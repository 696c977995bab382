"""Nothing leaks: tasks, sessions and memory stay flat over 1,000 connect/run/disconnect cycles."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from myagent.trace import TraceManager, TraceStorage, set_trace_manager
from myagent.trace.records import Trace
from myagent.ws.server import AgentWebSocketServer
from tests.support.ws import WsClient, make_factory

CYCLES = 1000
TRACED_CYCLES = 200
CLIENTS = 8


class CountingStorage(TraceStorage):
    """Keeps only counts, so stored traces do not show up as memory growth."""

    def __init__(self) -> None:
        self.statuses: dict[str, int] = {}
        self.sessions: set[str] = set()

    async def store_trace(self, trace: Trace) -> None:
        self.statuses[str(trace.status)] = self.statuses.get(str(trace.status), 0) + 1
        if trace.session_id:
            self.sessions.add(trace.session_id)


@pytest.fixture
def counting() -> Iterator[tuple[TraceManager, CountingStorage]]:
    storage = CountingStorage()
    manager = TraceManager(storage)
    set_trace_manager(manager)
    yield manager, storage
    manager.close(timeout=5)


async def cycle(url: str) -> None:
    client = await WsClient.open(url)
    session_id = await client.create_session()
    frames = await client.ask(session_id, "hello")
    assert frames[-1]["event"] == "agent.final_answer"
    await client.close()


async def run_cycles(url: str, count: int) -> None:
    async def worker(n: int) -> None:
        for _ in range(n):
            await cycle(url)

    share, extra = divmod(count, CLIENTS)
    await asyncio.gather(*(worker(share + (i < extra)) for i in range(CLIENTS)))


async def settle(server: AgentWebSocketServer) -> None:
    for _ in range(500):
        if not server.connections and not server.sessions:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    gc.collect()


async def test_connect_run_disconnect_cycles_leave_nothing_behind(
    ws_server_factory: Any, counting: tuple[TraceManager, CountingStorage]
) -> None:
    manager, storage = counting
    server = await ws_server_factory(make_factory(["Hello, nice to meet you."]), reconnect_grace=0)
    await run_cycles(server.url, 50)  # warm up caches, pools and lazy imports
    await settle(server)
    tasks_before = len(asyncio.all_tasks())
    objects_before = len(gc.get_objects())

    await run_cycles(server.url, CYCLES)
    await settle(server)
    assert len(server.sessions) == 0
    assert not server.connections
    assert not server._state
    assert len(asyncio.all_tasks()) <= tasks_before
    assert manager.stats["active_traces"] == 0
    # a leaked session keeps hundreds of objects (agent, tools, memory, driver, frames)
    objects_growth = len(gc.get_objects()) - objects_before
    assert objects_growth < 10_000, f"{objects_growth} more live objects after {CYCLES} cycles"

    # memory, with tracemalloc on (it slows every allocation, so over fewer cycles)
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        await run_cycles(server.url, TRACED_CYCLES)
        await settle(server)
        manager.flush()
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    # generous: one leaked session costs tens of KB, so leaking each would be several MB
    assert growth < 512 * 1024, f"memory grew by {growth} bytes over {TRACED_CYCLES} cycles"
    total = 50 + CYCLES + TRACED_CYCLES
    assert storage.statuses == {"success": total}
    assert len(storage.sessions) == total


async def test_disconnected_sessions_with_a_grace_period_are_all_dropped(
    ws_server_factory: Any,
) -> None:
    server = await ws_server_factory(make_factory(["hi"]), reconnect_grace=0.05)
    await run_cycles(server.url, 100)
    await settle(server)
    assert len(server.sessions) == 0 and not server._state
