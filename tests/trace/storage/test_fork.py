"""fork(): the child gets a fresh writer and connections; nothing is written twice."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import multiprocessing, os, signal, sys
    from myagent.trace import TraceManager, SQLiteTraceStorage, set_trace_manager

    signal.alarm(20)  # a deadlock fails the test instead of hanging it
    manager = TraceManager(SQLiteTraceStorage(sys.argv[1]), flush_interval=60)
    set_trace_manager(manager)

    def record(name):
        with manager.trace(name, agent_name="fork"):
            with manager.run("step"):
                pass

    record("parent-before")          # queued, not yet written: the child must not write it
    manager.flush(5)
    record("parent-pending")         # still queued at fork time
    pid = os.fork()
    if pid == 0:
        record("child")
        ok = manager.flush(5)
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert status == 0, status

    def mp_child(n):
        record(f"mp-child-{n}")
        manager.flush(5)

    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=mp_child, args=(n,)) for n in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(15)
        assert p.exitcode == 0, p.exitcode
    record("parent-after")
    assert manager.flush(5)
    print("ok")
    """
)


def test_fork_child_writes_its_own_traces_once(tmp_path: Path) -> None:
    db = tmp_path / "fork.db"
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(db)], capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "ok", out.stderr
    conn = sqlite3.connect(db)
    names = sorted(r[0] for r in conn.execute("SELECT name FROM traces"))
    assert names == sorted(
        ["parent-before", "parent-pending", "child", "mp-child-0", "mp-child-1", "parent-after"]
    )
    assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 6
