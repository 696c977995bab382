"""PostgresTraceStorage on the real local server: fidelity, filters, feeds, fork, config.

The storage contract (test_contract.py) also runs on PostgreSQL; these tests cover
what is particular to it: NUL characters, JSONB and tsvector edge cases, agreement with
the in-memory reference, both write paths, change stamps, LISTEN/NOTIFY, fork safety,
configuration from the environment, and an unreachable server.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql

from myagent.trace import (
    InMemoryTraceStorage,
    RunFilter,
    StepRecord,
    ThinkRecord,
    ToolRecord,
    Trace,
    TraceConfig,
    TraceFilter,
    TraceManager,
)
from myagent.trace.config import create_storage
from myagent.trace.storage.postgres import PostgresTraceStorage, delete_batch
from myagent.trace.storage.postgres_schema import MIGRATIONS
from myagent.trace.summary import TraceSummary
from myagent.trace.sync_bridge import run_sync
from tests.support.postgres import fresh_storage

BASE = datetime(2026, 3, 1, tzinfo=UTC)


def varied_trace(i: int) -> Trace:
    """Traces that differ in every filtered field, deterministically by `i`."""
    start = BASE + timedelta(minutes=i)
    trace = Trace(
        name=f"run {i}",
        agent_name=["alpha", "beta", "gamma"][i % 3],
        session_id=f"s{i % 4}",
        input=f"Where is order #{i}? ünïcode_word{i} token{i % 5}",
        metadata={
            "n": i % 3,
            "flag": bool(i % 2),
            "env": ["prod", "dev"][i % 2],
            "obj": {"k": [i % 2, "x"]},
            "none": None if i % 3 == 0 else "set",
            "ord": {"b": 1, "a": [i % 2]},
        },
        tags=[t for t, on in (("red", i % 2 == 0), ("blue", i % 3 == 0), ("x", True)) if on],
    )
    trace.start_time = start
    think = ThinkRecord(
        name="think",
        trace_id=trace.trace_id,
        model=["gpt-a", "gpt-b"][i % 2],
        tokens_used=7 * i,
        cost_usd=0.001 * i if i % 4 else None,
    )
    think.start_time, think.end_time = start, start + timedelta(milliseconds=300 + i)
    trace.runs.append(think)
    for j, tool in enumerate(["search", "calc", "fetch"][: 1 + i % 3]):
        record = ToolRecord(
            name=tool,
            trace_id=trace.trace_id,
            parent_id=think.run_id,
            tool_name=tool,
            input_params={"q": i},
            output=f"out {i}",
        )
        record.start_time = start + timedelta(seconds=1 + j)
        record.end_time = record.start_time + timedelta(milliseconds=10 * (i + j))
        if i % 5 == 0 and j == 0:
            record.success, record.error, record.error_type = False, f"Timeout{i} x", "Timeout"
        trace.runs.append(record)
    if i % 7 == 6:
        trace.status = "running"
    else:
        trace.status = "error" if i % 6 == 1 else "success"
        trace.error = "Boom happened" if trace.status == "error" else None
        trace.output = {"answer": f"result{i}"}
        trace.end_time = start + timedelta(seconds=2 + i % 9)
    return trace


FILTERS = [
    TraceFilter(),
    TraceFilter(agent_names=["alpha", "gamma"]),
    TraceFilter(agent_names=[]),
    TraceFilter(session_ids=["s1"], statuses=["success"]),
    TraceFilter(statuses=["running"]),
    TraceFilter(has_errors=True),
    TraceFilter(has_errors=False),
    TraceFilter(start_time=BASE + timedelta(minutes=5), end_time=BASE + timedelta(minutes=12)),
    TraceFilter(min_duration=4, max_duration=8),
    TraceFilter(max_duration=3),
    TraceFilter(min_tokens=50, max_tokens=120),
    TraceFilter(min_cost=0.01),
    TraceFilter(tools_used=["calc", "fetch"]),
    TraceFilter(tools_used=["calc", "nothing"], tools_match="any"),
    TraceFilter(models=["gpt-b"]),
    TraceFilter(tags=["red", "blue"]),
    TraceFilter(tags=["x"]),
    TraceFilter(metadata={"n": 1}),
    TraceFilter(metadata={"n": 1.0}),
    TraceFilter(metadata={"flag": True}),
    TraceFilter(metadata={"flag": 1}),
    TraceFilter(metadata={"n": True}),
    TraceFilter(metadata={"env": "dev"}),
    TraceFilter(metadata={"obj": {"k": [1, "x"]}}),
    TraceFilter(metadata={"none": None}),
    TraceFilter(metadata={"ord": {"b": 1, "a": [1]}}),
    TraceFilter(metadata={"ord": {"a": [1], "b": 1}}),  # key order counts, as in memory
    TraceFilter(metadata={"ord": {"b": True, "a": [1]}}),
    TraceFilter(metadata={"missing": None}),
    TraceFilter(text="order"),
    TraceFilter(text="ORD 1"),
    TraceFilter(text="ünïcode_word1"),
    TraceFilter(text="result1"),
    TraceFilter(text="timeout1"),
    TraceFilter(text="boom"),
    TraceFilter(text="token3 where"),
    TraceFilter(text="nomatch"),
    TraceFilter(text="?!"),
]


async def test_filters_agree_with_the_in_memory_reference(
    postgres_storage: PostgresTraceStorage,
) -> None:
    traces = [varied_trace(i) for i in range(30)]
    reference = InMemoryTraceStorage()
    await reference.store_traces(traces)
    await postgres_storage.store_traces(traces)
    for f in FILTERS:
        want = [t.trace_id for t in await reference.query_traces(f)]
        got = [t.trace_id for t in await postgres_storage.query_traces(f)]
        assert got == want, f
        assert await postgres_storage.count_traces(f) == len(want), f
    for order in ("duration", "-duration", "tokens", "-tokens", "cost", "-cost"):
        want = [t.trace_id for t in await reference.query_traces(order_by=order, limit=7)]
        got = [t.trace_id for t in await postgres_storage.query_traces(order_by=order, limit=7)]
        assert got == want, order
    run_filters = [
        RunFilter(tool_names=["calc"]),
        RunFilter(run_types=["think"], agent_names=["beta"]),
        RunFilter(errors_only=True),
        RunFilter(success_only=True, min_duration=0.1, max_duration=0.2),
        RunFilter(start_time=BASE + timedelta(minutes=3), end_time=BASE + timedelta(minutes=4)),
    ]
    for rf in run_filters:
        want_runs = [r.run_id for r in await reference.query_runs(rf)]
        got_runs = [r.run_id for r in await postgres_storage.query_runs(rf)]
        assert got_runs == want_runs, rf
        assert await postgres_storage.count_runs(rf) == len(want_runs), rf


async def test_roll_ups_equal_trace_summary(postgres_storage: PostgresTraceStorage) -> None:
    traces = [varied_trace(i) for i in range(14)]
    await postgres_storage.store_traces(traces)
    stored = await postgres_storage.query_summaries(limit=100, order_by="start_time")
    assert stored == [TraceSummary.from_trace(t) for t in traces]


async def test_nul_characters_and_odd_values_round_trip(
    postgres_storage: PostgresTraceStorage,
) -> None:
    trace = Trace(
        name="nul\x00name",
        agent_name="a\x00b",
        input={"text": "zero \x00 byte", "big": 2**62, "f": 1.5e-300, "emoji": "🦜"},
        metadata={"k\x00": "v\x00", "nested": {"deep": ["\x00"]}},
        tags=["t\x00"],
    )
    step = StepRecord(name="s\x00", trace_id=trace.trace_id, metadata={"x": "\x00"})
    step.error = "bad \x00 thing"
    step.success = False
    step.end_us = step.start_us + 5
    trace.runs.append(step)
    trace.end_us, trace.status = trace.start_us + 10, "error"
    await postgres_storage.store_traces([trace])
    again = await postgres_storage.get_trace(trace.trace_id)
    assert again is not None and again.to_dict() == trace.to_dict()
    # indexed copies hold U+FFFD where the payload holds NUL; filters clean alike
    assert await postgres_storage.count_traces(TraceFilter(agent_names=["a\x00b"])) == 1
    assert await postgres_storage.count_traces(TraceFilter(metadata={"k\x00": "v\x00"})) == 1
    assert await postgres_storage.count_traces(TraceFilter(tags=["t\x00"])) == 1
    assert await postgres_storage.count_traces(TraceFilter(text="zero byte thing")) == 1


async def test_words_too_big_for_the_index_are_left_out_not_fatal(
    postgres_storage: PostgresTraceStorage,
) -> None:
    huge_word = "w" * 5000
    many_words = " ".join(f"word{n:07d}" for n in range(120_000))  # > 1 MB of lexemes
    trace = Trace(name="big", input=f"findme {huge_word} {many_words}", output="tail")
    trace.end_us, trace.status = trace.start_us + 1, "success"
    await postgres_storage.store_traces([trace])
    assert await postgres_storage.count_traces(TraceFilter(text="findme tail")) == 1
    assert await postgres_storage.count_traces(TraceFilter(text="word0000001")) == 1
    assert await postgres_storage.count_traces(TraceFilter(text=huge_word)) == 0
    again = await postgres_storage.get_trace(trace.trace_id)
    assert again is not None and again.input == trace.input


async def test_insert_write_method_stores_what_copy_stores(postgres_url: str) -> None:
    traces = [varied_trace(i) for i in range(12)]
    stores = []
    for method in ("copy", "insert"):
        gen = fresh_storage(postgres_url, write_method=method)
        storage = next(gen)
        await storage.store_traces(traces)
        await storage.store_traces(traces[:3])  # written again: replaced, not doubled
        stores.append((gen, storage))
    (_, copy_store), (_, insert_store) = stores
    for f in FILTERS:
        assert [t.to_dict() for t in await copy_store.query_traces(f)] == [
            t.to_dict() for t in await insert_store.query_traces(f)
        ], f
    assert await copy_store.count_runs() == await insert_store.count_runs() == 36
    for gen, _ in stores:
        gen.close()


async def test_change_feed_and_keyset_pages_cover_every_trace_once(
    postgres_storage: PostgresTraceStorage,
) -> None:
    traces = [varied_trace(i) for i in range(25)]
    for i in range(0, 25, 4):
        await postgres_storage.store_traces(traces[i : i + 4])
    await postgres_storage.store_partial([traces[0]])  # written again: a newer stamp
    seen: list[str] = []
    stamps: list[int] = []
    since = 0
    while batch := await postgres_storage.summaries_changed_since(since, limit=3):
        for stamp, summary in batch:
            stamps.append(stamp)
            seen.append(summary.trace_id)
        since = batch[-1][0]
    assert stamps == sorted(set(stamps))
    assert sorted(seen) == sorted(t.trace_id for t in traces)
    assert seen[-1] == traces[0].trace_id
    for order in ("-start_time", "start_time", "-duration", "tokens", "-cost"):
        pages: list[str] = []
        after = None
        while page := await postgres_storage.query_summaries(limit=4, after=after, order_by=order):
            pages += [s.trace_id for s in page]
            last = page[-1]
            key = order.lstrip("-")
            value = {
                "start_time": last.start_us,
                "duration": last.duration or 0.0,
                "tokens": last.tokens_used,
                "cost": last.cost_usd or 0.0,
            }[key]
            after = (value, last.trace_id)
        want = [t.trace_id for t in await reference_order(traces, order)]
        assert pages == want, order
    record = traces[3].runs[1]
    got = await postgres_storage.get_record(traces[3].trace_id, record.run_id)
    assert got is not None and got.to_dict() == record.to_dict()
    assert await postgres_storage.get_record(traces[3].trace_id, "missing") is None


async def reference_order(traces: list[Trace], order: str) -> list[Trace]:
    """`traces` in `order` as the in-memory reference sorts them."""
    reference = InMemoryTraceStorage()
    await reference.store_traces(traces)
    return await reference.query_traces(order_by=order)


def listening(url: str, channel: str) -> bool:
    """Whether some session's last statement was LISTEN on `channel`."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query = %s",
            (sql.SQL("LISTEN {}").format(sql.Identifier(channel)).as_string(conn),),
        ).fetchone()
    return bool(row and row[0])


