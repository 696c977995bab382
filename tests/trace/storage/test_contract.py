"""The contract every storage backend passes (parametrised over the real backends)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from myagent.trace import (
    InMemoryTraceStorage,
    RunFilter,
    SQLiteTraceStorage,
    ThinkRecord,
    ToolRecord,
    Trace,
    TraceFilter,
    TraceStorage,
)
from myagent.trace.storage.health import WriterHealth

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def make_trace(i: int, *, agent: str = "a", fail_tool: bool = False, minutes: int = 0) -> Trace:
    start = BASE + timedelta(minutes=minutes or i)
    trace = Trace(name=agent, agent_name=agent, input=f"question {i}", session_id=f"s{i % 2}")
    trace.start_time = start
    think = ThinkRecord(name="think", trace_id=trace.trace_id, model="m", tokens_used=10 * i)
    think.start_time, think.end_time = start, start + timedelta(seconds=1)
    tool = ToolRecord(
        name="get_weather",
        trace_id=trace.trace_id,
        parent_id=think.run_id,
        tool_name="get_weather",
        input_params={"location": "NYC"},
        output="Sunny",
    )
    tool.start_time, tool.end_time = start + timedelta(seconds=1), start + timedelta(seconds=2)
    if fail_tool:
        tool.success, tool.error, tool.error_type = False, "ValueError: bad", "ValueError"
    trace.runs += [think, tool]
    trace.output = f"answer {i}"
    trace.status = "success"
    trace.end_time = start + timedelta(seconds=i + 2)
    return trace


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TraceStorage]:
    backend: TraceStorage = (
        InMemoryTraceStorage()
        if request.param == "memory"
        else SQLiteTraceStorage(tmp_path / "c.db")
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_storage")
    )
    yield backend
    await backend.close()


async def test_store_and_get_whole(storage: TraceStorage) -> None:
    trace = make_trace(1)
    await storage.store_trace(trace)
    again = await storage.get_trace(trace.trace_id)
    assert again is not None
    assert again.to_dict() == trace.to_dict()
    assert await storage.get_trace("missing") is None


async def test_store_twice_is_idempotent(storage: TraceStorage) -> None:
    trace = make_trace(1)
    await storage.store_traces([trace])
    trace.output = "changed"
    await storage.store_traces([trace])
    assert await storage.count_traces() == 1
    assert await storage.count_runs() == 2
    again = await storage.get_trace(trace.trace_id)
    assert again is not None and again.output == "changed"


async def test_partial_then_final(storage: TraceStorage) -> None:
    trace = make_trace(1)
    final_runs = list(trace.runs)
    trace.runs = final_runs[:1]
    trace.status, trace.end_us = "running", None
    await storage.store_partial([trace])
    partial = await storage.get_trace(trace.trace_id)
    assert partial is not None and partial.status == "running" and len(partial.runs) == 1
    trace.runs = final_runs
    trace.status = "success"
    trace.end_time = trace.start_time + timedelta(seconds=3)
    await storage.store_traces([trace])
    final = await storage.get_trace(trace.trace_id)
    assert final is not None and final.status == "success" and len(final.runs) == 2


async def test_basic_queries(storage: TraceStorage) -> None:
    traces = [make_trace(i, agent="a" if i < 3 else "b", fail_tool=i == 4) for i in range(1, 6)]
    await storage.store_traces(traces)
    newest_first = await storage.query_traces()
    assert [t.trace_id for t in newest_first] == [t.trace_id for t in reversed(traces)]
    oldest_first = await storage.query_traces(order_by="start_time", limit=2, offset=1)
    assert [t.trace_id for t in oldest_first] == [traces[1].trace_id, traces[2].trace_id]
    assert await storage.count_traces(TraceFilter(agent_names=["a"])) == 2
    errors = await storage.query_traces(TraceFilter(has_errors=True))
    assert [t.trace_id for t in errors] == [traces[3].trace_id]
    by_session = await storage.query_traces(TraceFilter(session_ids=["s0"]), order_by="start_time")
    assert [t.trace_id for t in by_session] == [traces[1].trace_id, traces[3].trace_id]
    window = TraceFilter(
        start_time=BASE + timedelta(minutes=2), end_time=BASE + timedelta(minutes=3)
    )
    assert await storage.count_traces(window) == 2
    assert await storage.count_traces(TraceFilter(min_duration=5.5)) == 2
    assert await storage.count_traces(TraceFilter(tools_used=["get_weather"])) == 5
    assert await storage.count_traces(TraceFilter(text="question 3")) >= 1
    tools = await storage.query_runs(RunFilter(tool_names=["get_weather"], errors_only=True))
    assert [r.trace_id for r in tools] == [traces[3].trace_id]
    assert await storage.count_runs(RunFilter(run_types=["think"])) == 5


async def test_delete_and_retention(storage: TraceStorage) -> None:
    traces = [make_trace(i) for i in range(1, 11)]
    await storage.store_traces(traces)
    assert await storage.delete_traces([traces[0].trace_id, "missing"]) == 1
    assert await storage.count_traces() == 9
    assert await storage.count_runs() == 18
    deleted = await storage.cleanup(older_than=BASE + timedelta(minutes=4))
    assert deleted == 2  # minutes 2 and 3
    deleted = await storage.cleanup(max_count=3)
    assert deleted == 4
    kept = await storage.query_traces(order_by="start_time")
    assert [t.trace_id for t in kept] == [t.trace_id for t in traces[-3:]]  # the newest stay
    assert await storage.count_runs() == 6


async def test_writer_stats_are_upserted_by_writer_id(storage: TraceStorage) -> None:
    first = WriterHealth("w1", "host-a", 10, 1_000, 2_000, submitted=5, written=3)
    first.dropped = {"buffer_full": 2}
    await storage.store_writer_stats(first)
    other = WriterHealth("w2", "host-b", 11, 1_500, 2_500, write_errors=1, last_error="boom")
    await storage.store_writer_stats(other)
    first.updated_us, first.written, first.closed = 3_000, 5, True
    first.dropped = {"buffer_full": 2, "write_failed": 4}
    await storage.store_writer_stats(first)  # the same writer again: replaced, not added
    found = await storage.writer_stats()
    assert [h.as_dict() for h in found] == [first.as_dict(), other.as_dict()]  # newest first
    assert [h.writer_id for h in await storage.writer_stats(limit=1)] == ["w1"]
