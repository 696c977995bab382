"""Writer health: counters persisted beside the traces, safely and best effort."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from myagent.trace import SQLiteTraceStorage, TraceManager
from myagent.trace.storage.health import (
    LAST_ERROR_CHARS,
    WriterHealth,
    health_totals,
    safe_error,
)
from myagent.trace.storage.sqlite_schema import MIGRATIONS
from myagent.trace.sync_bridge import run_sync


def _finish(manager: TraceManager, n: int) -> None:
    for i in range(n):
        with manager.trace(f"t{i}"):
            pass


def test_a_persisted_error_is_redacted_and_bounded() -> None:
    secret = "sk-proj-" + "a1B2c3D4" * 6
    message = safe_error(f"write: ConnectionError: https://u:{secret}@db/x " + "x" * 2000)
    assert message is not None and secret not in message and "[REDACTED]" in message
    assert len(message) == LAST_ERROR_CHARS
    assert safe_error(None) is None


def test_totals_sum_every_counter_and_every_reason() -> None:
    a = WriterHealth("a", "h", 1, 0, 0, submitted=3, written=2, dropped={"buffer_full": 1})
    b = WriterHealth("b", "h", 2, 0, 0, written=4, write_errors=2, dropped={"write_failed": 5})
    totals = health_totals([a, b])
    assert totals["writers"] == 2 and totals["written"] == 6 and totals["write_errors"] == 2
    assert totals["dropped"] == {"buffer_full": 1, "write_failed": 5}
    assert totals["dropped_total"] == 6


def test_flush_and_close_persist_the_writers_counters(tmp_path: Path) -> None:
    storage = SQLiteTraceStorage(tmp_path / "t.db")
    manager = TraceManager(storage, flush_interval=30, buffer_size=5, batch_size=50)
    _finish(manager, 12)  # nothing wakes the writer: 7 are dropped as buffer_full
    assert manager.flush(10)
    reader = SQLiteTraceStorage(tmp_path / "t.db")
    [row] = reader.writer_stats_sync()
    assert row.writer_id == manager.stats["writer"]["writer_id"] and row.pid == os.getpid()
    assert (row.written, row.dropped, row.closed) == (5, {"buffer_full": 7}, False)
    manager.close(10)
    [row] = reader.writer_stats_sync()
    assert row.closed and row.written + row.dropped_total == 12


class HealthFailing(SQLiteTraceStorage):
    """SQLite whose health writes raise while `failing` (traces still land)."""

    failing = True
    attempts = 0

    async def store_writer_stats(self, health: WriterHealth) -> None:
        self.attempts += 1
        if self.failing:
            raise sqlite3.OperationalError("disk I/O error")
        await super().store_writer_stats(health)


def test_a_failing_health_write_is_swallowed_and_the_next_one_carries_the_counts(
    tmp_path: Path,
) -> None:
    storage = HealthFailing(tmp_path / "t.db")
    manager = TraceManager(storage, flush_interval=30)
    _finish(manager, 3)
    assert manager.flush(10)  # the traces landed; the health write failed silently
    assert storage.attempts == 1 and storage.writer_stats_sync() == []
    assert manager.stats["writer"]["written"] == 3
    storage.failing = False
    _finish(manager, 2)
    assert manager.flush(10)
    [row] = storage.writer_stats_sync()
    assert row.written == 5
    manager.close(10)


def test_a_file_of_an_older_schema_gains_the_health_table(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db, isolation_level=None)
    for migration in MIGRATIONS[:6]:  # the schema before writer health
        conn.executescript(migration)
    conn.execute("PRAGMA user_version = 6")
    conn.close()
    storage = SQLiteTraceStorage(db)
    run_sync(storage.store_writer_stats(WriterHealth("w", "h", 1, 0, 1)))
    assert [h.writer_id for h in storage.writer_stats_sync()] == ["w"]
    storage.close_sync()


def test_a_forked_child_reports_as_a_new_writer_with_its_own_counts(tmp_path: Path) -> None:
    manager = TraceManager(SQLiteTraceStorage(tmp_path / "t.db"), flush_interval=30)
    _finish(manager, 4)
    assert manager.flush(10)
    parent_id = manager.stats["writer"]["writer_id"]
    pid = os.fork()
    if pid == 0:  # the child: two traces of its own, then its counters
        ok = False
        try:
            _finish(manager, 2)
            ok = manager.flush(10) and manager.stats["writer"]["written"] == 2
            ok = ok and manager.stats["writer"]["writer_id"] != parent_id
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    rows = {h.pid: h for h in SQLiteTraceStorage(tmp_path / "t.db").writer_stats_sync()}
    assert rows[os.getpid()].written == 4 and rows[pid].written == 2
    manager.close(10)
