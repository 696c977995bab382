"""Faults and overload: I/O errors at the k-th write, hanging and restarting backends,
and 100x bursts.

Raising, hanging and flaky storage in general and a full buffer are covered by
tests/trace/storage/test_writer.py; this module injects real error kinds into a real
SQLite storage, hangs real backends, and checks the books balance exactly.
"""

from __future__ import annotations

import asyncio
import errno
import sqlite3
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import myagent
from myagent.llm import ScriptedLLM
from myagent.trace import (
    InMemoryTraceStorage,
    SQLiteTraceStorage,
    ToolRecord,
    TraceFilter,
    TraceManager,
    set_trace_manager,
)
from myagent.trace.otel import enable_otlp_export
from myagent.trace.records import Trace
from myagent.trace.setup import reset_trace_manager
from myagent.trace.storage.base import TraceStorage
from myagent.trace.storage.postgres import PostgresTraceStorage
from tests.support.otlp_receiver import Answer, OTLPReceiver
from tests.support.postgres import PrivateServer

FAULTS: dict[str, Callable[[], BaseException]] = {
    "disk-io": lambda: sqlite3.OperationalError("disk I/O error"),
    "locked": lambda: sqlite3.OperationalError("database is locked"),
    "enospc": lambda: OSError(errno.ENOSPC, "No space left on device"),
    "read-only": lambda: sqlite3.OperationalError("attempt to write a readonly database"),
}


class FaultyStorage(TraceStorage):
    """A real SQLite storage whose `store_traces` calls number `fail_on` raise `fault`."""

    def __init__(self, inner: SQLiteTraceStorage, fault: Callable[[], BaseException]) -> None:
        self.inner = inner
        self.fault = fault
        self.fail_on: set[int] = set()
        self.calls = 0

    async def store_trace(self, trace: Trace) -> None:
        await self.store_traces([trace])

    async def store_traces(self, traces: Sequence[Trace]) -> None:
        self.calls += 1
        if self.calls in self.fail_on:
            raise self.fault()
        await self.inner.store_traces(traces)


def _one(manager: TraceManager, i: int) -> str:
    with manager.trace(f"t{i}") as trace:
        with manager.run("tool", ToolRecord, tool_name="x"):
            pass
    return trace.trace_id


