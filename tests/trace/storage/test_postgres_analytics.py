"""The PostgreSQL tool table read from the `tool_hours` roll-up (migration 8).

The roll-up must agree exactly with the tool calls themselves whatever happens to them:
written, written again (a running trace's progress, then its final state), deleted,
removed by retention, deleted behind the storage's back, by several writers at once.
Two oracles: the in-memory reference (`myagent.trace.stats`), and the SQL that reads
every call (`postgres_analytics.tool_stats`), in the same snapshot.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from myagent.trace import InMemoryTraceStorage, RunFilter, ToolRecord, Trace, TraceAnalyzer
from myagent.trace.ids import us_to_datetime
from myagent.trace.storage import postgres_analytics
from myagent.trace.storage.postgres import PostgresTraceStorage, WriteMethod
from myagent.trace.storage.postgres_schema import DURATION_BOUNDS, HOUR_US
from myagent.trace.storage.postgres_sql import run_where
from myagent.trace.sync_bridge import run_sync
from tests.support.postgres import fresh_storage

TOOLS = ["search", "fetch", "calc", "mail"]
BASE_US = 1_700_000_000_000_000 // HOUR_US * HOUR_US  # an hour's start


def make_traces(count: int, seed: int = 7, hours: int = 5) -> list[Trace]:
    """Traces over `hours` hours with 1-4 tool calls each: durations from 0 µs to days
    (so every kind of duration bucket, the first and the last included), failures, a
    call still running, and calls starting on the hour's first and last microsecond."""
    rng = random.Random(seed)
    traces = []
    for i in range(count):
        start = BASE_US + rng.randrange(hours * HOUR_US)
        if i % 17 == 0:
            start = BASE_US + rng.randrange(hours) * HOUR_US - (i % 2)  # on an edge
        trace = Trace(name=f"t{i}", agent_name=f"agent{i % 3}", start_us=start)
        for k in range(1 + i % 4):
            call = ToolRecord(
                name=TOOLS[(i + k) % 4], tool_name=TOOLS[(i + k) % 4], trace_id=trace.trace_id
            )
            call.start_us = start + k
            if i % 23 != 5:  # else still running: no duration
                call.end_us = call.start_us + rng.choice(
                    [0, 1, rng.randrange(50, 5_000), int(rng.lognormvariate(12, 1.2)), 2**41]
                )
            call.success = rng.random() > 0.1
            trace.runs.append(call)
        trace.end_us = start + 3 * HOUR_US
        trace.status = "success"
        traces.append(trace)
    return traces


