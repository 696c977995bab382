"""SQLite storage: WAL, migrations, indexes, and traces that cross process boundaries."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import orjson
import pytest

from myagent.trace import (
    SQLiteTraceStorage,
    StepRecord,
    ThinkRecord,
    ToolRecord,
    Trace,
    TraceManager,
)
from myagent.trace.storage.sqlite_schema import MIGRATIONS

WRITER = textwrap.dedent(
    """
    import sys, time
    from myagent.trace import TraceManager, SQLiteTraceStorage, ThinkRecord, ToolRecord
    manager = TraceManager(SQLiteTraceStorage(sys.argv[1]))
    with manager.trace("weather-agent", agent_name="weather-agent",
                       input="What's the weather in NYC?", session_id="s-1",
                       metadata={"user": "u"}, tags=["x"]) as trace:
        think = manager.start_run(ThinkRecord, "think", agent_name="weather-agent",
                                  input="What's the weather in NYC?",
                                  system_prompts=["You are a weather assistant..."],
                                  messages=[{"role": "user", "content": "hi"}], model="m")
        manager.end_run(think, llm_response="checking", prompt_tokens=100,
                        completion_tokens=50, tokens_used=150, cost_usd=0.5,
                        tool_calls=[{"id": "c1", "name": "get_weather",
                                     "arguments": '{"location": "NYC"}'}])
        with manager.run("get_weather", ToolRecord, parent=think, tool_name="get_weather",
                         tool_call_id="c1", input_params={"location": "NYC"}) as tool:
            tool.output = "Sunny, 72°F"
        manager.add_log_entry(level="INFO", message="done")
        trace.output = "Sunny"
    print(trace.trace_id, flush=True)
    MODE
    """
)


def _write_in_subprocess(db: Path, mode: str) -> subprocess.Popen[str]:
    code = WRITER.replace("MODE", mode)
    return subprocess.Popen(
        [sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True
    )


def _assert_whole(storage: SQLiteTraceStorage, trace_id: str) -> None:
    trace = storage.get_trace_sync(trace_id)
    assert trace is not None
    assert trace.agent_name == "weather-agent" and trace.session_id == "s-1"
    assert trace.input == "What's the weather in NYC?" and trace.output == "Sunny"
    assert trace.status == "success" and trace.metadata == {"user": "u"} and trace.tags == ["x"]
    think, tool = trace.runs
    assert think.to_dict()["tool_calls"][0]["arguments"] == '{"location": "NYC"}'
    assert think.to_dict()["tokens_used"] == 150
    assert tool.parent_id == think.run_id
    assert tool.to_dict()["output"] == "Sunny, 72°F"
    assert trace.logs[0].message == "done"
    assert trace.tokens_used == 150 and trace.cost_usd == 0.5


def test_other_process_reads_trace_without_explicit_flush(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    # The writer keeps running (it sleeps) and never calls flush().
    proc = _write_in_subprocess(db, "time.sleep(30)")
    try:
        assert proc.stdout is not None
        trace_id = proc.stdout.readline().strip()
        reader = SQLiteTraceStorage(db)
        deadline = time.monotonic() + 15
        while reader.get_trace_sync(trace_id) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        _assert_whole(reader, trace_id)
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize(
    "mode",
    [
        "",  # normal exit: atexit flushes
        "sys.exit(3)",
        "raise SystemExit('bye')",
        "raise RuntimeError('unhandled')",
    ],
)
def test_traces_land_at_exit(tmp_path: Path, mode: str) -> None:
    db = tmp_path / "exit.db"
    code = WRITER.replace("MODE", mode).replace(
        "SQLiteTraceStorage(sys.argv[1])", "SQLiteTraceStorage(sys.argv[1]), flush_interval=60"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(db)], capture_output=True, text=True, timeout=60
    )
    trace_id = out.stdout.strip()
    _assert_whole(SQLiteTraceStorage(db), trace_id)


def test_traces_land_on_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "term.db"
    code = WRITER.replace("MODE", "time.sleep(60)").replace(
        "SQLiteTraceStorage(sys.argv[1])", "SQLiteTraceStorage(sys.argv[1]), flush_interval=60"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    trace_id = proc.stdout.readline().strip()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == -signal.SIGTERM  # still dies of SIGTERM, as before
    _assert_whole(SQLiteTraceStorage(db), trace_id)


def test_running_trace_is_visible_to_other_connections(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    manager = TraceManager(SQLiteTraceStorage(db), flush_interval=0.05)
    reader = SQLiteTraceStorage(db)
    try:
        with manager.trace("live", agent_name="a") as trace:
            with manager.run("first"):
                pass
            deadline = time.monotonic() + 10
            seen = None
            while time.monotonic() < deadline:
                seen = reader.get_trace_sync(trace.trace_id)
                if seen is not None and seen.runs:
                    break
                time.sleep(0.05)
            assert seen is not None and seen.status == "running"
            assert [r.name for r in seen.runs] == ["first"]
        manager.flush(5)
        final = reader.get_trace_sync(trace.trace_id)
        assert final is not None and final.status == "success"
    finally:
        manager.close()


def test_wal_schema_version_and_indexes(tmp_path: Path) -> None:
    db = tmp_path / "schema.db"
    storage = SQLiteTraceStorage(db)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"ix_traces_start", "ix_traces_agent", "ix_traces_session", "ix_runs_tool"} <= indexes
    # Opening again does not re-run migrations.
    SQLiteTraceStorage(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    # The spec's tuning calls.
    assert storage.create_indexes(["agent_name", "timestamp", "trace_id"]) == [
        "agent_name",
        "timestamp",
        "trace_id",
    ]
    storage.create_indexes(["status"])
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "ix_traces_status" in indexes
    with pytest.raises(ValueError, match="cannot index"):
        storage.create_indexes(["colour"])
    storage.configure(partition_by_time=True)
    assert storage.options["partition_by_time"] is True
    with pytest.raises(TypeError):
        storage.configure(sharding=True)


def test_filter_uses_an_index(tmp_path: Path) -> None:
    storage = SQLiteTraceStorage(tmp_path / "plan.db")
    conn = storage._conn()
    from myagent.trace import TraceFilter
    from myagent.trace.storage.sqlite import trace_where

    where, params = trace_where(TraceFilter(agent_names=["a"]), conn)
    plan = " ".join(
        str(r[-1])
        for r in conn.execute(
            f"EXPLAIN QUERY PLAN SELECT trace_id FROM traces WHERE {where} ORDER BY start_us DESC",
            params,
        )
    )
    assert "ix_traces_agent" in plan


def test_a_file_at_schema_6_upgrades_with_its_traces_searchable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 7 rebuilds the search index (prefix indexes) and fills `trace_blocks`
    from the rows already there; old and new traces are found alike."""
    from myagent.trace import Trace, TraceFilter, TraceQueryEngine
    from myagent.trace.storage import sqlite_schema
    from myagent.trace.storage.sqlite import _UPSERT_TRACE
    from myagent.trace.storage.sqlite_rows import trace_row

    path = tmp_path / "old.db"
    base = 1_767_225_600_000_000
    traces = [
        Trace(trace_id=f"t{i}", input=f"tango {i}", status="success", start_us=base + i)
        for i in range(30)
    ]
    with monkeypatch.context() as patch:
        patch.setattr(sqlite_schema, "MIGRATIONS", MIGRATIONS[:6])
        old = SQLiteTraceStorage(path)
        conn = old._conn()  # what that version wrote: trace rows and search entries
        for trace in traces:
            row, _, body = trace_row(trace)
            conn.execute(_UPSERT_TRACE, (*row, 1))
            conn.execute(
                "INSERT INTO traces_fts (rowid, body) SELECT rowid, ? FROM traces "
                "WHERE trace_id = ?",
                (body, trace.trace_id),
            )
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 6
        old.close_sync()

    storage = SQLiteTraceStorage(path)
    conn = storage._conn()
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'traces_fts'").fetchone()[0]
    assert "prefix = '2 3 4'" in sql
    assert conn.execute("SELECT block, lo, hi FROM trace_blocks").fetchall() == [
        (0, base, base + 29)
    ]
    storage.write_traces([Trace(trace_id="new", input="tangos", status="success", start_us=1)])
    assert conn.execute("SELECT lo FROM trace_blocks").fetchone()[0] == 1
    engine = TraceQueryEngine(storage)
    found = [t.trace_id for t in engine.search("tango 2", limit=20)]
    assert found == [f"t{i}" for i in range(29, 19, -1)] + ["t2"]
    assert engine.count_traces(TraceFilter(text="tang")) == 31
    assert engine.count_traces(TraceFilter(text="tangos")) == 1


