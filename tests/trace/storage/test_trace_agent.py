"""Record rows carry their trace's agent name (`trace_agent`) on SQLite and PostgreSQL.

One agent's tool table reads `ix_runs_agent_tool` instead of joining every record of
the agent's traces. These tests pin what that must not change: rows written before the
column existed are filled by the migration, a trace written again under another agent
takes its records along, and every figure equals the in-memory reference's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from myagent.trace import (
    InMemoryTraceStorage,
    RunFilter,
    SQLiteTraceStorage,
    ThinkRecord,
    ToolRecord,
    Trace,
    TraceAnalyzer,
    TraceStorage,
)
from myagent.trace.storage import postgres_schema, sqlite_schema
from myagent.trace.storage.postgres import PostgresTraceStorage
from myagent.trace.storage.sqlite_sql import run_where
from myagent.trace.sync_bridge import run_sync
from tests.support.postgres import fresh_storage

AGENTS = ["alpha", "beta", None]
TOOLS = ["search", "fetch", "calc"]


def make_traces(count: int = 30) -> list[Trace]:
    """Traces of three agents (one unnamed), each with a think record and 1-3 tool calls
    of varied durations, some failed, one still running."""
    traces = []
    for i in range(count):
        trace = Trace(name=f"t{i}", agent_name=AGENTS[i % 3], start_us=1_000_000 * i)
        think = ThinkRecord(name="think", trace_id=trace.trace_id, start_us=trace.start_us)
        think.end_us = think.start_us + 500
        trace.runs.append(think)
        for k in range(1 + i % 3):
            call = ToolRecord(
                name=TOOLS[(i + k) % 3],
                tool_name=TOOLS[(i + k) % 3],
                trace_id=trace.trace_id,
                start_us=trace.start_us + 1_000 * k,
            )
            if i != 7 or k:  # one call still running: no duration
                call.end_us = call.start_us + 137 * ((i * 7 + k * 13) % 29) + 1
            call.success = (i + k) % 5 != 0
            trace.runs.append(call)
        trace.end_us = trace.start_us + 10_000
        trace.status = "success"
        traces.append(trace)
    return traces


def tool_tables(store: TraceStorage) -> dict[str, dict[str, dict[str, float]]]:
    """Each agent's tool table (and the unfiltered one, under "*"), as plain figures."""
    analyzer = TraceAnalyzer(store)
    out = {"*": {n: s.to_dict() for n, s in analyzer.analyze_tool_usage().items()}}
    for agent in ("alpha", "beta", "nobody"):
        table = analyzer.analyze_tool_usage(agent_name=agent)
        out[agent] = {n: s.to_dict() for n, s in table.items()}
    both = analyzer.analyze_tool_usage(RunFilter(agent_names=["alpha", "beta"]))
    out["alpha+beta"] = {n: s.to_dict() for n, s in both.items()}
    return out


def reference(traces: list[Trace]) -> dict[str, dict[str, dict[str, float]]]:
    memory = InMemoryTraceStorage()
    run_sync(memory.store_traces(traces))
    return tool_tables(memory)


def test_sqlite_migration_fills_the_agent_of_rows_written_before_it(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    traces = make_traces()
    SQLiteTraceStorage(db).write_traces(traces)
    # Turn the file back into one written before migration 11: no column, no index (the
    # later migrations run again on open, as they would on such a file).
    before = next(
        i for i, m in enumerate(sqlite_schema.MIGRATIONS) if "ADD COLUMN trace_agent" in m
    )
    conn = sqlite3.connect(db)
    conn.executescript(
        "DROP INDEX ix_runs_agent_tool; ALTER TABLE runs DROP COLUMN trace_agent; "
        f"PRAGMA user_version = {before};"
    )
    storage = SQLiteTraceStorage(db)  # opening migrates
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(sqlite_schema.MIGRATIONS)
    agents = {t.trace_id: t.agent_name for t in traces}
    rows = conn.execute("SELECT trace_id, trace_agent FROM runs").fetchall()
    assert len(rows) == sum(len(t.runs) for t in traces)
    assert all(agent == agents[trace_id] for trace_id, agent in rows)
    assert tool_tables(storage) == reference(traces)
    storage.close_sync()


def test_sqlite_tool_table_of_one_agent_reads_the_agent_index(tmp_path: Path) -> None:
    storage = SQLiteTraceStorage(tmp_path / "plan.db")
    storage.write_traces(make_traces())
    where, params = run_where(RunFilter(agent_names=["alpha"]))
    plan = storage._conn().execute(
        "EXPLAIN QUERY PLAN SELECT r.tool_name, COUNT(*) FROM runs r "
        f"WHERE ({where}) AND r.tool_name IS NOT NULL GROUP BY r.tool_name",
        params,
    )
    assert any("ix_runs_agent_tool" in detail for *_, detail in plan)
    storage.close_sync()


def rewrite_under_other_agents(store: TraceStorage) -> list[Trace]:
    """Write traces, then write them again with their agents changed (as a running
    trace's progress, then its final state, may name its agent late)."""
    traces = make_traces(12)
    run_sync(store.store_partial(traces))
    for trace in traces:
        trace.agent_name = "beta" if trace.agent_name == "alpha" else "alpha"
    run_sync(store.store_traces(traces))
    return traces


def test_sqlite_records_follow_their_trace_to_another_agent(tmp_path: Path) -> None:
    storage = SQLiteTraceStorage(tmp_path / "moved.db")
    traces = rewrite_under_other_agents(storage)
    assert tool_tables(storage) == reference(traces)
    storage.close_sync()


@pytest.fixture
def postgres(postgres_url: str) -> Iterator[PostgresTraceStorage]:
    yield from fresh_storage(postgres_url)


def test_postgres_records_follow_their_trace_to_another_agent(
    postgres: PostgresTraceStorage,
) -> None:
    traces = rewrite_under_other_agents(postgres)
    assert tool_tables(postgres) == reference(traces)


def test_postgres_migration_fills_the_agent_of_rows_written_before_it(
    postgres: PostgresTraceStorage, postgres_url: str
) -> None:
    traces = make_traces()
    postgres.write_traces(traces)
    schema = sql.Identifier(postgres.schema)
    latest = len(postgres_schema.MIGRATIONS)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        # back before migrations 5 (trace_agent) and 6 (covering indexes): what they added, removed
        conn.execute(
            sql.SQL(
                "DROP INDEX {s}.ix_runs_agent_tool, {s}.ix_runs_tool_stats, "
                "{s}.ix_traces_agent_stats, {s}.ix_runs_tool_window"
            ).format(s=schema)
        )
        conn.execute(sql.SQL("ALTER TABLE {}.runs DROP COLUMN trace_agent").format(schema))
        conn.execute(sql.SQL("DELETE FROM {}.schema_migrations WHERE version > 4").format(schema))
    again = PostgresTraceStorage(postgres_url, schema=postgres.schema)  # migrates on use
    try:
        assert tool_tables(again) == reference(traces)
        with psycopg.connect(postgres_url) as conn:
            rows = conn.execute(
                sql.SQL("SELECT trace_id, trace_agent FROM {}.runs").format(schema)
            ).fetchall()
            versions = conn.execute(
                sql.SQL("SELECT MAX(version) FROM {}.schema_migrations").format(schema)
            ).fetchone()
        agents = {t.trace_id: t.agent_name for t in traces}
        assert len(rows) == sum(len(t.runs) for t in traces)
        assert all(agent == agents[trace_id] for trace_id, agent in rows)
        assert versions == (latest,)
    finally:
        again.close_sync()
