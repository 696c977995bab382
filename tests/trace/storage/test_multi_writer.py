"""Several agent processes write to one database at once while a viewer reads.

Four processes write to one PostgreSQL database and four to one SQLite file, all at
the same time, through the real TraceManager and background writer, while this process
keeps reading both. Every trace must be stored exactly once, and no lock error may
reach the traced program: the writers' stderr stays clean and their counters show no
write error and no drop.
"""

from __future__ import annotations

import collections
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
from psycopg import sql

from myagent.trace import SQLiteTraceStorage, TraceFilter
from myagent.trace.storage.postgres import PostgresTraceStorage

WRITERS = 4
TRACES_PER_WRITER = 150

WRITER = textwrap.dedent(
    """
    import json, signal, sys, time
    from myagent.trace import SQLiteTraceStorage, TraceManager
    from myagent.trace.storage.postgres import PostgresTraceStorage

    signal.alarm(120)  # a hang fails the test instead of blocking it
    backend, target, schema, name, count, start_at = sys.argv[1:7]
    storage = (
        PostgresTraceStorage(target, schema=schema)
        if backend == "pg"
        else SQLiteTraceStorage(target)
    )
    manager = TraceManager(storage, batch_size=8, flush_interval=0.02)
    while time.time() < float(start_at):
        time.sleep(0.005)
    for i in range(int(count)):
        with manager.trace(f"{name}-{i}", agent_name=name, input=f"job {i}") as trace:
            with manager.run("plan"):
                pass
            with manager.run("act"):
                pass
            trace.output = "done"
    ok = manager.flush(60)
    stats = manager.stats["writer"]
    manager.close(10)
    print(json.dumps({"flushed": ok, **stats}))
    """
)


def start_writer(
    backend: str, target: str, schema: str, name: str, start_at: float
) -> subprocess.Popen[str]:
    """One writer process for `backend` ("pg" or "sqlite")."""
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            WRITER,
            backend,
            target,
            schema,
            name,
            str(TRACES_PER_WRITER),
            str(start_at),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=os.getcwd()),
    )


def test_four_processes_per_database_store_every_trace_once_while_a_viewer_reads(
    postgres_storage: PostgresTraceStorage, tmp_path: Path
) -> None:
    db = tmp_path / "shared.db"
    sqlite_reader = SQLiteTraceStorage(db)
    postgres_storage.pool()  # the reader's schema exists; writers still migrate (no-op)
    start_at = time.time() + 2.0  # let every interpreter start, then write at once
    procs = {
        f"{backend}{k}": start_writer(
            backend,
            postgres_storage.url if backend == "pg" else str(db),
            postgres_storage.schema,
            f"{backend}{k}",
            start_at,
        )
        for backend in ("pg", "sqlite")
        for k in range(WRITERS)
    }
    # The viewer: keep reading both databases while the writers run, and follow their
    # change feeds the way the live view does (stamps must grow in commit order, or a
    # poll would step over a batch that committed late).
    readers = {"pg": postgres_storage, "sqlite": sqlite_reader}
    seen: dict[str, list[int]] = {"pg": [], "sqlite": []}
    feed: dict[str, set[str]] = {"pg": set(), "sqlite": set()}
    cursor = {"pg": 0, "sqlite": 0}

    def follow_feeds() -> None:
        for key, reader in readers.items():
            while changed := reader.summaries_changed_since_sync(cursor[key], limit=100):
                feed[key].update(summary.name for _, summary in changed)
                cursor[key] = changed[-1][0]

    deadline = time.monotonic() + 150
    while any(p.poll() is None for p in procs.values()) and time.monotonic() < deadline:
        seen["pg"].append(postgres_storage.count_traces_sync())
        seen["sqlite"].append(sqlite_reader.count_traces_sync())
        postgres_storage.query_summaries_sync(TraceFilter(agent_names=["pg0"]), limit=20)
        sqlite_reader.query_summaries_sync(TraceFilter(agent_names=["sqlite0"]), limit=20)
        follow_feeds()
        time.sleep(0.01)
    follow_feeds()
    results = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, (name, err)
        assert err.strip() == "", (name, err)  # no lock error, no warning of any kind
        results[name] = json.loads(out)
    for name, stats in results.items():
        assert stats["flushed"] is True, (name, stats)
        assert stats["written"] == TRACES_PER_WRITER, (name, stats)
        assert stats["write_errors"] == 0 and stats["dropped_total"] == 0, (name, stats)
    total = WRITERS * TRACES_PER_WRITER
    want = {
        f"{b}{k}-{i}"
        for b in ("pg", "sqlite")
        for k in range(WRITERS)
        for i in range(TRACES_PER_WRITER)
    }
    with psycopg.connect(postgres_storage.url) as conn:
        schema = sql.Identifier(postgres_storage.schema)
        pg_names = [
            r[0] for r in conn.execute(sql.SQL("SELECT name FROM {}.traces").format(schema))
        ]
        pg_runs = conn.execute(sql.SQL("SELECT count(*) FROM {}.runs").format(schema)).fetchone()
    lite = sqlite3.connect(db)
    lite_names = [r[0] for r in lite.execute("SELECT name FROM traces")]
    lite_runs = lite.execute("SELECT count(*) FROM runs").fetchone()
    lite.close()
    for names, runs, prefix in ((pg_names, pg_runs, "pg"), (lite_names, lite_runs, "sqlite")):
        counts = collections.Counter(names)
        assert max(counts.values()) == 1, prefix
        assert set(counts) == {n for n in want if n.startswith(prefix)}, prefix
        assert len(names) == total and runs == (2 * total,), prefix
    assert feed["pg"] == {n for n in want if n.startswith("pg")}
    assert feed["sqlite"] == {n for n in want if n.startswith("sqlite")}
    # the viewer read while the writers wrote: counts only grew, and it saw them grow
    for key in ("pg", "sqlite"):
        assert seen[key] == sorted(seen[key]), key
        assert len(set(seen[key])) > 2, (key, seen[key][:5])
    sqlite_reader.close_sync()
