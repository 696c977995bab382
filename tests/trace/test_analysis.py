"""TraceAnalyzer: the spec's Performance Analysis snippet as written, and each figure's
definition, on the real in-memory storage, a real SQLite file, and a custom backend
that only answers `query_traces`/`query_runs` (the Python defaults)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
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
    TraceAnalyzer,
    TraceFilter,
    TraceManager,
    TraceStorage,
    set_trace_manager,
)
from myagent.trace.analysis import MAX_BUCKETS
from myagent.trace.records import RunRecord
from myagent.trace.setup import reset_trace_manager
from myagent.trace.stats import percentile, percentile_rank
from myagent.trace.storage import sqlite as sqlite_module
from myagent.trace.storage import sqlite_analytics

BASE = datetime(2026, 1, 1, tzinfo=UTC)


class ListStorage(TraceStorage):
    """A custom backend: keeps traces in a list and filters them itself, no aggregates."""

    def __init__(self) -> None:
        self.inner = InMemoryTraceStorage()

    async def store_trace(self, trace: Trace) -> None:
        await self.inner.store_trace(trace)

    async def query_traces(
        self,
        filter: TraceFilter | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        order_by: str = "-start_time",
    ) -> list[Trace]:
        return await self.inner.query_traces(filter, limit=limit, offset=offset, order_by=order_by)

    async def query_runs(
        self, filter: RunFilter | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[RunRecord]:
        return await self.inner.query_runs(filter, limit=limit, offset=offset)


def make_storage(kind: str, folder: Path) -> TraceStorage:
    if kind == "memory":
        return InMemoryTraceStorage()
    if kind == "sqlite":
        return SQLiteTraceStorage(folder / "t.db")
    return ListStorage()


@pytest.fixture(params=["memory", "sqlite", "custom"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TraceStorage]:
    store = make_storage(request.param, tmp_path)
    yield store
    asyncio.run(store.close())


def trace(
    n: int,
    agent: str,
    *,
    seconds: float,
    status: str = "success",
    tools: Sequence[tuple[str, float, bool]] = (),
    tokens: int = 100,
    cost: float | None = 0.25,
    error: str | None = None,
    at: float = 0.0,
) -> Trace:
    """A finished trace made by hand: a think record then the given tool calls."""
    start = BASE + timedelta(seconds=at or n)
    t = Trace(trace_id=f"{n:032x}", name="run", agent_name=agent, status=status, error=error)
    t.start_time = start
    t.end_time = start + timedelta(seconds=seconds)
    think = ThinkRecord(
        trace_id=t.trace_id,
        run_id=f"{n:08x}00000000",
        tokens_used=tokens,
        cost_usd=cost,
        model="gpt-4o",
    )
    think.start_time = think.end_time = start
    t.runs.append(think)
    for i, (name, took, ok) in enumerate(tools):
        tool = ToolRecord(
            trace_id=t.trace_id, run_id=f"{n:08x}{i + 1:08x}", tool_name=name, name=name, success=ok
        )
        if not ok:
            tool.error, tool.error_type = f"TimeoutError: {name} timed out", "TimeoutError"
        tool.start_time = start
        tool.end_time = start + timedelta(seconds=took)
        t.runs.append(tool)
    return t


def store(storage: TraceStorage, traces: list[Trace]) -> None:
    asyncio.run(storage.store_traces(traces))


def test_performance_analysis_snippet(
    manager: TraceManager, capsys: pytest.CaptureFixture[str]
) -> None:
    for city in ("NYC", "Paris", "Rome"):  # given: runs of the agent, through the manager
        with manager.trace("run", agent_name="weather-agent", input=city):
            with manager.run("get_weather", "tool", tool_name="get_weather") as rec:
                rec.output = "Sunny"

    from myagent.trace import TraceAnalyzer

    analyzer = TraceAnalyzer()

    # Analyze agent performance
    stats = analyzer.analyze_agent_performance("weather-agent")
    print(f"Average response time: {stats.avg_response_time}s")
    print(f"Success rate: {stats.success_rate}%")
    print(f"Most used tool: {stats.most_used_tool}")

    # Tool usage statistics
    tool_stats = analyzer.analyze_tool_usage()
    for tool_name, usage in tool_stats.items():
        print(f"{tool_name}: {usage.call_count} calls, {usage.avg_duration}s avg")

    out = capsys.readouterr().out
    assert "Success rate: 100.0%" in out and "Most used tool: get_weather" in out
    assert "get_weather: 3 calls" in out


def test_performance_analysis_snippet_on_sqlite(sqlite_manager: TraceManager) -> None:
    with sqlite_manager.trace("run", agent_name="weather-agent"):
        with sqlite_manager.run("get_weather", "tool", tool_name="get_weather"):
            pass
    analyzer = TraceAnalyzer()
    stats = analyzer.analyze_agent_performance("weather-agent")
    assert (stats.trace_count, stats.success_rate, stats.most_used_tool) == (
        1,
        100.0,
        "get_weather",
    )
    assert analyzer.analyze_tool_usage()["get_weather"].call_count == 1


def test_agent_figures(storage: TraceStorage) -> None:
    store(
        storage,
        [
            trace(1, "w", seconds=1.0, tools=[("get_weather", 0.5, True)]),
            # recovered from a failed tool: success, but it has errors
            trace(2, "w", seconds=2.0, tools=[("get_weather", 0.2, False), ("search", 1, True)]),
            trace(3, "w", seconds=4.0, status="error", error="ValueError: bad", cost=None),
            trace(4, "w", seconds=3.0, tools=[("search", 1, True), ("search", 1, True)]),
            trace(5, "other", seconds=9.0),
        ],
    )
    stats = TraceAnalyzer(storage).analyze_agent_performance("w")
    assert stats.agent_name == "w"
    assert (stats.trace_count, stats.success_count, stats.error_count) == (4, 3, 2)
    assert stats.success_rate == 75.0
    assert stats.avg_response_time == 2.5
    assert (stats.p50_response_time, stats.p95_response_time, stats.p99_response_time) == (
        2.0,
        4.0,
        4.0,
    )
    assert (stats.total_tokens, stats.tokens_per_trace) == (400, 100.0)
    assert stats.total_cost == pytest.approx(0.75) and stats.cost_per_trace == pytest.approx(0.1875)
    # tool usage counts traces: search is in 2 traces (3 calls), get_weather in 2
    assert stats.tool_usage == {"get_weather": 2, "search": 2}
    assert stats.most_used_tool == "get_weather"  # a tie goes to the first name
    assert TraceAnalyzer(storage).analyze_agent_performance("nobody").trace_count == 0


def test_running_traces_are_left_out(storage: TraceStorage) -> None:
    running = trace(1, "w", seconds=1.0)
    running.status, running.end_us = "running", None
    store(storage, [running, trace(2, "w", seconds=2.0)])
    stats = TraceAnalyzer(storage).analyze_agent_performance("w")
    assert (stats.trace_count, stats.avg_response_time) == (1, 2.0)


def test_tool_usage_table(storage: TraceStorage) -> None:
    store(
        storage,
        [
            trace(
                1, "a", seconds=5, tools=[("get_weather", 0.5, True), ("get_weather", 1.5, False)]
            ),
            trace(2, "b", seconds=5, tools=[("get_weather", 1.0, True), ("search", 2.0, True)]),
        ],
    )
    table = TraceAnalyzer(storage).analyze_tool_usage()
    assert list(table) == ["get_weather", "search"]
    weather = table["get_weather"]
    assert (weather.call_count, weather.success_count, weather.error_count) == (3, 2, 1)
    assert weather.success_rate == pytest.approx(200 / 3)
    assert (weather.avg_duration, weather.p50_duration, weather.p95_duration) == (1.0, 1.0, 1.5)
    assert weather.total_duration == 3.0
    only_b = TraceAnalyzer(storage).analyze_tool_usage(agent_name="b")
    assert only_b["get_weather"].call_count == 1
    assert TraceAnalyzer(storage).analyze_tool_usage(RunFilter(errors_only=True)) == {
        "get_weather": table["get_weather"].__class__(
            tool_name="get_weather",
            call_count=1,
            error_count=1,
            avg_duration=1.5,
            p50_duration=1.5,
            p95_duration=1.5,
            p99_duration=1.5,
            total_duration=1.5,
        )
    }


def test_time_series_buckets_and_gaps(storage: TraceStorage) -> None:
    store(
        storage,
        [
            trace(1, "a", seconds=1, at=10),
            trace(2, "a", seconds=3, at=50, status="error", error="boom"),
            trace(3, "a", seconds=2, at=190),  # two empty minutes between
        ],
    )
    analyzer = TraceAnalyzer(storage)
    series = analyzer.time_series(timedelta(minutes=1))
    assert [b.start for b in series] == [BASE + timedelta(minutes=m) for m in range(4)]
    assert [b.trace_count for b in series] == [2, 0, 0, 1]
    first = series[0]
    assert (first.success_rate, first.error_count, first.avg_response_time) == (50.0, 1, 2.0)
    assert (first.p50_response_time, first.p99_response_time) == (1.0, 3.0)
    assert len(analyzer.time_series(60, fill=False)) == 2
    window = analyzer.time_series(60, start_time=BASE, end_time=BASE + timedelta(minutes=5))
    assert len(window) == 6
    with pytest.raises(ValueError, match="buckets"):
        analyzer.time_series(1e-6, start_time=BASE, end_time=BASE + timedelta(seconds=MAX_BUCKETS))


def test_error_groups(storage: TraceStorage) -> None:
    store(
        storage,
        [
            trace(1, "a", seconds=1, tools=[("get_weather", 1, False)]),
            trace(2, "a", seconds=1, tools=[("get_weather", 1, False), ("get_weather", 1, False)]),
            trace(3, "a", seconds=1, status="error", error="ValueError: bad input"),
            trace(4, "b", seconds=1, tools=[("search", 1, False)]),
            trace(5, "a", seconds=1),
        ],
    )
    groups = TraceAnalyzer(storage).analyze_errors(agent_name="a", examples=1)
    assert [(g.error_type, g.message, g.count, g.trace_count) for g in groups] == [
        ("TimeoutError", "get_weather timed out", 3, 2),
        ("ValueError", "bad input", 1, 1),
    ]
    assert groups[0].variants == [{"message": "get_weather timed out", "count": 3}]
    assert groups[0].example_trace_ids == [f"{2:032x}"]  # the most recent failure
    assert (groups[0].kinds, groups[0].names) == (["tool"], ["get_weather"])
    assert (groups[1].kinds, groups[1].names) == (["trace"], ["run"])
    assert groups[0].first_seen == BASE + timedelta(seconds=1)
    assert TraceAnalyzer(storage).analyze_errors(TraceFilter(has_errors=False)) == []


def test_percentile_is_nearest_rank() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    assert [percentile(values, p) for p in (0, 10, 11, 50, 95, 99, 100)] == [
        1.0,
        1.0,
        2.0,
        5.0,
        10.0,
        10.0,
        10.0,
    ]
    assert percentile_rank(20, 95) == 19 and percentile_rank(1, 50) == 1
    assert percentile([], 50) == 0.0
    with pytest.raises(ValueError):
        percentile_rank(10, 101)


async def test_async_twins(storage: TraceStorage) -> None:
    await storage.store_traces([trace(1, "a", seconds=1, tools=[("calc", 1, True)])])
    analyzer = TraceAnalyzer(storage)
    assert (await analyzer.aanalyze_agent_performance("a")).trace_count == 1
    assert analyzer.analyze_agent_performance("a").trace_count == 1  # sync inside the loop
    assert list(await analyzer.aanalyze_tool_usage()) == ["calc"]
    assert len(await analyzer.atime_series(60)) == 1
    assert await analyzer.aanalyze_errors() == []
    assert (await analyzer.aanalyze_traces()).trace_count == 1


def test_analyzer_defaults_to_the_global_manager(tmp_path: Path) -> None:
    manager = TraceManager(SQLiteTraceStorage(tmp_path / "t.db"), async_storage=True)
    set_trace_manager(manager)
    try:
        with manager.trace("run", agent_name="a"):
            pass
        assert TraceAnalyzer().analyze_agent_performance("a").trace_count == 1  # flushed first
    finally:
        manager.close(timeout=5)
        reset_trace_manager()


def _plan(storage: SQLiteTraceStorage, sql: str, params: Sequence[object]) -> str:
    rows = storage._conn().execute("EXPLAIN QUERY PLAN " + sql, list(params)).fetchall()
    return " | ".join(str(r[3]) for r in rows)


def test_sqlite_aggregates_read_covering_indexes(tmp_path: Path) -> None:
    storage = SQLiteTraceStorage(tmp_path / "t.db")
    store(storage, [trace(i, "a", seconds=i, tools=[("calc", 1, True)]) for i in range(1, 5)])
    where, params = sqlite_module.trace_where(TraceFilter(agent_names=["a"]), storage._conn())
    agent = _plan(
        storage,
        f"SELECT COUNT(*), SUM(tokens_used), SUM(cost_usd), SUM(has_errors) FROM traces "
        f"WHERE ({where}) AND status != 'running'",
        params,
    )
    assert "COVERING INDEX ix_traces_agent_stats" in agent
    walk = _plan(
        storage,
        f"SELECT duration FROM traces WHERE ({where}) AND duration IS NOT NULL "
        "ORDER BY duration LIMIT 1 OFFSET 2",
        params,
    )
    assert "ix_traces_agent_stats" in walk and "TEMP B-TREE" not in walk
    tools = _plan(
        storage,
        "SELECT r.tool_name, COUNT(*), SUM(r.success), SUM(r.duration_us) FROM runs r "
        "WHERE r.tool_name IS NOT NULL GROUP BY r.tool_name",
        [],
    )
    # (a virtual column in an index: the table seek is deferred and never taken, though
    # the plan does not say COVERING)
    assert "INDEX ix_runs_tool" in tools and "TEMP B-TREE" not in tools
    tool_walk = _plan(
        storage,
        "SELECT r.duration_us FROM runs r WHERE r.tool_name IS NOT NULL AND r.tool_name = ? "
        "AND r.duration_us IS NOT NULL ORDER BY r.duration_us LIMIT 1 OFFSET 1",
        ["calc"],
    )
    assert "INDEX ix_runs_tool_stats" in tool_walk and "TEMP B-TREE" not in tool_walk
    where, params = sqlite_module.run_where(RunFilter(start_time=BASE))
    window = _plan(
        storage,
        f"SELECT r.duration_us FROM runs r INDEXED BY ix_runs_tool WHERE ({where}) "
        "AND r.tool_name IS NOT NULL AND r.tool_name = ?",
        [*params, "calc"],
    )
    assert "INDEX ix_runs_tool (tool_name=? AND start_us>?)" in window
    storage.close_sync()


@pytest.mark.parametrize("narrow", [0.0, 1.0], ids=["duration-index", "time-ranges"])
def test_sqlite_tool_table_plans_agree_with_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, narrow: float
) -> None:
    """A windowed tool table is read along the duration index or range by range (the
    choice depends on the window's share of traces); both give the in-memory answer."""
    monkeypatch.setattr(sqlite_analytics, "NARROW_WINDOW", narrow)
    traces = [
        trace(i, "a" if i % 2 else "b", seconds=5, tools=[("calc", i / 10, i % 3 > 0)])
        for i in range(1, 30)
    ]
    sqlite, memory = SQLiteTraceStorage(tmp_path / "t.db"), InMemoryTraceStorage()
    store(sqlite, traces)
    store(memory, traces)
    for f in (
        RunFilter(start_time=BASE + timedelta(seconds=10)),
        RunFilter(end_time=BASE + timedelta(seconds=20), errors_only=True),
        RunFilter(start_time=BASE, end_time=BASE + timedelta(seconds=12), tool_names=["calc"]),
        RunFilter(start_time=BASE, agent_names=["a"]),
    ):
        assert TraceAnalyzer(sqlite).analyze_tool_usage(f) == TraceAnalyzer(
            memory
        ).analyze_tool_usage(f), f
    sqlite.close_sync()