async def test_listen_changes_yields_ids_committed_by_another_writer(
    postgres_storage: PostgresTraceStorage,
) -> None:
    other = PostgresTraceStorage(postgres_storage.url, schema=postgres_storage.schema)
    received: list[str] = []

    async def listen() -> None:
        async for trace_id in postgres_storage.listen_changes():
            received.append(trace_id)

    task = asyncio.create_task(listen())
    for _ in range(200):
        if await asyncio.to_thread(listening, postgres_storage.url, postgres_storage.channel):
            break
        await asyncio.sleep(0.02)
    traces = [varied_trace(i) for i in range(300)]  # ids past one NOTIFY payload
    await other.store_traces(traces)
    for _ in range(200):
        if len(received) >= len(traces):
            break
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await other.close()
    assert sorted(received) == sorted(t.trace_id for t in traces)


FORK_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from myagent.trace import Trace
    from myagent.trace.storage.postgres import PostgresTraceStorage
    from myagent.trace.sync_bridge import run_sync

    signal.alarm(30)
    storage = PostgresTraceStorage(sys.argv[1], schema=sys.argv[2])

    def write(name):
        trace = Trace(name=name)
        trace.end_us, trace.status = trace.start_us + 1, "success"
        storage.write_traces([trace])

    write("parent-before")
    for how in ("os._exit", "sys.exit"):
        pid = os.fork()
        if pid == 0:
            write(f"child-{how}")
            if how == "os._exit":
                os._exit(0)
            sys.exit(0)  # interpreter teardown must not close the parent's sessions
        _, status = os.waitpid(pid, 0)
        assert status == 0, status
    write("parent-after")  # the parent's pooled connection still works
    print(sorted(t.name for t in storage.query_traces_sync()))
    """
)


def test_forked_children_write_with_pools_of_their_own(
    postgres_storage: PostgresTraceStorage,
) -> None:
    out = subprocess.run(
        [sys.executable, "-c", FORK_SCRIPT, postgres_storage.url, postgres_storage.schema],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PYTHONPATH=os.getcwd()),
    )
    assert out.returncode == 0, out.stderr
    names = ["child-os._exit", "child-sys.exit", "parent-after", "parent-before"]
    assert out.stdout.strip() == repr(names)
    assert "server closed the connection" not in out.stderr


EXIT_SCRIPT = textwrap.dedent(
    """
    import sys
    from myagent.trace import TraceManager, set_trace_manager
    from myagent.trace.storage.postgres import PostgresTraceStorage

    storage = PostgresTraceStorage(sys.argv[1], schema=sys.argv[2])
    manager = TraceManager(storage, flush_interval=60)
    set_trace_manager(manager)
    with manager.trace("flushed"):
        pass
    manager.flush(10)
    with manager.trace("pending-at-exit"):  # written by the exit hook, nothing else
        pass
    """
)


def test_traces_pending_at_exit_are_written(postgres_storage: PostgresTraceStorage) -> None:
    out = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT, postgres_storage.url, postgres_storage.schema],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PYTHONPATH=os.getcwd()),
    )
    assert out.returncode == 0 and out.stderr == "", out.stderr
    names = sorted(t.name for t in postgres_storage.query_traces_sync())
    assert names == ["flushed", "pending-at-exit"]


def test_create_storage_from_the_environment(postgres_url: str) -> None:
    config = TraceConfig.from_env({"TRACE_DATABASE_URL": postgres_url})
    assert config.storage == "postgresql"
    storage = create_storage(config)
    assert isinstance(storage, PostgresTraceStorage) and storage.url == postgres_url
    alchemy = postgres_url.replace("postgresql://", "postgresql+psycopg://")
    config = TraceConfig.from_env({"TRACE_STORAGE": "postgres", "TRACE_DATABASE_URL": alchemy})
    storage = create_storage(config)
    assert isinstance(storage, PostgresTraceStorage) and storage.url == postgres_url
    with pytest.raises(ValueError, match="postgresql://"):
        create_storage(TraceConfig.from_env({"TRACE_STORAGE": "postgres"}))


def test_migrations_are_recorded_once_when_hosts_start_together(postgres_url: str) -> None:
    gen = fresh_storage(postgres_url)
    first = next(gen)
    storages = [PostgresTraceStorage(postgres_url, schema=first.schema) for _ in range(4)]
    errors: list[BaseException] = []

    async def start_all() -> None:
        results = await asyncio.gather(
            *(asyncio.to_thread(s.pool) for s in storages), return_exceptions=True
        )
        errors.extend(r for r in results if isinstance(r, BaseException))

    asyncio.run(start_all())
    assert errors == []
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute(
            sql.SQL("SELECT version FROM {}.schema_migrations").format(sql.Identifier(first.schema))
        ).fetchall()
    assert sorted(rows) == [(n,) for n in range(1, len(MIGRATIONS) + 1)]
    for s in storages:
        s.close_sync()
    gen.close()


def test_spec_tuning_calls(postgres_storage: PostgresTraceStorage) -> None:
    assert postgres_storage.create_indexes(["agent_name", "timestamp", "trace_id"]) == [
        "agent_name",
        "timestamp",
        "trace_id",
    ]
    postgres_storage.create_indexes(["duration", "run_type"])
    with pytest.raises(ValueError, match="cannot index"):
        postgres_storage.create_indexes(["nope"])
    postgres_storage.configure(partition_by_time=True)
    assert postgres_storage.options["partition_by_time"] is True


def test_unreachable_server_never_reaches_the_traced_program(
    caplog: pytest.LogCaptureFixture,
) -> None:
    storage = PostgresTraceStorage("postgresql://postgres@127.0.0.1:1/none", connect_timeout=0.3)
    manager = TraceManager(storage, flush_interval=0.05, write_retries=1)
    for _ in range(3):
        with manager.trace("still runs", agent_name="a"), manager.run("step"):
            pass
    assert manager.flush(10) is False
    stats = manager.stats["writer"]
    assert stats["write_errors"] >= 1 and "Connection refused" in stats["last_error"]
    with pytest.raises(psycopg.OperationalError):
        storage.count_traces_sync()
    manager.close(1)
    # the writer logs each kind of failure once; the pool never starts, so never logs
    assert [r.name for r in caplog.records if r.name.startswith("psycopg")] == []
    assert len([r for r in caplog.records if "write failed" in r.getMessage()]) <= 1


async def test_aggregates_in_sql_equal_the_python_definitions(
    postgres_storage: PostgresTraceStorage,
) -> None:
    traces = [varied_trace(i) for i in range(40)]
    for i, trace in enumerate(traces):
        trace.session_id = None if i % 9 == 0 else trace.session_id
        if i % 8 == 3:
            trace.error = f"KeyError: missing {i % 2}"
            trace.status = "error"
    reference = InMemoryTraceStorage()
    await reference.store_traces(traces)
    await postgres_storage.store_traces(traces)
    for f in [None, *FILTERS[1:12]]:
        assert await postgres_storage.trace_stats(f) == await reference.trace_stats(f), f
        for interval in (60_000_000, 7 * 60_000_000):
            got = await postgres_storage.time_series(f, interval_us=interval)
            assert got == await reference.time_series(f, interval_us=interval), f
        for limit, examples in ((50, 5), (2, 1)):
            got_groups = await postgres_storage.error_groups(f, limit=limit, examples=examples)
            want_groups = await reference.error_groups(f, limit=limit, examples=examples)
            assert got_groups == want_groups, f
    for rf in [None, RunFilter(agent_names=["beta"]), RunFilter(errors_only=True)]:
        assert await postgres_storage.tool_stats(rf) == await reference.tool_stats(rf), rf
    assert await postgres_storage.agent_names() == await reference.agent_names()
    assert await postgres_storage.agent_names(2) == await reference.agent_names(2)
    sessions = await postgres_storage.query_sessions(limit=3)
    want_sessions = await reference.query_sessions(limit=3)
    # the reference adds costs one by one; SQL sums them exactly (last digit may differ)
    for got_s, want_s in zip(sessions, want_sessions, strict=True):
        assert got_s == {**want_s, "cost_usd": pytest.approx(want_s["cost_usd"], rel=1e-12)}
    stats = await postgres_storage.trace_stats()
    assert stats.trace_count > 0 and stats.total_cost > 0 and stats.tool_usage


def get_json(url: str) -> Any:
    """GET `url` and decode its JSON body."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def test_the_viewer_serves_postgres_as_it_serves_memory(
    postgres_storage: PostgresTraceStorage, viewer_factory: Any
) -> None:
    traces = [varied_trace(i) for i in range(23)]
    reference = InMemoryTraceStorage()
    for storage in (reference, postgres_storage):
        run_sync(storage.store_traces(traces))
    on_pg, on_memory = viewer_factory(postgres_storage), viewer_factory(reference)
    paths = [
        "/api/traces/count?q=order&agent=alpha",
        "/api/stats",
        "/api/stats/tools",
        "/api/errors",
        f"/api/traces/{traces[4].trace_id}",
        f"/api/traces/{traces[4].trace_id}/records/{traces[4].runs[1].run_id}",
    ]
    for path in paths:
        assert get_json(on_pg.url + path) == get_json(on_memory.url + path), path
    for server in (on_pg, on_memory):  # walk every page of the list, newest first
        listed, cursor = [], ""
        while True:
            page = get_json(f"{server.url}/api/traces?limit=4&order=-duration{cursor}")
            listed += [item["trace_id"] for item in page["items"]]
            if page["next_cursor"] is None:
                break
            cursor = "&cursor=" + urllib.parse.quote(page["next_cursor"])
        assert listed == [
            t.trace_id for t in run_sync(reference.query_traces(order_by="-duration"))
        ]