def windows() -> list[tuple[int | None, int | None]]:
    """start_us..end_us windows: unbounded, whole hours, partial hours at either end,
    inside one hour, empty, and the edges' neighbours."""
    h = HOUR_US
    return [
        (None, None),
        (BASE_US, None),
        (None, BASE_US + 2 * h - 1),
        (BASE_US + h, BASE_US + 3 * h - 1),
        (BASE_US + h, BASE_US + 3 * h),
        (BASE_US + h - 1, BASE_US + 3 * h + 1),
        (BASE_US + h // 3, BASE_US + 4 * h - h // 5),
        (BASE_US + h // 3, BASE_US + h // 2),
        (BASE_US + 2 * h, BASE_US + 2 * h),
        (BASE_US + 9 * h, None),
        (BASE_US + 3 * h, BASE_US + h),
    ]


def run_filter(start: int | None, end: int | None, tools: list[str] | None = None) -> RunFilter:
    return RunFilter(
        tool_names=tools,
        start_time=None if start is None else us_to_datetime(start),
        end_time=None if end is None else us_to_datetime(end),
    )


def assert_exact(storage: PostgresTraceStorage) -> None:
    """The roll-up's tables equal the SQL over every call, for every window, and the
    roll-up holds no queued change and no empty row."""
    with storage.pool().connection() as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        for start, end in windows():
            for tools in (None, ["fetch", "mail"], []):
                f = run_filter(start, end, tools)
                rolled = postgres_analytics.rolled_tool_stats(cur, tools, start, end)
                assert rolled == postgres_analytics.tool_stats(cur, *run_where(f)), f
        cur.execute("SELECT COUNT(*) FROM tool_hours_pending")
        assert cur.fetchone() == (0,)
        cur.execute("SELECT COUNT(*) FROM tool_hours WHERE calls = 0")
        assert cur.fetchone() == (0,)


@pytest.fixture
def postgres(postgres_url: str) -> Iterator[PostgresTraceStorage]:
    yield from fresh_storage(postgres_url)


def test_tool_tables_of_every_window_equal_the_reference(postgres: PostgresTraceStorage) -> None:
    traces = make_traces(300)
    postgres.write_traces(traces)
    memory = InMemoryTraceStorage()
    run_sync(memory.store_traces(traces))
    for start, end in windows():
        for tools in (None, ["calc"]):
            f = run_filter(start, end, tools)
            got = postgres.tool_stats_sync(f)
            assert got == run_sync(memory.tool_stats(f)), f
    analyzer = TraceAnalyzer(postgres)
    assert analyzer.analyze_tool_usage() == TraceAnalyzer(memory).analyze_tool_usage()
    assert_exact(postgres)


@pytest.mark.parametrize("method", ["copy", "insert"])
def test_rewrites_deletes_and_retention_keep_the_roll_up_exact(
    postgres_url: str, method: WriteMethod
) -> None:
    for postgres in fresh_storage(postgres_url, write_method=method):
        rewrite_delete_and_expire(postgres)


def rewrite_delete_and_expire(postgres: PostgresTraceStorage) -> None:
    """Write traces running then finished (some gaining a call), delete a third, expire
    the first hours, then everything; the roll-up is exact after each step."""
    traces = make_traces(200)
    run_sync(postgres.store_partial(traces[:120]))  # progress, then the final state
    for trace in traces[:120:2]:
        trace.runs[0].end_us = trace.runs[0].start_us + 12_345
        trace.runs.append(
            ToolRecord(
                name="late", tool_name="late", trace_id=trace.trace_id, start_us=trace.start_us
            )
        )
    postgres.write_traces(traces)
    assert_exact(postgres)
    assert postgres.delete_traces_sync([t.trace_id for t in traces[::3]]) == 67
    assert_exact(postgres)
    postgres.cleanup_sync(older_than=us_to_datetime(BASE_US + 2 * HOUR_US))
    assert_exact(postgres)
    postgres.cleanup_sync(max_count=0)
    assert_exact(postgres)
    with postgres.pool().connection() as conn:
        assert conn.execute("SELECT COUNT(*) FROM tool_hours").fetchone() == (0,)


def test_records_deleted_behind_the_storage_still_count_right(
    postgres: PostgresTraceStorage,
) -> None:
    traces = make_traces(60)
    postgres.write_traces(traces)
    with postgres.pool().connection() as conn:  # records alone: their change stays queued
        conn.execute("DELETE FROM runs WHERE tool_name = 'calc'")
        conn.execute("UPDATE runs SET success = NOT success WHERE tool_name = 'fetch'")
    assert postgres.tool_stats_sync(RunFilter(tool_names=["calc"])) == {}
    with postgres.pool().connection() as conn, conn.transaction(), conn.cursor() as cur:
        for start, end in windows():
            f = run_filter(start, end)
            rolled = postgres_analytics.rolled_tool_stats(cur, None, start, end)
            assert rolled == postgres_analytics.tool_stats(cur, *run_where(f)), f
    postgres.write_traces(make_traces(5, seed=8))  # the next write leaves its own queue only
    with postgres.pool().connection() as conn:
        assert conn.execute("SELECT COUNT(*) FROM tool_hours_pending").fetchone() != (0,)


def test_writers_at_once_rewriting_the_same_hours_never_deadlock(
    postgres: PostgresTraceStorage, postgres_url: str
) -> None:
    postgres.write_traces(make_traces(1))  # migrated before the threads start
    errors: list[BaseException] = []

    def write(seed: int) -> None:
        storage = PostgresTraceStorage(postgres_url, schema=postgres.schema)
        try:
            for round_no in range(6):
                traces = make_traces(40, seed=seed * 100 + round_no, hours=2)
                run_sync(storage.store_partial(traces))
                for trace in traces:
                    trace.runs.reverse()
                storage.write_traces(traces)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
        finally:
            storage.close_sync()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    assert_exact(postgres)


def test_the_migration_builds_the_roll_up_from_existing_records(
    postgres: PostgresTraceStorage, postgres_url: str
) -> None:
    traces = make_traces(150)
    postgres.write_traces(traces)
    expected = postgres.tool_stats_sync(run_filter(BASE_US + HOUR_US // 2, None))
    schema = sql.Identifier(postgres.schema)
    with psycopg.connect(postgres_url, autocommit=True) as conn:  # back before migration 8
        conn.execute(sql.SQL("DROP TABLE {s}.tool_hours, {s}.tool_hours_pending").format(s=schema))
        conn.execute(sql.SQL("DELETE FROM {}.schema_migrations WHERE version > 7").format(schema))
        for trigger in ("tr_tool_hours_insert", "tr_tool_hours_delete", "tr_tool_hours_update"):
            conn.execute(
                sql.SQL("DROP TRIGGER {} ON {}.runs").format(sql.Identifier(trigger), schema)
            )
        conn.execute(sql.SQL("DROP TRIGGER tr_tool_hours_fold ON {}.traces").format(schema))
    again = PostgresTraceStorage(postgres_url, schema=postgres.schema)  # migrates on use
    try:
        assert again.tool_stats_sync(run_filter(BASE_US + HOUR_US // 2, None)) == expected
        assert_exact(again)
    finally:
        again.close_sync()


def test_duration_buckets_cover_every_duration_once() -> None:
    assert DURATION_BOUNDS[0] == 1 and DURATION_BOUNDS[-1] == 2**40
    assert list(DURATION_BOUNDS) == sorted(set(DURATION_BOUNDS))
    widths = [b / a for a, b in itertools.pairwise(DURATION_BOUNDS) if a >= 16]
    assert max(widths) < 1.22  # 2^(1/4) = 1.19, rounded to whole µs
