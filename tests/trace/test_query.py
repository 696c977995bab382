"""TraceQueryEngine: the spec's query snippets as written, and the engine's own promises,
on the real in-memory storage and a real SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from myagent.trace import (
    InMemoryTraceStorage,
    RunFilter,
    SQLiteTraceStorage,
    ToolRecord,
    Trace,
    TraceFilter,
    TraceManager,
    TraceQueryEngine,
    set_trace_manager,
)
from myagent.trace.setup import reset_trace_manager
from myagent.trace.storage import sqlite as sqlite_module
from myagent.trace.storage import sqlite_sql


@pytest.fixture(params=["memory", "sqlite"])
def any_manager(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TraceManager]:
    """The global TraceManager over the in-memory storage, then over a SQLite file."""
    storage = (
        InMemoryTraceStorage()
        if request.param == "memory"
        else SQLiteTraceStorage(tmp_path / "t.db")
    )
    manager = TraceManager(storage)
    set_trace_manager(manager)
    yield manager
    manager.close(timeout=5)
    reset_trace_manager()


def record(
    manager: TraceManager,
    agent: str,
    text: str,
    *,
    tool: str = "get_weather",
    slow_s: float = 0.0,
    tool_error: str | None = None,
    fail: str | None = None,
    session: str | None = None,
    tags: list[str] | None = None,
) -> Trace:
    """One agent run recorded through the manager: a think record choosing a tool, the
    tool call. `slow_s` backdates the starts to stand for a slow run without sleeping."""
    try:
        with manager.trace("run", agent_name=agent, input=text, session_id=session, tags=tags) as t:
            t.start_us -= int(slow_s * 1_000_000)
            with manager.run("think", "think", model="gpt-4o-mini", tokens_used=150):
                pass
            try:  # a failed tool call; the agent carries on (and can still succeed)
                with manager.run(
                    tool, "tool", tool_name=tool, input_params={"location": text}
                ) as r:
                    r.start_us -= int(slow_s * 1_000_000 * 0.6)
                    r.output = f"Sunny in {text}"
                    if tool_error:
                        raise ValueError(tool_error)
            except ValueError:
                pass
            if fail:
                raise RuntimeError(fail)
            t.output = "It is sunny"
    except RuntimeError:
        pass
    return t


def test_basic_queries_snippet(any_manager: TraceManager) -> None:
    record(any_manager, "weather-agent", "NYC")  # given: traces to find
    record(any_manager, "weather-agent", "Paris", fail="agent gave up")
    record(any_manager, "calculator-agent", "2+2")

    from datetime import datetime, timedelta

    from myagent.trace import TraceQueryEngine

    engine = TraceQueryEngine()

    # Get all traces
    all_traces = engine.get_all_traces()

    # Get traces by agent
    agent_traces = engine.get_traces_by_agent("weather-agent")

    # Get traces by time range
    recent_traces = engine.get_traces_by_time_range(start_time=datetime.now() - timedelta(hours=1))

    # Get traces with errors
    error_traces = engine.get_traces_with_errors()

    assert [t.input for t in all_traces] == ["NYC", "Paris", "2+2"]
    assert [t.input for t in agent_traces] == ["NYC", "Paris"]
    assert len(recent_traces) == 3
    assert [t.input for t in error_traces] == ["Paris"]


def test_advanced_filtering_snippet(any_manager: TraceManager) -> None:
    record(any_manager, "weather-agent", "NYC", slow_s=1.5)  # given: what the filter keeps
    record(any_manager, "weather-agent", "Rome")  # too fast
    record(any_manager, "calculator-agent", "Oslo", slow_s=1.5, tool="calc")  # other tool
    record(any_manager, "weather-agent", "Lima", slow_s=1.5, tool_error="timeout")  # failed
    record(any_manager, "other-agent", "Kyiv", slow_s=1.5)  # other agent
    from datetime import datetime, timedelta  # given: the earlier snippet's imports

    from myagent.trace import TraceQueryEngine

    engine = TraceQueryEngine()

    from myagent.trace import TraceFilter

    # Create filter
    trace_filter = TraceFilter(
        agent_names=["weather-agent", "calculator-agent"],
        start_time=datetime.now() - timedelta(days=1),
        end_time=datetime.now(),
        has_errors=False,
        min_duration=1.0,  # Minimum execution time in seconds
        tools_used=["get_weather"],
    )

    # Apply filter
    filtered_traces = engine.query_traces(trace_filter)

    assert [t.input for t in filtered_traces] == ["NYC"]


def test_tool_specific_queries_snippet(any_manager: TraceManager) -> None:
    record(any_manager, "weather-agent", "NYC", slow_s=1.0)  # tool ran 0.6 s
    record(any_manager, "weather-agent", "Rome")  # too fast
    record(any_manager, "weather-agent", "Lima", slow_s=1.0, tool_error="timeout")  # failed
    from myagent.trace import TraceQueryEngine  # given: the engine of the earlier snippet

    engine = TraceQueryEngine()

    from myagent.trace import RunFilter

    # Find tool executions
    tool_filter = RunFilter(tool_names=["get_weather"], min_duration=0.5, success_only=True)

    tool_runs = engine.query_tool_runs(tool_filter)

    # Analyze tool performance
    avg_duration = sum(run.duration for run in tool_runs) / len(tool_runs)
    success_rate = sum(1 for run in tool_runs if run.success) / len(tool_runs)

    assert [r.input_params for r in tool_runs] == [{"location": "NYC"}]
    assert avg_duration >= 0.5 and success_rate == 1


def test_recorded_traces_are_visible_to_the_next_query(any_manager: TraceManager) -> None:
    any_manager.configure(async_storage=True, flush_interval=60)  # writes wait in the buffer
    engine = TraceQueryEngine()
    for i in range(5):
        record(any_manager, "a", f"q{i}")
    assert engine.count_traces() == 5


def test_has_errors_counts_recovered_runs_and_status_does_not(any_manager: TraceManager) -> None:
    recovered = record(any_manager, "a", "x", tool_error="flaky")  # tool failed, run went on
    failed = record(any_manager, "a", "y", fail="gave up")
    record(any_manager, "a", "z")
    engine = TraceQueryEngine()
    assert recovered.status == "success"
    assert {t.trace_id for t in engine.get_traces_with_errors()} == {
        recovered.trace_id,
        failed.trace_id,
    }
    assert [t.trace_id for t in engine.query_traces(TraceFilter(statuses=["error"]))] == [
        failed.trace_id
    ]


def test_sessions_ids_and_counts(any_manager: TraceManager) -> None:
    first = record(any_manager, "a", "one", session="s1")
    record(any_manager, "a", "two", session="s2")
    third = record(any_manager, "b", "three", session="s1")
    engine = TraceQueryEngine()
    assert [t.trace_id for t in engine.get_traces_by_session("s1")] == [
        first.trace_id,
        third.trace_id,
    ]
    found = engine.get_trace(third.trace_id)
    assert found is not None and found.to_dict() == third.to_dict()
    assert engine.get_trace("no-such-trace") is None
    assert engine.count_traces(TraceFilter(agent_names=["a"])) == 2
    assert engine.count_runs() == 6
    assert engine.count_runs(RunFilter(run_types=["think"])) == 3
    assert engine.count_tool_runs() == 3


def test_query_tool_runs_returns_only_tool_records(any_manager: TraceManager) -> None:
    record(any_manager, "a", "one")
    engine = TraceQueryEngine()
    runs = engine.query_tool_runs()
    assert len(runs) == 1 and all(isinstance(r, ToolRecord) for r in runs)
    assert engine.query_tool_runs(RunFilter(run_types=["think"])) == []


def test_order_by_limit_offset_and_bad_order(any_manager: TraceManager) -> None:
    made = [record(any_manager, "a", f"q{i}", slow_s=i * 0.1) for i in range(4)]
    engine = TraceQueryEngine()
    newest_first = [t.trace_id for t in sorted(made, key=lambda t: t.start_us, reverse=True)]
    assert [t.trace_id for t in engine.query_traces()] == newest_first
    assert [t.trace_id for t in engine.query_traces(limit=2, offset=1)] == newest_first[1:3]
    slowest = engine.query_traces(order_by="-duration", limit=1)
    assert slowest[0].trace_id == made[3].trace_id
    with pytest.raises(ValueError, match="order_by"):
        engine.query_traces(order_by="name")


def test_search_covers_inputs_outputs_and_errors(any_manager: TraceManager) -> None:
    by_input = record(any_manager, "a", "Weather in Zürich")
    by_error = record(any_manager, "a", "Rome", tool_error="Upstream TIMEOUT_reached")
    by_trace_error = record(any_manager, "a", "Oslo", fail="quota exhausted")
    engine = TraceQueryEngine()
    assert [t.trace_id for t in engine.search("zurich")] == [by_input.trace_id]  # diacritics
    assert [t.trace_id for t in engine.search("ZÜR")] == [by_input.trace_id]  # prefix, case
    assert [t.trace_id for t in engine.search("timeout reached")] == [by_error.trace_id]
    assert [t.trace_id for t in engine.search("quota")] == [by_trace_error.trace_id]
    # trace outputs are searched ("It is sunny"), tool outputs ("Sunny in Oslo") are not
    assert {t.trace_id for t in engine.search("sunny")} == {by_input.trace_id, by_error.trace_id}
    assert engine.search("sunny oslo") == []
    assert [t.trace_id for t in engine.search("sun", TraceFilter(has_errors=False))] == [
        by_input.trace_id
    ]
    assert engine.count_search("sunny") == 2
    assert engine.search("nothing-like-this") == []


def test_sync_api_inside_a_running_event_loop_and_async_twins(any_manager: TraceManager) -> None:
    made = record(any_manager, "a", "NYC")
    engine = TraceQueryEngine()

    async def inside_loop() -> tuple[list[str], list[str], int, int]:
        sync_ids = [t.trace_id for t in engine.query_traces()]  # must not deadlock
        async_ids = [t.trace_id for t in await engine.aquery_traces()]
        return sync_ids, async_ids, await engine.acount_traces(), await engine.acount_runs()

    sync_ids, async_ids, traces, runs = asyncio.run(inside_loop())
    assert sync_ids == async_ids == [made.trace_id]
    assert (traces, runs) == (1, 2)


async def test_async_twins_agree_with_sync(any_manager: TraceManager) -> None:
    record(any_manager, "a", "one", session="s")
    record(any_manager, "b", "two", tool_error="bad")
    engine = TraceQueryEngine()
    pairs = [
        (await engine.aget_all_traces(), engine.get_all_traces()),
        (await engine.aget_traces_by_agent("a"), engine.get_traces_by_agent("a")),
        (await engine.aget_traces_by_session("s"), engine.get_traces_by_session("s")),
        (await engine.aget_traces_with_errors(), engine.get_traces_with_errors()),
        (await engine.aget_traces_by_time_range(), engine.get_traces_by_time_range()),
        (await engine.asearch("two"), engine.search("two")),
    ]
    for got_async, got_sync in pairs:
        assert [t.trace_id for t in got_async] == [t.trace_id for t in got_sync]
    assert len(await engine.aquery_tool_runs()) == len(engine.query_tool_runs()) == 2
    assert await engine.acount_tool_runs() == 2


def test_summaries_pages_and_iter_traces_cover_everything_once(any_manager: TraceManager) -> None:
    made = [record(any_manager, "a", f"q{i}") for i in range(7)]
    engine = TraceQueryEngine()
    page = engine.query_summaries(limit=3)
    assert [s.trace_id for s in page] == [t.trace_id for t in reversed(made)][:3]
    assert page[0].input_preview == "q6" and page[0].tool_count == 1
    streamed = [t.trace_id for t in engine.iter_traces(batch_size=2)]
    assert streamed == [t.trace_id for t in made]


def test_time_range_is_inclusive_on_start_times(tmp_path: Path) -> None:
    storage = SQLiteTraceStorage(tmp_path / "t.db")
    base = datetime(2026, 1, 1, tzinfo=UTC)
    traces = [Trace(trace_id=f"t{i}", status="success") for i in range(5)]
    for i, t in enumerate(traces):
        t.start_time = t.end_time = base + timedelta(seconds=i)
    asyncio.run(storage.store_traces(traces))
    engine = TraceQueryEngine(storage)
    window = engine.get_traces_by_time_range(
        base + timedelta(seconds=1), base + timedelta(seconds=3)
    )
    assert [t.trace_id for t in window] == ["t1", "t2", "t3"]
    storage.close_sync()


def _word_traces() -> list[Trace]:
    """30 traces: 'common' is in 20 of them, 'rare' in one; agents alternate."""
    out = []
    for i in range(30):
        words = ["common"] if i % 3 else []
        words += ["rare"] if i == 7 else []
        t = Trace(
            trace_id=f"{i:04d}",
            agent_name="even" if i % 2 == 0 else "odd",
            input=" ".join(words) or "nothing",
            start_us=1_767_225_600_000_000 + (i * 7919 % 30) * 1_000_000,
            status="success",
        )
        t.end_us = t.start_us + 1000 * i
        out.append(t)
    return out


@pytest.mark.parametrize(
    ("direct", "batches", "chunk", "chunks"),
    [
        (1000, (256,), 4000, 8),
        (2, (2, 3), 4000, 8),
        (2, (), 4, 8),
        (2, (), 2, 1),
    ],
    ids=["direct", "newest-first", "chunked", "chunked-gives-up"],
)
def test_sqlite_search_plans_give_the_in_memory_answers(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    direct: int,
    batches: tuple[int, ...],
    chunk: int,
    chunks: int,
) -> None:
    """Few matches are read directly; more are walked newest-first through the search
    index (start-time orders), else a chunk of the order index at a time, else tested for
    membership along the order index (each forced here by lowering its threshold); all
    return the in-memory answers."""
    monkeypatch.setattr(sqlite_sql, "FTS_DIRECT_LIMIT", direct)
    monkeypatch.setattr(sqlite_sql, "WALK_BATCHES", batches)
    monkeypatch.setattr(sqlite_sql, "FTS_CHUNK", chunk)
    monkeypatch.setattr(sqlite_sql, "FTS_MAX_CHUNKS", chunks)
    sqlite = SQLiteTraceStorage(tmp_path / "t.db")
    memory = InMemoryTraceStorage()
    for storage in (sqlite, memory):
        asyncio.run(storage.store_traces(_word_traces()))
    for f in (
        TraceFilter(text="common"),
        TraceFilter(text="rare"),
        TraceFilter(text="common", agent_names=["odd"]),
        TraceFilter(text="comm rar"),
        TraceFilter(text="commo"),  # expanded to the terms it begins: "common"
        TraceFilter(text="nosuchword"),
    ):
        for order, limit, offset in (
            ("-start_time", 5, 1),
            ("duration", 5, 1),
            ("start_time", 30, 0),
        ):
            want = TraceQueryEngine(memory).query_traces(
                f, order_by=order, limit=limit, offset=offset
            )
            got = TraceQueryEngine(sqlite).query_traces(
                f, order_by=order, limit=limit, offset=offset
            )
            assert [t.trace_id for t in got] == [t.trace_id for t in want], (f, order)
            assert TraceQueryEngine(sqlite).count_traces(f) == TraceQueryEngine(
                memory
            ).count_traces(f)
    sqlite.close_sync()


def _plan(storage: SQLiteTraceStorage, sql: str, params: list[object]) -> str:
    rows = storage._conn().execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    return " | ".join(str(r[3]) for r in rows)


def test_sqlite_filters_run_on_indexes(tmp_path: Path) -> None:
    storage = SQLiteTraceStorage(tmp_path / "t.db")
    asyncio.run(storage.store_traces(_word_traces()))
    conn = storage._conn()
    for f, index in (
        (TraceFilter(agent_names=["odd"]), "ix_traces_agent"),
        (TraceFilter(session_ids=["s"]), "ix_traces_session"),
        (TraceFilter(), "ix_traces_start"),
        (TraceFilter(has_errors=True), "ix_traces_errors"),
    ):
        where, params = sqlite_module.trace_where(f, conn)
        sql = f"SELECT trace_id FROM traces WHERE {where} ORDER BY start_us DESC LIMIT 50"
        assert index in _plan(storage, sql, params), f
    where, params = sqlite_module.run_where(RunFilter(tool_names=["get_weather"]))
    plan = _plan(storage, f"SELECT r.data FROM runs r WHERE {where} ORDER BY r.start_us", params)
    assert "ix_runs_tool" in plan
    storage.close_sync()