def _odd_trace() -> Trace:
    """Records whose column values come in unusual types or differ from the trace's."""
    trace = Trace(name="odd", status="success")
    think = ThinkRecord(
        name="", trace_id=trace.trace_id, cost_usd=1, tokens_used=7, model=None, end_us=None
    )
    tool = ToolRecord(trace_id=trace.trace_id, parent_id=think.run_id, tool_name=None)  # type: ignore[arg-type]
    step = StepRecord(name="step", trace_id="", error_type="E", success=False, error="bad")
    trace.runs += [think, tool, step]
    trace.end_us = trace.start_us + 1
    return trace


def test_record_data_leaves_out_its_columns_and_reads_back_equal(tmp_path: Path) -> None:
    storage = SQLiteTraceStorage(tmp_path / "c.db")
    trace = _odd_trace()
    storage.write_traces([trace])
    datas = [row[0] for row in storage._conn().execute("SELECT data FROM runs")]
    assert not any(b'"run_id"' in data or b'"start_us"' in data for data in datas)
    got = storage.get_trace_sync(trace.trace_id)
    assert got is not None
    assert [r.to_dict() for r in got.runs] == [r.to_dict() for r in trace.runs]
    assert [r.to_dict() for r in storage.query_runs_sync()] == [
        r.to_dict() for r in sorted(trace.runs, key=lambda r: (r.start_us, r.run_id))
    ]
    storage.close_sync()