def _stored_ids(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT trace_id FROM traces").fetchall()
    conn.close()
    return [row[0] for row in rows]


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_a_transient_io_fault_at_the_kth_write_loses_and_duplicates_nothing(
    tmp_path: Path, kind: str
) -> None:
    """Guarantee: one I/O fault on the k-th write is retried; every trace lands exactly once
    and the traced program never sees the error."""
    db = tmp_path / "t.db"
    storage = FaultyStorage(SQLiteTraceStorage(db), FAULTS[kind])
    storage.fail_on = {3}
    manager = TraceManager(storage, flush_interval=30, batch_size=10)
    ids = []
    for i in range(60):
        ids.append(_one(manager, i))  # would raise here if the fault leaked
        if i % 10 == 9:
            manager.flush(10)
    assert manager.flush(10)
    stats = manager.stats["writer"]
    assert stats["write_errors"] == 1 and stats["dropped_total"] == 0
    stored = _stored_ids(db)
    assert sorted(stored) == sorted(ids)  # all there, none twice (trace_id is the key)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone() == (60,)
    conn.close()
    manager.close()


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_a_persistent_io_fault_is_counted_as_write_failed_and_writes_resume(
    tmp_path: Path, kind: str
) -> None:
    """Guarantee: a fault outlasting the retries drops that batch and counts it as
    `write_failed`; writes resume once it clears; produced = stored + dropped exactly."""
    db = tmp_path / "t.db"
    storage = FaultyStorage(SQLiteTraceStorage(db), FAULTS[kind])
    manager = TraceManager(storage, flush_interval=30, batch_size=10, write_retries=2)
    ok = [_one(manager, i) for i in range(10)]
    assert manager.flush(10)
    storage.fail_on = {storage.calls + n for n in range(1, 4)}  # 1 try + 2 retries fail
    lost = [_one(manager, i) for i in range(10, 17)]
    for _ in range(3):  # each flush makes one more attempt: the first and two retries
        assert manager.flush(10) is False
    assert manager.stats["writer"]["dropped"] == {"write_failed": len(lost)}
    after = [_one(manager, i) for i in range(17, 40)]
    assert manager.flush(10)
    stats = manager.stats["writer"]
    assert stats["dropped"] == {"write_failed": len(lost)}
    stored = _stored_ids(db)
    assert sorted(stored) == sorted(ok + after)
    produced = len(ok) + len(lost) + len(after)
    assert produced == len(stored) + stats["dropped_total"]
    manager.close()


LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(60)
"""


async def _agent_runs_with_lag_probe(
    seconds: float, during: Coroutine[Any, Any, None] | None = None
) -> tuple[int, float]:
    """Run scripted agents for `seconds` beside a probe (and `during`, e.g. an outage of
    the backend); return (runs, max loop lag)."""
    lags: list[float] = []
    stop = asyncio.Event()

    async def probe() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - start - 0.01)

    def get_weather(city: str) -> str:
        """Current weather for a city."""
        return f"Sunny in {city}"

    async def agents() -> int:
        runs = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            agent = myagent.create_toolcall_agent(tools=[get_weather], llm=ScriptedLLM())
            await agent.run("What is the weather in Paris?")
            runs += 1
        return runs

    probing = asyncio.create_task(probe())
    disturbing = asyncio.create_task(during) if during is not None else None
    runs = await agents()
    stop.set()
    await probing
    if disturbing is not None:
        await disturbing
    return runs, max(lags)


def _seconds_in_thread(call: Callable[[], object]) -> float:
    """Seconds `call()` took, measured from a thread so a hang cannot freeze the test (it
    fails at 10 s instead)."""
    took: list[float] = []

    def timed() -> None:
        start = time.monotonic()
        call()
        took.append(time.monotonic() - start)

    thread = threading.Thread(target=timed, daemon=True)
    thread.start()
    thread.join(10)
    assert took, f"{call} hung"
    return took[0]


def _close_in_thread(manager: TraceManager, timeout: float) -> float:
    """Seconds `manager.close(timeout)` took (a hang fails the test at 10 s)."""
    return _seconds_in_thread(lambda: manager.close(timeout=timeout))


async def test_sqlite_locked_by_another_process_blocks_neither_loop_nor_close(
    tmp_path: Path,
) -> None:
    """Guarantee: storage locked by another process (BEGIN EXCLUSIVE) never blocks the event
    loop of traced agents, and close(timeout=1) still returns."""
    db = tmp_path / "locked.db"
    SQLiteTraceStorage(db).close_sync()
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(db)], stdout=subprocess.PIPE, text=True
    )
    manager = TraceManager(SQLiteTraceStorage(db), flush_interval=0.05)
    set_trace_manager(manager)
    try:
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
        runs, lag = await _agent_runs_with_lag_probe(1.0)
        assert runs > 0 and manager.stats["traces_finished"] >= runs
        assert manager.stats["writer"]["written"] == 0  # the lock really held the writer
        assert lag < 0.5
        assert _close_in_thread(manager, 1) < 5
    finally:
        locker.kill()
        locker.wait()
        reset_trace_manager()


async def test_a_hanging_otlp_receiver_blocks_neither_loop_nor_close(
    tmp_path: Path, otlp_receiver: OTLPReceiver
) -> None:
    """Guarantee: an OTLP collector that never answers never blocks the event loop of traced
    agents, local storage still gets every trace, and close(timeout=1) returns."""
    otlp_receiver.always(Answer(hang=True))
    manager = TraceManager(SQLiteTraceStorage(tmp_path / "t.db"), flush_interval=0.05)
    enable_otlp_export(manager, otlp_receiver.url)
    set_trace_manager(manager)
    try:
        runs, lag = await _agent_runs_with_lag_probe(1.0)
        otlp_receiver.wait_for_requests(1)
        assert lag < 0.5
        assert manager._writer.flush(5)  # storage is not held up by the sink
        stored = _stored_ids(tmp_path / "t.db")
        assert len(stored) == manager.stats["traces_finished"] >= runs
        assert _close_in_thread(manager, 1) < 5
    finally:
        reset_trace_manager()


async def test_postgres_stopped_and_restarted_mid_run_blocks_neither_loop_nor_close(
    private_postgres: PrivateServer,
) -> None:
    """Guarantee: PostgreSQL stopped (as if crashed) and restarted while agents run never
    blocks their event loop; the writer reconnects, traces produced after the restart
    land, drops (if any) are counted by reason and produced = stored + dropped; with the
    server down, flush(1) and close(timeout=1) still return."""
    server = private_postgres
    storage = PostgresTraceStorage(server.url, connect_timeout=2)
    manager = TraceManager(storage, flush_interval=0.05)
    set_trace_manager(manager)
    marks: dict[str, datetime] = {}

    async def outage() -> None:
        await asyncio.sleep(0.5)
        await asyncio.to_thread(server.stop)
        marks["stopped"] = datetime.now(UTC)
        await asyncio.sleep(1.5)
        marks["down_until"] = datetime.now(UTC)
        await asyncio.to_thread(server.start)
        marks["restarted"] = datetime.now(UTC)

    try:
        runs, lag = await _agent_runs_with_lag_probe(4.0, during=outage())
        assert runs > 0 and lag < 0.5
        assert manager.flush(30)  # the writer reconnected and caught up
        stats = manager.stats
        writer = stats["writer"]
        assert writer["write_errors"] > 0  # the outage really hit the writer
        assert set(writer["dropped"]) <= {"buffer_full", "write_failed"}
        finished = TraceFilter(statuses=["success", "error", "cancelled"])
        stored = storage.count_traces_sync(finished)
        assert stored == writer["written"]
        assert stats["traces_finished"] == stored + writer["dropped_total"]
        # The agents ran on while the server was down, and what they traced then and
        # after the restart was stored.
        down = replace(finished, start_time=marks["stopped"], end_time=marks["down_until"])
        assert storage.count_traces_sync(down) > 0
        after_restart = replace(finished, start_time=marks["restarted"])
        assert storage.count_traces_sync(after_restart) > 0

        server.stop()  # down again, with traces queued: deadlines hold
        for i in range(5):
            _one(manager, i)
        flushed: list[bool] = []
        assert _seconds_in_thread(lambda: flushed.append(manager.flush(1))) < 5
        assert flushed == [False] and manager.stats["writer"]["written"] == stored
        assert _close_in_thread(manager, 1) < 5
    finally:
        reset_trace_manager()


class BlockingStorage(InMemoryTraceStorage):
    """In-memory storage whose writes wait until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    async def store_traces(self, traces: Sequence[Trace]) -> None:
        self.entered.set()
        while not self.release.is_set():
            await asyncio.sleep(0.005)
        await super().store_traces(traces)


def test_a_burst_of_100x_the_buffer_keeps_memory_bounded_and_books_balanced() -> None:
    """Guarantee: under a burst 100x the buffer with storage stuck, memory stays bounded by
    the buffer (excess dropped as `buffer_full`) and produced = stored + dropped exactly."""
    buffer_size = 50
    storage = BlockingStorage()
    manager = TraceManager(storage, buffer_size=buffer_size, batch_size=10, flush_interval=0.01)
    _one(manager, -1)  # the writer takes this and blocks in storage
    assert storage.entered.wait(5)
    one_trace = 40_000  # generous bytes per queued trace (16 KiB input plus records)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for i in range(100 * buffer_size):
            with manager.trace(f"b{i}", input="x" * 16_384) as trace:
                with manager.run("tool", ToolRecord, tool_name="x", output="y" * 512):
                    pass
            del trace
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < buffer_size * one_trace * 2  # 100x the buffer kept would be ~80 MB
    storage.release.set()
    assert manager.flush(20)
    stats = manager.stats
    produced = 100 * buffer_size + 1
    assert stats["traces_finished"] == produced
    assert stats["writer"]["dropped"]["buffer_full"] >= 90 * buffer_size
    assert produced == len(storage._traces) + stats["writer"]["dropped_total"]
    manager.close()
