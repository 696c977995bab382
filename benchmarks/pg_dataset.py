"""The kept PostgreSQL databases of the benchmarks at scale (`--backend postgres`).

The query and viewer benchmarks run on SQLite by default; `python -m benchmarks --backend
postgres` (or MYAGENT_BENCH_BACKEND=postgres) runs them on the local PostgreSQL server
(MYAGENT_BENCH_POSTGRES, default postgres@127.0.0.1:5432). Their traces are written once
through `PostgresTraceStorage.write_traces` (the real write path: binary COPY) into the
database `myagent_bench_scale`, one schema per data set, then VACUUM ANALYZE (what
autovacuum does on its own a while after a bulk load; index-only scans need it), and
kept: the schema's comment marks it complete.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from myagent.trace import Trace
from myagent.trace.storage.postgres import PostgresTraceStorage

SERVER = os.environ.get("MYAGENT_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASE = "myagent_bench_scale"
BATCH = 2_000


def backend() -> str:
    """The backend the scale benchmarks run on: "sqlite" (default) or "postgres"."""
    chosen = os.environ.get("MYAGENT_BENCH_BACKEND", "sqlite")
    if chosen not in ("sqlite", "postgres"):
        raise ValueError(f"MYAGENT_BENCH_BACKEND must be sqlite or postgres, not {chosen!r}")
    return chosen


def database_url() -> str:
    """The benchmark database's URL (created on first use)."""
    with psycopg.connect(SERVER, autocommit=True) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
        if found.fetchone() is None:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    return urlsplit(SERVER)._replace(path=f"/{DATABASE}").geturl()


def _mark(url: str, schema: str) -> str | None:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s",
            (schema,),
        ).fetchone()
    return None if row is None else row[0]


def open_storage(
    schema: str,
    count: int,
    make: Callable[[int], Trace],
    log: Callable[[str], None],
    **options: Any,
) -> tuple[PostgresTraceStorage, float]:
    """The storage over `schema` holding traces `make(0)` .. `make(count - 1)`, built now
    unless a complete copy is kept; returns it and the seconds spent building (0 if kept)."""
    url = database_url()
    done = f"complete:{count}"
    if _mark(url, schema) == done:
        return PostgresTraceStorage(url, schema=schema, **options), 0.0
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    started = time.perf_counter()
    storage = PostgresTraceStorage(url, schema=schema, **options)
    batch: list[Trace] = []
    for index in range(count):
        batch.append(make(index))
        if len(batch) == BATCH:
            storage.write_traces(batch)
            batch = []
            if (index + 1) % 100_000 == 0:
                log(f"  {index + 1:,} traces written ({time.perf_counter() - started:.0f} s)")
    if batch:
        storage.write_traces(batch)
    name = sql.Identifier(schema)
    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("traces", "runs"):
            conn.execute(sql.SQL("VACUUM ANALYZE {}.{}").format(name, sql.Identifier(table)))
        conn.execute(sql.SQL("COMMENT ON SCHEMA {} IS {}").format(name, sql.Literal(done)))
    return storage, time.perf_counter() - started


def disk_size(storage: PostgresTraceStorage) -> str:
    """The schema's tables with their indexes and TOAST, as "N.NN GiB"."""
    rows = storage._read(
        "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
        [storage.schema],
    )
    return f"{int(rows[0][0]) / 2**30:.2f} GiB"