def test_rows_with_whole_record_data_still_read(tmp_path: Path) -> None:
    """Files written before the data column left out the columns' values."""
    storage = SQLiteTraceStorage(tmp_path / "c.db")
    trace = _odd_trace()
    storage.write_traces([trace])
    conn = storage._conn()
    with conn:
        for run in trace.runs:
            conn.execute("UPDATE runs SET data = ? WHERE run_id = ?", (run.to_json(), run.run_id))
    got = storage.get_trace_sync(trace.trace_id)
    assert got is not None
    assert [r.to_dict() for r in got.runs] == [r.to_dict() for r in trace.runs]
    record = storage.get_record_sync(trace.trace_id, trace.runs[2].run_id)
    assert record is not None and record.to_dict() == trace.runs[2].to_dict()
    storage.close_sync()


_CLOSE_WHILE_WRITING = """
import sys, threading, time
from myagent.trace import Trace
from myagent.trace.storage import SQLiteTraceStorage

storage = SQLiteTraceStorage(sys.argv[1])
stop = time.monotonic() + float(sys.argv[2])

def write():
    while time.monotonic() < stop:
        try:
            storage.write_traces([Trace(name="t", status="success")])
        except Exception:
            pass  # a write aborted by close is an error, never a crash

writers = [threading.Thread(target=write) for _ in range(3)]
for thread in writers:
    thread.start()
while time.monotonic() < stop:
    storage.close_sync()
for thread in writers:
    thread.join()
print("survived")
"""


def test_close_while_other_threads_write_never_crashes_the_process(tmp_path: Path) -> None:
    """The manager closes storage while the writer thread may still be writing (its last
    counters, a final batch): SQLite must not see a connection closed under a write. A
    stress run in a child process, so a crash fails this test instead of the whole run."""
    import subprocess
    import sys

    script = tmp_path / "race.py"
    script.write_text(_CLOSE_WHILE_WRITING)
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "race.db"), "3"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    assert done.stdout.strip() == "survived"


def _facet_recount(conn: sqlite3.Connection) -> dict[tuple[str, str], int]:
    """Facet counts computed from the stored rows from scratch (migration 10's count)."""
    counts: dict[tuple[str, str], int] = {}
    for agent, models, tools, tags in conn.execute(
        "SELECT agent_name, models, tools, tags FROM traces"
    ):
        pairs = {("agent", agent)} if agent is not None else set()
        for field, values in (("model", models), ("tool", tools), ("tag", tags)):
            pairs |= {(field, value) for value in orjson.loads(values) if value is not None}
        for pair in pairs:
            counts[pair] = counts.get(pair, 0) + 1
    return counts


def test_batched_facet_counts_and_search_entries_follow_every_kind_of_write(
    tmp_path: Path,
) -> None:
    """Facet counts (two grouped statements per batch, no row triggers since migration
    12) and search entries (inserted by rowid) match the stored rows after partial then
    final writes, a trace twice in one batch, rewrites, repeated tags and deletes."""
    from myagent.trace import TraceFilter

    storage = SQLiteTraceStorage(tmp_path / "f.db")
    conn = storage._conn()
    assert (
        conn.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'tr_trace_%'"
        ).fetchone()[0]
        == 1
    )  # the delete trigger alone

    def made(trace_id: str, agent: str, text: str, tools: list[str], tags: list[str]) -> Trace:
        trace = Trace(trace_id=trace_id, agent_name=agent, input=text, tags=tags, status="success")
        think = ThinkRecord(trace_id=trace_id, name="think", model=f"m-{agent}")
        trace.runs.append(think)
        trace.runs += [ToolRecord(trace_id=trace_id, name=t, tool_name=t) for t in tools]
        return trace

    def check(expected: dict[str, int]) -> None:
        stored = {
            (field, value): n
            for field, value, n in conn.execute("SELECT field, value, n FROM trace_facets")
            if n
        }
        assert stored == _facet_recount(conn)
        for word, count in expected.items():
            assert storage.count_traces_sync(TraceFilter(text=word)) == count, word

    storage.write_traces(
        [
            made("a", "alpha", "apple pie", ["x"], ["t1", "t1"]),
            made("b", "beta", "banana split", ["x", "y"], []),
        ]
    )
    check({"apple": 1, "banana": 1})
    storage.write_traces([made("c", "gamma", "cherry", ["z"], ["t2"])], final=False)
    check({"cherry": 0})  # a running trace is searchable once it is final
    storage.write_traces([made("c", "delta", "cherry tart", ["z", "x"], ["t3"])])
    check({"cherry": 1, "tart": 1})
    storage.write_traces(
        [
            made("d", "alpha", "damson", ["y"], []),
            made("d", "beta", "durian", ["x"], ["t4"]),  # the later one is what is stored
            made("a", "beta", "apricot", [], ["t1"]),  # a rewrite replaces its text
        ]
    )
    check({"damson": 0, "durian": 1, "apple": 0, "apricot": 1})
    storage.write_traces([made("d", "beta", "durian", ["x"], ["t4"])])  # the same again
    check({"durian": 1})
    assert storage.delete_traces_sync(["b", "d"]) == 2
    check({"banana": 0, "durian": 0, "apricot": 1, "tart": 1})
    storage.close_sync()
