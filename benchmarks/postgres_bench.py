"""PostgreSQL ingest: sustained records/s from one and from four processes, beside raw COPY.

Ours: finished traces handed to the background writer over `PostgresTraceStorage` (as
`TraceManager` does), timed from the first hand-over until `flush()` returns, so row
building, JSON and tsvector encoding, the change clock, NOTIFY and every statement
count; both write paths (binary COPY, and multi-row INSERT via executemany) are
measured. Raw: the very same rows, encoded beforehand, sent with plain psycopg binary
COPY into an identical fresh schema, one transaction per batch of the same size.
Four processes: each builds its traces first, all start writing at the same instant,
and the rate is all their records over the wall time from that instant until the last
one finishes. Records = the trace row plus its think and tool records.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from benchmarks.ingest_bench import make_traces
from benchmarks.measure import Row, median, row
from benchmarks.workload import Workload
from myagent.trace import Trace
from myagent.trace.storage.postgres import PostgresTraceStorage, WriteMethod
from myagent.trace.storage.postgres_rows import (
    RUN_COLUMNS,
    RUN_COPY_TYPES,
    STAMP_SLOT,
    TRACE_COLUMNS,
    TRACE_COPY_TYPES,
    build_rows,
    copy_trace_row,
)
from myagent.trace.storage.postgres_schema import migrate
from myagent.trace.storage.writer import BackgroundWriter

SECTION = "8. PostgreSQL ingest"
SERVER = os.environ.get("MYAGENT_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
BATCH = 256
PROCESSES = 4


@contextmanager
def bench_database() -> Iterator[str]:
    """A database of this run's own on the server, dropped afterwards."""
    name = f"myagent_bench_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(SERVER, autocommit=True, connect_timeout=10) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlsplit(SERVER)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(SERVER, autocommit=True, connect_timeout=10) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def ours_seconds(storage: PostgresTraceStorage, traces: Sequence[Trace]) -> float:
    """Wall seconds for the background writer to take `traces` into `storage`."""
    storage.pool()  # connect and migrate before the clock starts
    writer = BackgroundWriter(storage, buffer_size=len(traces) + 1, batch_size=BATCH)
    start = time.perf_counter()
    for trace in traces:
        writer.submit(trace)
    ok = writer.flush(600)
    elapsed = time.perf_counter() - start
    writer.close(5)
    if not ok or writer.stats["written"] != len(traces):
        raise RuntimeError(f"writer did not store every trace: {writer.stats}")
    return elapsed


def raw_batches(traces: Sequence[Trace]) -> list[tuple[list[list[Any]], list[tuple[Any, ...]]]]:
    """Per batch: (trace rows, run rows), encoded for binary COPY exactly as ours are."""
    batches = []
    for i in range(0, len(traces), BATCH):
        built = [build_rows(t) for t in traces[i : i + BATCH]]
        batches.append(
            (
                [_stamped(copy_trace_row(b), n) for n, b in enumerate(built)],
                [r for b in built for r in b.runs],
            )
        )
    return batches


def _stamped(row: list[Any], stamp: int) -> list[Any]:
    row[STAMP_SLOT] = stamp
    return row


def raw_connection(url: str, schema: str) -> psycopg.Connection[Any]:
    """A plain connection to `schema`, migrated to our tables (for raw COPY)."""
    conn = psycopg.connect(url)
    migrate(conn, schema)
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    conn.commit()
    return conn


def raw_copy(conn: psycopg.Connection[Any], batches: Any) -> float:
    """Wall seconds for plain psycopg binary COPY of prebuilt rows, one transaction a batch."""
    copy_traces = f"COPY traces ({', '.join(TRACE_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
    copy_runs = f"COPY runs ({', '.join(RUN_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
    start = time.perf_counter()
    for trace_rows, run_rows in batches:
        with conn.transaction(), conn.cursor() as cur:
            with cur.copy(copy_traces) as copy:
                copy.set_types(list(TRACE_COPY_TYPES))
                for r in trace_rows:
                    copy.write_row(r)
            with cur.copy(copy_runs) as copy:
                copy.set_types(list(RUN_COPY_TYPES))
                for r in run_rows:
                    copy.write_row(r)
    return time.perf_counter() - start


