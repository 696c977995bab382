"""The background writer: faults in storage never reach the traced program."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence

import pytest

from myagent.trace import InMemoryTraceStorage, Trace, TraceManager, TraceStorage, trace_run


class RaisingStorage(TraceStorage):
    """Every call fails."""

    supports_partial = True

    async def store_trace(self, trace: Trace) -> None:
        raise OSError("disk on fire")

    async def store_partial(self, traces: Sequence[Trace]) -> None:
        raise OSError("disk on fire")

    async def query_traces(self, *args: object, **kwargs: object) -> list[Trace]:
        raise OSError("disk on fire")


class HangingStorage(TraceStorage):
    """Every write blocks its thread (a sync hang cannot be cancelled)."""

    def __init__(self) -> None:
        self.release = threading.Event()

    async def store_trace(self, trace: Trace) -> None:
        self.release.wait(30)


class AsyncHangingStorage(TraceStorage):
    """Every write awaits forever (cancellable by the writer's timeout)."""

    async def store_trace(self, trace: Trace) -> None:
        await asyncio.sleep(3600)


class FlakyStorage(InMemoryTraceStorage):
    """Fails the first `failures` batches, then works."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.calls = 0

    async def store_traces(self, traces: Sequence[Trace]) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise OSError("transient")
        await super().store_traces(traces)


def _workload(manager: TraceManager, n: int) -> list[int]:
    @trace_run
    def work(i: int) -> int:
        return i * i

    results = []
    for i in range(n):
        with manager.trace("job", agent_name="a", input=i):
            results.append(work(i))
    return results


def test_raising_storage_is_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    manager = TraceManager(RaisingStorage(), write_retries=1, flush_interval=0.05)
    caplog.set_level(logging.WARNING, logger="myagent.trace")
    try:
        assert _workload(manager, 50) == [i * i for i in range(50)]
        for _ in range(3):
            manager.flush(timeout=2)
        stats = manager.stats["writer"]
        assert stats["write_errors"] >= 2
        assert stats["dropped"].get("write_failed", 0) >= 1
        write_warnings = [r for r in caplog.records if "tracing: write failed" in r.getMessage()]
        assert len(write_warnings) == 1
        # Queries through a broken storage fail loudly to the caller who asked for them.
        with pytest.raises(OSError):
            manager.get_all_traces()
    finally:
        manager.close(timeout=2)


def test_hanging_storage_flush_returns_within_timeout() -> None:
    storage = HangingStorage()
    manager = TraceManager(storage, flush_interval=0.05)
    try:
        assert _workload(manager, 20) == [i * i for i in range(20)]
        started = time.monotonic()
        assert manager.flush(timeout=0.3) is False
        assert time.monotonic() - started < 5  # generous bound; the point is "returns"
    finally:
        storage.release.set()
        manager.close(timeout=2)


def test_async_hang_is_cut_by_the_write_timeout() -> None:
    manager = TraceManager(AsyncHangingStorage(), flush_interval=0.05, write_retries=0)
    manager._writer.write_timeout = 0.1
    try:
        _workload(manager, 3)
        manager.flush(timeout=2)
        assert manager.stats["writer"]["write_errors"] >= 1
        assert "TimeoutError" in (manager.stats["writer"]["last_error"] or "")
    finally:
        manager.close(timeout=2)


def test_failed_batches_are_retried_without_duplicates() -> None:
    storage = FlakyStorage(failures=2)
    manager = TraceManager(storage, flush_interval=0.05, write_retries=3)
    try:
        _workload(manager, 10)
        deadline = time.monotonic() + 10
        while len(storage) < 10 and time.monotonic() < deadline:
            manager.flush(timeout=1)
        assert len(storage) == 10
        stats = manager.stats["writer"]
        assert stats["written"] == 10
        assert stats["dropped_total"] == 0
    finally:
        manager.close(timeout=2)


def test_full_buffer_drops_and_counts_exactly(caplog: pytest.LogCaptureFixture) -> None:
    storage = HangingStorage()
    manager = TraceManager(storage, buffer_size=10, batch_size=1000, flush_interval=30)
    caplog.set_level(logging.WARNING, logger="myagent.trace")
    try:
        _workload(manager, 100)
        stats = manager.stats
        dropped = stats["writer"]["dropped"]["buffer_full"]
        assert dropped == 100 - 10
        assert stats["traces_finished"] == 100
        drop_warnings = [r for r in caplog.records if "dropped" in r.getMessage()]
        assert len(drop_warnings) == 1
    finally:
        storage.release.set()
        manager.close(timeout=2)


def test_sync_mode_writes_before_end_trace_returns() -> None:
    storage = InMemoryTraceStorage()
    storage.supports_partial = False
    manager = TraceManager(storage, async_storage=False, flush_interval=30)
    try:
        with manager.trace("now") as trace:
            pass
        assert trace.trace_id in storage._traces
    finally:
        manager.close()


def test_sinks_get_every_trace_and_a_hanging_sink_blocks_nothing() -> None:
    storage = InMemoryTraceStorage()
    collected = InMemoryTraceStorage()
    hanging = HangingStorage()
    manager = TraceManager(storage, flush_interval=0.05)
    manager.add_sink(collected, "collector")
    manager.add_sink(hanging, "stuck")
    try:
        _workload(manager, 20)
        deadline = time.monotonic() + 10
        while (len(storage) < 20 or len(collected) < 20) and time.monotonic() < deadline:
            manager._writer.flush(timeout=1)
            manager._sinks["collector"].flush(timeout=1)
        assert len(storage) == 20 and len(collected) == 20
        assert manager.flush(timeout=0.2) is False  # the stuck sink is reported, not waited on
        assert set(manager.stats["sinks"]) == {"collector", "stuck"}
    finally:
        hanging.release.set()
        manager.close(timeout=2)