@pytest.mark.parametrize(("ci", "outcome"), [("true", "1 error"), ("", "1 skipped")])
def test_an_unreachable_server_fails_the_run_under_ci_and_skips_elsewhere(
    ci: str, outcome: str
) -> None:
    env = dict(
        os.environ,
        CI=ci,
        MYAGENT_TEST_POSTGRES="postgresql://postgres@127.0.0.1:1/postgres",
        PYTHONPATH=os.getcwd(),
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-rs",
            f"{__file__}::test_spec_tuning_calls",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert outcome in out.stdout, out.stdout[-2000:]
    assert "PostgreSQL unreachable at postgresql://postgres@127.0.0.1:1/postgres" in out.stdout
    assert (out.returncode == 0) == (ci == "")


def test_a_batch_delete_reads_by_index_even_before_any_statistics(
    postgres_storage: PostgresTraceStorage,
) -> None:
    """Retention's batches never scan the whole runs table: in a schema never analyzed
    the planner would take `trace_id = ANY(batch)` for every row (quadratic retention)."""
    traces = [varied_trace(i) for i in range(2_000)]
    postgres_storage.write_traces(traces)
    ids = [t.trace_id for t in traces[:250]]
    url, schema = postgres_storage.url, postgres_storage.schema
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        cur.execute(
            "SELECT count(*) FROM pg_stats WHERE schemaname = %s AND tablename = 'runs'",
            (schema,),
        )
        assert cur.fetchone() == (0,)  # no statistics yet: the case that went wrong
        assert delete_batch(cur, ids) == 250
        cur.execute(
            "SELECT relname, seq_scan FROM pg_stat_xact_user_tables "
            "WHERE schemaname = %s AND relname IN ('runs', 'traces')",
            (schema,),
        )
        assert {name: scans for name, scans in cur.fetchall()} == {"runs": 0, "traces": 0}
        conn.commit()
    assert postgres_storage.count_traces_sync() == 2_000 - 250