def storage_for(url: str, schema: str, method: str) -> PostgresTraceStorage:
    """Our storage in `schema`, writing with `method` ("copy" or "insert")."""
    return PostgresTraceStorage(url, schema=schema, write_method=cast(WriteMethod, method))


def _child(kind: str, url: str, schema: str, count: int, go: Any, out: Any) -> None:
    """One of the concurrent writers: build its traces, connect, say it is ready, wait
    for the common start, write, and report when it finished (wall-clock time)."""
    traces = make_traces(Workload(), count)
    if kind == "raw":
        batches = raw_batches(traces)
        conn = raw_connection(url, schema)
    else:
        storage = storage_for(url, schema, kind)
        storage.pool()
    out.put("ready")
    go.wait()
    if kind == "raw":
        raw_copy(conn, batches)
        conn.close()
    else:
        ours_seconds(storage, traces)
        storage.close_sync()
    out.put(time.time())


def concurrent_rate(url: str, kind: str, schema: str, count: int) -> float:
    """Records/s of PROCESSES processes writing `count` traces each at the same time:
    all their records over the wall time from the common start to the last finish."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    go = ctx.Event()
    procs = [
        ctx.Process(target=_child, args=(kind, url, schema, count, go, out))
        for _ in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        if out.get(timeout=600) != "ready":
            raise RuntimeError("writer process out of step")
    started = time.time()
    go.set()
    ends = [out.get(timeout=900) for _ in procs]
    for p in procs:
        p.join(60)
        if p.exitcode != 0:
            raise RuntimeError(f"writer process failed ({kind}): exit code {p.exitcode}")
    return PROCESSES * count * (Workload().records_per_trace + 1) / (max(ends) - started)


def run(smoke: bool) -> list[Row]:
    """PostgreSQL ingest rows: one process (both write paths, raw COPY), four processes."""
    count, repeats = (30, 1) if smoke else (4000, 3)
    records = count * (Workload().records_per_trace + 1)
    rows: list[Row] = []
    with bench_database() as url:
        traces = make_traces(Workload(), count)
        batches = raw_batches(traces)
        rates: dict[str, list[float]] = {"copy": [], "insert": [], "raw": []}
        for rep in range(repeats):
            for method in ("copy", "insert"):
                storage = storage_for(url, f"{method}_{rep}", method)
                rates[method].append(records / ours_seconds(storage, traces))
                storage.close_sync()
            with raw_connection(url, f"raw_{rep}") as conn:
                rates["raw"].append(records / raw_copy(conn, batches))
        copy, insert, raw = (median(rates[k]) for k in ("copy", "insert", "raw"))
        rows += [
            row(
                SECTION,
                "myagent, 1 process, binary COPY (default)",
                round(copy),
                "records/s",
                detail=f"{copy / 7:,.0f} traces/s; {copy / raw:.2f}× raw COPY",
            ),
            row(
                SECTION,
                "myagent, 1 process, multi-row INSERT (write_method='insert')",
                round(insert),
                "records/s",
                detail=f"{insert / copy:.2f}× of binary COPY",
            ),
            row(SECTION, "raw psycopg binary COPY, 1 process, same rows", round(raw), "records/s"),
        ]
        four = median(
            [concurrent_rate(url, "copy", f"four_ours_{rep}", count) for rep in range(repeats)]
        )
        four_raw = median(
            [concurrent_rate(url, "raw", f"four_raw_{rep}", count) for rep in range(repeats)]
        )
        rows += [
            row(
                SECTION,
                f"myagent, {PROCESSES} processes at once, one database",
                round(four),
                "records/s",
                detail=f"{four / copy:.2f}× of 1 process; {four / four_raw:.2f}× raw COPY",
            ),
            row(
                SECTION,
                f"raw psycopg binary COPY, {PROCESSES} processes at once",
                round(four_raw),
                "records/s",
            ),
        ]
    return rows
