"""Exit and crash matrix: traces pending at loop close, at interpreter shutdown, and kill -9.

Normal exit, sys.exit, unhandled exceptions and SIGTERM are proved in
tests/trace/storage/test_sqlite.py; this module covers the remaining exits.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from myagent.trace import SQLiteTraceStorage

HEADER = textwrap.dedent(
    """
    import asyncio, atexit, sys, threading, time
    db = sys.argv[1]
    """
)


def _run(tmp_path: Path, body: str) -> tuple[Path, list[str]]:
    """Run `body` in a fresh interpreter writing to a SQLite file; return the ids it printed."""
    db = tmp_path / "exit.db"
    code = HEADER + textwrap.dedent(body)
    done = subprocess.run(
        [sys.executable, "-c", code, str(db)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    ids = [line for line in done.stdout.split() if line]
    assert ids, done.stderr
    return db, ids


def _assert_all_stored(db: Path, ids: list[str]) -> None:
    storage = SQLiteTraceStorage(db)
    try:
        for trace_id in ids:
            trace = storage.get_trace_sync(trace_id)
            assert trace is not None, trace_id
            assert trace.end_us is not None and len(trace.runs) == 1, trace_id
    finally:
        storage.close_sync()


def test_traces_pending_when_the_event_loop_closes_all_land(tmp_path: Path) -> None:
    """Guarantee: traces ended in an event loop that is then closed are written at exit."""
    db, ids = _run(
        tmp_path,
        """
        from myagent.trace import TraceManager, SQLiteTraceStorage, ToolRecord
        manager = TraceManager(SQLiteTraceStorage(db), flush_interval=30)

        async def one(i):
            async with manager.trace(f"t{i}") as trace:
                async with manager.run("tool", ToolRecord, tool_name="x"):
                    await asyncio.sleep(0)
            print(trace.trace_id, flush=True)

        async def main():
            await asyncio.gather(*(one(i) for i in range(50)))

        asyncio.run(main())  # the loop is closed here, nothing was flushed
        loop = asyncio.new_event_loop()
        loop.run_until_complete(one(99))
        loop.close()
        """,
    )
    assert len(ids) == 51
    _assert_all_stored(db, ids)


def test_traces_ended_in_atexit_handlers_before_and_after_ours_land(tmp_path: Path) -> None:
    """Guarantee: a trace ended inside an atexit handler, whichever side of the tracer's own
    exit flush it runs on, is written."""
    db, ids = _run(
        tmp_path,
        """
        def late():  # registered before myagent is imported: runs after its exit flush
            end_one("late")

        atexit.register(late)
        from myagent.trace import TraceManager, SQLiteTraceStorage, ToolRecord
        manager = TraceManager(SQLiteTraceStorage(db), flush_interval=30)

        def end_one(name):
            with manager.trace(name) as trace:
                with manager.run("tool", ToolRecord, tool_name="x"):
                    pass
            print(trace.trace_id, flush=True)

        end_one("warm-up")  # starts the writer thread
        atexit.register(lambda: end_one("early"))  # runs before the exit flush
        """,
    )
    assert len(ids) == 3
    _assert_all_stored(db, ids)


def test_traces_ended_by_a_daemon_thread_at_shutdown_land(tmp_path: Path) -> None:
    """Guarantee: a trace a daemon thread ends while the interpreter shuts down is written
    when its end was reported (the id printed after `end_trace` returned)."""
    db, ids = _run(
        tmp_path,
        """
        from myagent.trace import TraceManager, SQLiteTraceStorage, ToolRecord
        manager = TraceManager(SQLiteTraceStorage(db), flush_interval=30)
        started = threading.Event()

        def worker():
            for i in range(100_000):
                with manager.trace(f"d{i}") as trace:
                    with manager.run("tool", ToolRecord, tool_name="x"):
                        pass
                print(trace.trace_id, flush=True)
                started.set()
                time.sleep(0.001)

        threading.Thread(target=worker, daemon=True).start()
        started.wait(10)
        time.sleep(0.05)
        """,
    )
    _assert_all_stored(db, ids)


KILL_DRIVER = textwrap.dedent(
    """
    import os, random, signal, sys, time
    from myagent.trace import TraceManager, SQLiteTraceStorage, ToolRecord, ThinkRecord
    db, log = sys.argv[1], sys.argv[2]
    rng = random.Random(int(sys.argv[3]))

    def child(fd):
        manager = TraceManager(SQLiteTraceStorage(db), flush_interval=0.01)
        out = os.fdopen(fd, "w", buffering=1)
        out.write("ready\\n")
        pending = []
        for i in range(1_000_000):
            with manager.trace(f"k{i}", input="x" * 200) as trace:
                for _ in range(rng.randint(1, 5)):
                    with manager.run("think", ThinkRecord, model="m"):
                        pass
                    with manager.run("tool", ToolRecord, tool_name="t", output="y" * 100):
                        pass
            pending.append(f"{trace.trace_id} {len(trace.runs)}")
            if len(pending) >= rng.randint(1, 8) and manager.flush(5):
                with open(log, "a") as f:
                    f.write("\\n".join(pending) + "\\n")
                    f.flush()
                pending = []

    for _ in range(20):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                child(w)
            finally:
                os._exit(0)
        os.close(w)
        with os.fdopen(r) as ready:
            ready.readline()
            time.sleep(rng.uniform(0.05, 0.3))
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    print("done", flush=True)
    """
)


def test_kill_9_at_random_moments_loses_nothing_flushed_and_leaves_no_half_trace(
    tmp_path: Path,
) -> None:
    """Guarantee: after 20 kill -9 at random moments the file is intact, every trace whose
    flush() returned True is there whole, and no stored finished trace lacks any run."""
    db, log = tmp_path / "killed.db", tmp_path / "flushed.log"
    done = subprocess.run(
        [sys.executable, "-c", KILL_DRIVER, str(db), str(log), "1234"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "done" in done.stdout, done.stderr
    flushed = dict(line.split() for line in log.read_text().splitlines() if line)
    assert len(flushed) > 20
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = dict(
            conn.execute(
                "SELECT t.trace_id, COUNT(r.run_id) FROM traces t "
                "LEFT JOIN runs r ON r.trace_id = t.trace_id GROUP BY t.trace_id"
            ).fetchall()
        )
        for trace_id, runs in flushed.items():
            assert stored.get(trace_id) == int(runs), trace_id
        half = conn.execute(
            "SELECT t.trace_id, t.run_count, COUNT(r.run_id) FROM traces t "
            "LEFT JOIN runs r ON r.trace_id = t.trace_id WHERE t.end_us IS NOT NULL "
            "GROUP BY t.trace_id HAVING t.run_count != COUNT(r.run_id)"
        ).fetchall()
        assert half == []
    conn.close()
