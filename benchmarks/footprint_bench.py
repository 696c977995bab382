"""Item 4: bytes per record on disk (SQLite) and memory per 1,000 traces in memory storage.

Disk: standard traces written through the storage, WAL checkpointed (TRUNCATE), the
growth of the file over an empty database divided by the think and tool records (6 per
trace; the trace row, every index and the search index are charged to them). Memory:
tracemalloc's traced bytes held after 1,000 and after 3,000 standard traces sit in
InMemoryTraceStorage; the difference per 1,000 is the marginal cost of keeping them.
OpenTelemetry's InMemorySpanExporter is measured the same way.
"""

from __future__ import annotations

import gc
import sqlite3
import tracemalloc
from collections.abc import Callable
from typing import Any

from benchmarks.ingest_bench import make_traces
from benchmarks.measure import Row, db_bytes, row, scratch_dir
from benchmarks.workload import Workload, otel_run, otel_tracer, traced_run
from myagent.trace import InMemoryTraceStorage, SQLiteTraceStorage, TraceManager

SECTION = "4. Footprint"


def _disk_rows(count: int) -> list[Row]:
    w = Workload()
    with scratch_dir() as tmp:
        path = tmp / "footprint.db"
        storage = SQLiteTraceStorage(path)
        storage.close_sync()
        empty = db_bytes(path)
        storage = SQLiteTraceStorage(path)
        traces = make_traces(w, count)
        for i in range(0, count, 256):
            storage.write_traces(traces[i : i + 256])
        storage.close_sync()
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        grown = db_bytes(path) - empty
    per_record = grown / (count * w.records_per_trace)
    return [
        row(
            SECTION,
            "SQLite bytes per record on disk (after checkpoint)",
            round(per_record),
            "B",
            target="< 1,024 B",
            met=per_record < 1024,
            detail=f"{grown / count:,.0f} B per standard trace of 6 records; "
            f"{grown / (count * (w.records_per_trace + 1)):,.0f} B per row if the trace "
            "row counts as a record",
        )
    ]


def _held_per_1000(setup: Callable[[], Any], produce: Callable[[Any, int], None]) -> float:
    """Traced bytes per 1,000 traces, between holding 1,000 and holding 3,000."""
    gc.collect()
    tracemalloc.start()
    try:
        state = setup()
        produce(state, 1000)
        gc.collect()
        first = tracemalloc.get_traced_memory()[0]
        produce(state, 2000)
        gc.collect()
        second = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return (second - first) / 2


def _memory_rows(smoke: bool) -> list[Row]:
    w = Workload()
    scale = 0.02 if smoke else 1.0  # smoke: 20 and 60 traces, scaled up

    def ours_setup() -> TraceManager:
        return TraceManager(InMemoryTraceStorage())

    def ours_produce(manager: TraceManager, count: int) -> None:
        for _ in range(int(count * scale)):
            traced_run(manager, w)
        manager.flush(60)

    def otel_setup() -> tuple[Any, Any]:
        return otel_tracer("memory")

    def otel_produce(state: tuple[Any, Any], count: int) -> None:
        for _ in range(int(count * scale)):
            otel_run(state[0], w)

    ours = _held_per_1000(ours_setup, ours_produce) / scale
    otel = _held_per_1000(otel_setup, otel_produce) / scale
    return [
        row(
            SECTION,
            "memory per 1,000 standard traces in InMemoryTraceStorage (tracemalloc)",
            round(ours / 1e6, 3),
            "MB",
            target="< 1 MB",
            met=ours < 1e6,
            detail=f"{ours / 1000:,.0f} B per trace",
        ),
        row(
            SECTION,
            "OpenTelemetry InMemorySpanExporter, per 1,000 agent runs",
            round(otel / 1e6, 3),
            "MB",
            detail=f"myagent holds {ours / otel:.2f}× as much",
        ),
    ]


def run(smoke: bool) -> list[Row]:
    """Item 4 as table rows."""
    return _disk_rows(30 if smoke else 3000) + _memory_rows(smoke)
