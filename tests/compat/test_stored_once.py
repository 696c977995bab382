"""Item 9: a `@trace_run` function that opens its own trace stores its arguments (and
return value) once, on the trace, not again on its step record; reads give both back."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx

from myagent.trace import (
    SQLiteTraceStorage,
    StepRecord,
    TraceFilter,
    TraceManager,
    TraceQueryEngine,
    trace_run,
)

TEN_MB = 10_000_000


@trace_run
def ingest(document: str) -> int:
    return len(document)


def stored_bytes(path: Path) -> int:
    """Bytes of every column of the traces and records tables (the full-text search
    index, which keeps its own copy of searchable text, is not a stored value)."""
    total = 0
    with sqlite3.connect(path) as db:
        for table in ("traces", "runs"):
            columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
            for column in columns:
                query = f'SELECT COALESCE(SUM(LENGTH("{column}")), 0) FROM {table}'
                total += int(db.execute(query).fetchone()[0])
    return total


def test_a_10_mb_argument_is_stored_once(tmp_path: Path) -> None:
    path = tmp_path / "traces.db"
    manager = TraceManager(SQLiteTraceStorage(path))
    from myagent.trace import set_trace_manager
    from myagent.trace.setup import reset_trace_manager

    set_trace_manager(manager)
    try:
        assert ingest("x" * TEN_MB) == TEN_MB
        manager.flush()
        (trace,) = manager.get_all_traces()
        (step,) = trace.runs
        assert isinstance(step, StepRecord)
        assert trace.input == step.inputs and trace.output == step.output == TEN_MB
        assert isinstance(trace.input, dict) and "truncated" in str(trace.input["document"])[-200:]
        found = TraceQueryEngine(manager.storage).query_traces(TraceFilter(text="xxxxxxxx"))
        assert [t.trace_id for t in found] == [trace.trace_id]
        size = stored_bytes(path)
    finally:
        manager.close(timeout=10)
        reset_trace_manager()
    # One 8 MiB (bounded) copy plus small overhead; before this change, two: 16.8 MB
    # (traces.data 8,388,814 + runs.data 8,388,680 bytes).
    assert 8 * 2**20 <= size < 9 * 2**20, size


def test_the_viewer_shows_the_input_on_the_trace_and_its_step(
    sqlite_manager: TraceManager, viewer_factory: Any
) -> None:
    assert ingest("a small document") == 16
    sqlite_manager.flush()
    (trace,) = sqlite_manager.get_all_traces()
    (step,) = trace.runs
    viewer = viewer_factory(sqlite_manager.storage)

    with httpx.Client(base_url=viewer.url, timeout=10) as client:
        shown = client.get(f"/api/traces/{trace.trace_id}/payload/input").json()
        record = client.get(f"/api/traces/{trace.trace_id}/records/{step.run_id}").json()
    assert shown == {"document": "a small document"}
    assert record["inputs"] == {"document": "a small document"} and record["output"] == 16
