"""The writer process: a real child process writing a real SQLite file (and PostgreSQL).

Guarantees of the in-thread writer that must hold in this mode too: traces land exactly
as in-thread; `flush` returns once the child committed; a killed or hung child is
counted (write errors, retried into a new child, or dropped after the retries), never
silent; redaction happens before anything is stored; `close` drains.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from myagent.trace import SQLiteTraceStorage, ToolRecord, Trace, TraceManager
from myagent.trace.config import TraceConfig
from myagent.trace.redaction import Redactor
from myagent.trace.storage.base import TraceStorage
from myagent.trace.storage.process import ProcessStorage
from myagent.trace.sync_bridge import run_sync
from tests.reliability.test_books import HangingRepr
from tests.reliability.test_canaries import _assert_clean, _seed


def _manager(path: Path, **options: Any) -> TraceManager:
    return TraceManager(SQLiteTraceStorage(path), writer_process=True, **options)


def _process(manager: TraceManager) -> ProcessStorage:
    storage = manager._writer.storage
    assert isinstance(storage, ProcessStorage)
    return storage


def _run(manager: TraceManager, n: int, **values: Any) -> list[str]:
    ids = []
    for i in range(n):
        with manager.trace("agent", agent_name="a", input={"i": i, **values}) as trace:
            record = manager.start_run(ToolRecord, "tool", input_params={"i": i})
            manager.end_run(record, output=f"out {i}")
            trace.output = "done"
        ids.append(trace.trace_id)
    return ids


def _count(path: Path) -> int:
    """Traces in the file, read by a storage of its own (not the writer's)."""
    reader = SQLiteTraceStorage(path)
    try:
        return run_sync(reader.count_traces())
    finally:
        reader.close_sync()


def _books(manager: TraceManager) -> tuple[int, int, int]:
    stats = manager.stats["writer"]
    return stats["submitted"], stats["written"], stats["dropped_total"]


def test_traces_land_as_the_in_thread_writer_stores_them(tmp_path: Path) -> None:
    source = TraceManager(SQLiteTraceStorage(tmp_path / "source.db"))
    ids = _run(source, 3) + _run(source, 3, nan=float("nan"), none=None, set={2, 1})
    traces = [source.get_trace(trace_id) for trace_id in ids]
    assert source.close(10)
    process = _manager(tmp_path / "process.db")
    reference = TraceManager(SQLiteTraceStorage(tmp_path / "reference.db"))
    for trace in traces:
        assert trace is not None
        process.ingest(trace)
        reference.ingest(trace)
    assert process.flush(30) and reference.flush(30)
    assert _process(process).process_stats["starts"] == 1
    for trace in traces:
        assert trace is not None
        a, b = process.get_trace(trace.trace_id), reference.get_trace(trace.trace_id)
        assert a is not None and b is not None
        assert orjson.loads(orjson.dumps(a.to_dict())) == orjson.loads(orjson.dumps(b.to_dict()))
    assert _books(process) == (len(traces), len(traces), 0)
    assert process.close(10) and reference.close(10)


def test_flush_returns_once_the_child_committed(tmp_path: Path) -> None:
    manager = _manager(tmp_path / "t.db", flush_interval=3600.0)
    _run(manager, 700)  # more than two batches, and a rest that waits for the flush
    assert manager.flush(30)
    assert _count(tmp_path / "t.db") == 700  # another connection sees every one
    assert _books(manager) == (700, 700, 0)
    child = _process(manager).process_stats["pid"]
    assert child is not None and child != os.getpid()
    assert manager.close(10)


def test_a_killed_child_is_counted_and_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    manager = _manager(tmp_path / "t.db")
    _run(manager, 50)
    assert manager.flush(30)
    storage = _process(manager)
    os.kill(storage.process_stats["pid"], signal.SIGKILL)
    with caplog.at_level(logging.WARNING, logger="myagent.trace"):
        _run(manager, 50)
        assert not manager.flush(30)  # the batch failed: it awaits its retry, and says so
        assert manager.flush(30)  # retried into a new child
        _run(manager, 50)
        assert manager.flush(30)
    stats = manager.stats
    assert stats["writer"]["write_errors"] == 1
    assert "writer process was lost" in stats["writer"]["last_error"]
    assert stats["writer_process"]["starts"] == 2 and stats["writer_process"]["lost"] == 1
    assert _books(manager) == (150, 150, 0)
    assert _count(tmp_path / "t.db") == 150
    assert sum("write failed" in r.getMessage() for r in caplog.records) == 1  # logged once
    assert manager.close(10)


def test_a_child_that_keeps_dying_drops_its_batch_counted(tmp_path: Path) -> None:
    manager = _manager(tmp_path / "t.db", write_retries=0)
    _run(manager, 5)
    assert manager.flush(30)
    os.kill(_process(manager).process_stats["pid"], signal.SIGKILL)
    _run(manager, 20)
    assert not manager.flush(30)  # those 20 are lost: flush says so
    submitted, written, dropped = _books(manager)
    assert (submitted, written, dropped) == (25, 5, 20)
    assert manager.stats["writer"]["dropped"] == {"write_failed": 20}
    _run(manager, 5)
    assert manager.flush(30)  # the next batches go to a new child
    assert _books(manager) == (30, 10, 20)
    assert manager.close(10)


def test_a_hung_child_is_killed_at_the_timeout_and_counted(tmp_path: Path) -> None:
    manager = _manager(tmp_path / "t.db")
    _run(manager, 5)
    assert manager.flush(30)
    storage = _process(manager)
    storage.timeout = 0.5
    pid = storage.process_stats["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        _run(manager, 10)
        assert not manager.flush(30)  # failed at the timeout, awaits its retry
        assert manager.flush(30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    assert manager.stats["writer"]["write_errors"] == 1
    assert storage.process_stats["lost"] == 1 and storage.process_stats["pid"] != pid
    assert _books(manager) == (15, 15, 0)
    assert manager.close(10)


@pytest.mark.parametrize("fault", ["storage", "interpreter"])
def test_a_child_that_cannot_start_falls_back_to_this_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    manager = _manager(tmp_path / "t.db")
    storage = _process(manager)
    if fault == "storage":  # the child cannot open it
        storage.spec = {**storage.spec, "path": str(tmp_path / "missing" / "dir" / "\0.db")}
    else:  # embedded: sys.executable is the host program (uWSGI...), never run it
        monkeypatch.setattr("sys.executable", "/usr/bin/uwsgi")
    with caplog.at_level(logging.WARNING, logger="myagent.trace"):
        _run(manager, 30)
        assert manager.flush(30)
    assert storage.process_stats["in_process"]
    assert sum("could not start" in r.getMessage() for r in caplog.records) == 1
    assert _count(tmp_path / "t.db") == 30
    assert _books(manager) == (30, 30, 0)
    assert manager.close(10)


@pytest.mark.parametrize(
    "redactor",
    [Redactor(), Redactor(callback=lambda value, path: value)],
    ids=["in the child", "here (its callback cannot go to the child)"],
)
def test_no_canary_reaches_the_file(tmp_path: Path, redactor: Redactor) -> None:
    """The canary trace of tests/reliability/test_canaries.py, written through the
    writer process: no secret in the SQLite file or its -wal."""
    manager = TraceManager(
        SQLiteTraceStorage(tmp_path / "canary.db"), writer_process=True, redactor=redactor
    )
    trace_id = _seed(manager)
    assert manager.flush(30)
    stored = manager.get_trace(trace_id)
    assert stored is not None and len(stored.runs) == 3
    child_redacts = _process(manager)._child
    assert child_redacts is not None
    assert child_redacts.redacts == (redactor._callback is None)
    for file in tmp_path.iterdir():
        _assert_clean(file.name, file.read_bytes())
    assert manager.close(10)


def test_running_traces_reach_the_file_redacted(tmp_path: Path) -> None:
    manager = _manager(tmp_path / "t.db", flush_interval=0.05)
    with manager.trace("live", input={"password": "CANARY-live-pw"}) as trace:
        record = manager.start_run(ToolRecord, "tool", input_params={"api_key": "CANARY-k"})
        manager.end_run(record, output="x")
        deadline = time.monotonic() + 20
        while manager.stats["writer"]["partial_writes"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert manager.stats["writer"]["partial_writes"] >= 1
        running = manager.storage.get_trace_sync(trace.trace_id)  # type: ignore[attr-defined]
        assert running is not None and running.end_us is None
    assert manager.flush(30)
    for file in tmp_path.iterdir():
        assert b"CANARY" not in file.read_bytes()
    assert manager.close(10)


def test_close_drains_and_ends_the_child(tmp_path: Path) -> None:
    manager = _manager(tmp_path / "t.db", flush_interval=3600.0)
    _run(manager, 1)
    assert manager.flush(30)
    child = _process(manager)._child
    assert child is not None
    _run(manager, 300)  # queued (and one batch in flight) when close comes
    assert manager.close(30)
    assert _count(tmp_path / "t.db") == 301
    assert child.process.wait(10) == 0


def test_memory_storage_keeps_the_writer_in_this_process() -> None:
    manager = TraceManager(writer_process=True)
    assert not isinstance(manager._writer.storage, ProcessStorage)
    _run(manager, 3)
    assert manager.flush(5) and "writer_process" not in manager.stats


def test_postgres_through_the_writer_process(postgres_storage: TraceStorage) -> None:
    manager = TraceManager(postgres_storage, writer_process=True)
    ids = _run(manager, 40, password="CANARY-pg")
    assert manager.flush(30)
    assert _process(manager).process_stats["starts"] == 1
    stored: Trace | None = manager.get_trace(ids[-1])
    assert stored is not None and stored.input["password"] != "CANARY-pg"
    assert _books(manager) == (40, 40, 0)
    assert manager.close(10)


def test_a_forked_process_starts_a_writer_process_of_its_own(tmp_path: Path) -> None:
    manager = _manager(tmp_path / "t.db")
    _run(manager, 3)
    assert manager.flush(30)
    parents_child = _process(manager).process_stats["pid"]
    pid = os.fork()
    if pid == 0:  # the forked process: exit code 0 when its traces landed in its own child
        code = 1
        try:
            _run(manager, 4)
            ok = manager.flush(30)
            own = _process(manager).process_stats["pid"]
            code = 0 if ok and own not in (None, parents_child) else 2
            manager.close(10)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    _run(manager, 2)
    assert manager.flush(30)
    assert _process(manager).process_stats["pid"] == parents_child  # untouched by the fork
    assert _count(tmp_path / "t.db") == 9
    assert manager.close(10)


def test_a_trace_ended_after_close_is_written_without_a_new_child(tmp_path: Path) -> None:
    manager = _manager(tmp_path / "t.db")
    _run(manager, 2)
    assert manager.close(10)
    starts = _process(manager).process_stats["starts"]
    _run(manager, 1)  # written inline by the caller, as without the writer process
    assert _process(manager).process_stats["starts"] == starts
    assert _count(tmp_path / "t.db") == 3


def test_no_canary_reaches_postgres(postgres_storage: TraceStorage, postgres_url: str) -> None:
    """The canary trace through the writer process into PostgreSQL: not in a pg_dump."""
    manager = TraceManager(postgres_storage, writer_process=True)
    trace_id = _seed(manager)
    assert manager.close(30)
    schema = postgres_storage.schema  # type: ignore[attr-defined]
    dump = subprocess.run(
        ["pg_dump", "--no-owner", "--schema", schema, postgres_url],
        capture_output=True,
        check=False,
        timeout=60,
    )
    if dump.returncode != 0:
        pytest.fail(f"pg_dump failed: {dump.stderr.decode()[-500:]}")
    assert trace_id.encode() in dump.stdout
    _assert_clean("pg_dump", dump.stdout)


def test_the_mode_is_read_from_the_environment() -> None:
    assert TraceConfig.from_env({"TRACE_WRITER_PROCESS": "1"}).writer_process
    assert not TraceConfig.from_env({}).writer_process


class _BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_a_value_that_hangs_in_conversion_costs_only_its_own_trace(tmp_path: Path) -> None:
    """Converting a value for the hand-off runs the program's code in this process,
    under the writer's watchdog: a hanging one is given up (`stuck`) and every other
    trace lands (a failing `__repr__` is stored as storage stores it)."""
    release = threading.Event()
    hanging = HangingRepr(release)
    manager = _manager(tmp_path / "t.db", flush_interval=0.05, stuck_timeout=0.5, redact=False)
    try:
        for i in range(60):
            value = hanging if i == 10 else _BadRepr() if i == 20 else None
            with manager.trace(f"t{i}", input=i if value is None else value):
                pass
        assert manager.flush(10) is False and hanging.entered.is_set()
    finally:
        release.set()
    stats = manager.stats["writer"]
    assert stats["dropped"] == {"stuck": 1}
    assert stats["written"] == 59 == _count(tmp_path / "t.db")
    assert manager.close(10)


def test_a_child_killed_in_the_middle_of_writing_loses_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    """SIGKILL while the child works through a backlog of batches (one may be committed
    and unanswered: its retry is an upsert): every trace is in the file exactly once
    and the books balance."""
    manager = _manager(tmp_path / "t.db", flush_interval=3600.0)
    _run(manager, 1)
    assert manager.flush(30)
    pid = _process(manager).process_stats["pid"]
    _run(manager, 2000)  # eight batches
    deadline = time.monotonic() + 30
    while manager.stats["writer"]["written"] < 300 and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)
    for _ in range(5):
        if manager.flush(30):
            break
    submitted, written, dropped = _books(manager)
    assert (submitted, written, dropped) == (2001, 2001, 0)
    assert manager.stats["writer_process"]["lost"] == 1
    assert _count(tmp_path / "t.db") == 2001
    assert manager.close(10)
