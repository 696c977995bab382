"""Facets (filter values with trace counts) on memory, a SQLite file and PostgreSQL: the
counts follow inserts, rewrites of running traces and deletes; matching ranks prefixes
first; an existing SQLite file is counted when it gains the facet table."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from myagent.trace import InMemoryTraceStorage, SQLiteTraceStorage, TraceStorage
from myagent.trace.facets import FacetValue, rank_facets
from myagent.trace.records import ThinkRecord, ToolRecord, Trace


def trace(trace_id: str, agent: str, model: str, tools: list[str], tags: list[str]) -> Trace:
    t = Trace(trace_id=trace_id, name=f"run {trace_id}", agent_name=agent, tags=tags)
    t.start_us, t.end_us, t.status = 1_000_000, 2_000_000, "success"
    think = ThinkRecord(trace_id=trace_id, name="think", model=model)
    think.start_us, think.end_us = 1_000_000, 1_500_000
    t.runs.append(think)
    for i, tool in enumerate(tools):
        run = ToolRecord(trace_id=trace_id, name=tool, tool_name=tool)
        run.run_id = f"{trace_id}-{i}"
        run.start_us, run.end_us = 1_500_000, 1_600_000
        t.runs.append(run)
    return t


async def exercise(storage: TraceStorage) -> None:
    await storage.store_traces(
        [
            trace("a1", "weather_agent", "gpt-4o", ["get_weather", "get_weather"], ["prod"]),
            trace("a2", "weather_agent", "gpt-4o-mini", ["get_weather"], ["prod", "eu"]),
            trace("a3", "math_agent", "gpt-4o", ["calculator"], ["dev"]),
        ]
    )
    assert await storage.facet_values("agent") == [
        FacetValue("weather_agent", 2),
        FacetValue("math_agent", 1),
    ]
    assert await storage.facet_values("tool") == [
        FacetValue("get_weather", 2),
        FacetValue("calculator", 1),
    ]
    assert await storage.facet_values("tag", search="PR") == [FacetValue("prod", 2)]
    # "weather" is contained, not typed exactly: the combobox still finds the agent.
    assert await storage.facet_values("agent", search="weather") == [FacetValue("weather_agent", 2)]
    # Prefix matches come before those containing the text elsewhere, whatever the counts.
    assert [v.value for v in await storage.facet_values("model", search="gpt-4o-")] == [
        "gpt-4o-mini"
    ]
    # A trace written again (a running trace's progress, a renamed agent) moves its counts.
    await storage.store_traces([trace("a3", "calc_agent", "gpt-4o", ["calculator"], ["dev"])])
    assert await storage.facet_values("agent") == [
        FacetValue("weather_agent", 2),
        FacetValue("calc_agent", 1),
    ]
    assert await storage.delete_traces(["a1", "a2"]) == 2
    assert await storage.facet_values("tool") == [FacetValue("calculator", 1)]
    assert await storage.facet_values("tag") == [FacetValue("dev", 1)]


async def test_facets_in_memory() -> None:
    await exercise(InMemoryTraceStorage())


async def test_facets_in_sqlite(tmp_path: Path) -> None:
    storage = SQLiteTraceStorage(tmp_path / "t.db")
    try:
        await exercise(storage)
    finally:
        await storage.close()


async def test_facets_in_postgres(postgres_storage: Any) -> None:
    await exercise(postgres_storage)


async def test_an_existing_sqlite_file_gets_its_facets_counted(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    storage = SQLiteTraceStorage(path)
    await storage.store_traces([trace("b1", "old_agent", "m1", ["t"], ["x", "x"])])
    await storage.close()
    with sqlite3.connect(path) as conn:  # as a file from before the facet table was
        conn.execute("DROP TABLE trace_facets")
        for name in ("insert", "delete", "update"):
            conn.execute(f"DROP TRIGGER IF EXISTS tr_trace_facets_{name}")
        conn.execute("DROP INDEX ix_runs_agent_tool")  # and before 11 (records' agent)
        conn.execute("ALTER TABLE runs DROP COLUMN trace_agent")
        conn.execute("PRAGMA user_version = 9")  # before migration 10 (facets)
    reopened = SQLiteTraceStorage(path)
    try:
        assert await reopened.facet_values("agent") == [FacetValue("old_agent", 1)]
        assert await reopened.facet_values("tag") == [FacetValue("x", 1)]
    finally:
        await reopened.close()


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        (None, ["b_tool", "a_tool", "get_a"]),
        ("a", ["a_tool", "get_a"]),
        ("t", ["b_tool", "a_tool", "get_a"]),
        ("get", ["get_a"]),
        ("zzz", []),
    ],
)
def test_rank_facets_prefix_then_count(search: str | None, expected: list[str]) -> None:
    counts = [("a_tool", 2), ("b_tool", 5), ("get_a", 1), ("unused", 0)]
    assert [v.value for v in rank_facets(counts, search)] == expected
