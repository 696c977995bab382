"""Fork matrix: fork() while the writer is mid-write and while its queue is full.

A plain fork with an idle writer is covered by tests/trace/storage/test_fork.py.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    from myagent.trace import SQLiteTraceStorage, ToolRecord, TraceManager

    db, mode = sys.argv[1], sys.argv[2]
    PARENT = os.getpid()
    entered = threading.Event()

    class SlowSQLite(SQLiteTraceStorage):
        # Holds the SQLite write lock (an open IMMEDIATE transaction) for a while in the parent.
        def _write(self, statements):
            if os.getpid() != PARENT:
                return super()._write(statements)
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            entered.set()
            time.sleep(0.4)
            for sql, rows in statements:
                if rows:
                    conn.executemany(sql, rows)
            conn.execute("COMMIT")

    manager = TraceManager(SlowSQLite(db), buffer_size=20, batch_size=10, flush_interval=0.01)

    def one(name):
        with manager.trace(name) as trace:
            with manager.run("tool", ToolRecord, tool_name="x"):
                pass
        return trace.trace_id

    produced = [one("p0")]
    entered.wait(5)  # the writer thread is now inside a write, holding the lock
    if mode == "queue-full":
        produced += [one(f"p{i}") for i in range(1, 100)]
        assert manager.stats["writer"]["dropped"].get("buffer_full", 0) > 0

    pid = os.fork()
    if pid == 0:
        signal.alarm(2)  # a deadlock kills the child with SIGALRM
        before = manager.stats["writer"]["written"]  # counters are copied at fork
        mine = [one(f"c{i}") for i in range(5)]
        ok = manager.flush(1.5)
        written = manager.stats["writer"]["written"] - before
        print("child", int(ok), written, *mine, flush=True)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert manager.flush(10)
    stats = manager.stats["writer"]
    print("status", status, flush=True)
    print("parent", stats["written"], stats["dropped_total"], *produced, flush=True)
    """
)


@pytest.mark.parametrize("mode", ["mid-write", "queue-full"])
def test_fork_while_the_writer_is_busy_neither_deadlocks_nor_writes_twice(
    tmp_path: Path, mode: str
) -> None:
    """Guarantee: a child forked while the writer is mid-write or its queue is full does not
    deadlock (2 s alarm), writes its own traces, and never writes the parent's queue."""
    db = tmp_path / "fork.db"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(db), mode], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()}
    assert lines["status"] == ["0"], "the child died (alarm: deadlock)"
    child_ok, child_written, *child_ids = lines["child"]
    assert child_ok == "1" and child_written == "5" and len(child_ids) == 5
    parent_written, parent_dropped, *produced = lines["parent"]
    assert int(parent_written) + int(parent_dropped) == len(produced)
    with sqlite3.connect(db) as conn:
        stored = [row[0] for row in conn.execute("SELECT trace_id FROM traces")]
        runs = conn.execute("SELECT COUNT(*), COUNT(DISTINCT run_id) FROM runs").fetchone()
    conn.close()
    assert len(stored) == len(set(stored)) == int(parent_written) + 5
    assert set(child_ids) <= set(stored) and set(stored) - set(child_ids) <= set(produced)
    assert runs[0] == runs[1] == len(stored)
