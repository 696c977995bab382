"""Retention under write load: deleting many old traces while a writer keeps writing.

A fresh database (SQLite file, or a PostgreSQL schema with `--backend postgres`) gets
N old traces (1 think + 3 tool records each, the query benchmark's shape; N =
MYAGENT_RETENTION_TRACES, default 200,000; 2,000 with --smoke) through the real write
path. Then one thread writes a new trace every 5 ms (`write_traces`, the background
writer's call) while `cleanup_sync(older_than=...)` deletes every old trace. Rows: the
deletion's time and rate, and the longest a write took while it ran (target < 1 s:
retention must never stall the writer). The database is dropped afterwards.

    python -m benchmarks.retention_bench [--smoke] [--backend postgres]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from benchmarks import pg_dataset
from benchmarks.measure import Row, row
from benchmarks.query_bench import END_US, make_trace
from myagent.trace import SQLiteTraceStorage, Trace
from myagent.trace.ids import us_to_datetime
from myagent.trace.storage.postgres import PostgresTraceStorage

SECTION = "Retention"


def fresh_storage(backend: str) -> tuple[Any, Any]:
    """A new empty storage and a callable that removes it."""
    if backend == "postgres":
        url = pg_dataset.database_url()
        schema = f"retention_{os.getpid()}"
        storage = PostgresTraceStorage(url, schema=schema)

        def drop() -> None:
            storage.close_sync()
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )

        return storage, drop
    folder = tempfile.mkdtemp(prefix="myagent-retention-", dir=os.environ.get("MYAGENT_BENCH_DIR"))
    sqlite = SQLiteTraceStorage(Path(folder) / "traces.db")

    def remove() -> None:
        sqlite.close_sync()
        shutil.rmtree(folder, ignore_errors=True)

    return sqlite, remove


def run(smoke: bool = False, traces: int | None = None) -> list[Row]:
    """The retention rows for the backend MYAGENT_BENCH_BACKEND names (default SQLite)."""
    count = traces or (
        2_000 if smoke else int(os.environ.get("MYAGENT_RETENTION_TRACES", "200000"))
    )
    backend = pg_dataset.backend()
    label = "PostgreSQL" if backend == "postgres" else "SQLite"
    storage, remove = fresh_storage(backend)
    rng = random.Random(5)
    try:
        batch: list[Trace] = []
        for index in range(count):
            batch.append(make_trace(rng, index, count))  # 30 days up to END_US (2026-01-01)
            if len(batch) == 2_000:
                storage.write_traces(batch)
                batch = []
        if batch:
            storage.write_traces(batch)
        stalls: list[float] = []
        stop = threading.Event()

        def writer() -> None:
            fresh = random.Random(9)
            while not stop.is_set():
                trace = make_trace(fresh, 0, 1)
                trace.start_us = int(time.time() * 1_000_000)  # new: retention keeps it
                started = time.perf_counter()
                storage.write_traces([trace])
                stalls.append(time.perf_counter() - started)
                time.sleep(0.005)

        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(0.5)
        started = time.perf_counter()
        deleted = storage.cleanup_sync(older_than=us_to_datetime(END_US + 1))
        took = time.perf_counter() - started
        stop.set()
        thread.join()
    finally:
        remove()
    worst = max(stalls)
    return [
        row(
            SECTION,
            f"{label}: delete {deleted:,} old traces while a writer writes",
            round(took, 1),
            "s",
            detail=f"{deleted / took:,.0f} traces/s ({deleted * 4:,} records)",
        ),
        row(
            SECTION,
            f"{label}: longest write during the deletion",
            round(worst * 1000, 1),
            "ms",
            target="< 1000 ms",
            met=None if smoke else worst < 1.0,
            detail=f"{len(stalls)} writes of one trace; median "
            f"{sorted(stalls)[len(stalls) // 2] * 1000:.1f} ms",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--traces", type=int)
    parser.add_argument("--backend", choices=["sqlite", "postgres"])
    args = parser.parse_args(argv)
    if args.backend:
        os.environ["MYAGENT_BENCH_BACKEND"] = args.backend
    for r in run(args.smoke, args.traces):
        print(f"{r['metric']}: {r['value']} {r['unit']}  ({r['detail']})", file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
