"""Retention: max age and max count, on demand and on an interval; the newest stay."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from myagent.trace import SQLiteTraceStorage, TraceManager


def _record(manager: TraceManager, n: int, *, days_ago: float = 0) -> list[str]:
    ids = []
    for i in range(n):
        with manager.trace(f"t{i}") as trace:
            pass
        if days_ago:
            shift = int(timedelta(days=days_ago).total_seconds() * 1_000_000)
            trace.start_us -= shift
            trace.end_us = (trace.end_us or 0) - shift
        ids.append(trace.trace_id)
    return ids


def test_cleanup_on_demand_keeps_the_newest(tmp_path: Path) -> None:
    manager = TraceManager(SQLiteTraceStorage(tmp_path / "r.db"))
    try:
        old = _record(manager, 3, days_ago=10)
        new = _record(manager, 5)
        manager.configure(max_trace_age=timedelta(days=7), max_trace_count=4)
        assert manager.cleanup() == 3 + 1
        kept = [t.trace_id for t in manager.get_all_traces()]
        assert kept == new[1:]
        assert not set(old) & set(kept)
    finally:
        manager.close()


def test_auto_cleanup_runs_on_its_interval(manager: TraceManager) -> None:
    _record(manager, 10)
    manager.configure(
        max_trace_count=2, auto_cleanup=True, cleanup_interval=0.05, flush_interval=0.02
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(manager.get_all_traces()) > 2:
        time.sleep(0.05)
    assert len(manager.get_all_traces()) == 2


def test_age_cutoff_uses_start_time(manager: TraceManager) -> None:
    _record(manager, 2, days_ago=3)
    _record(manager, 1)
    manager.configure(max_age=timedelta(days=2))
    assert manager.cleanup() == 2
    (left,) = manager.get_all_traces()
    assert left.start_time > datetime.now(UTC) - timedelta(days=1)
