"""Nothing lost silently: a hung value or a hung, slow, raising or full storage (or sink)
leaves produced = stored + dropped exactly, with every drop under its own reason.

A value whose `__repr__` never returns is given up by the writers' watchdog
(`dropped["stuck"]`) while a replacement thread writes the rest; whatever a closing
deadline abandons is counted as `dropped["shutdown"]`.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from myagent.trace import InMemoryTraceStorage, SQLiteTraceStorage, ToolRecord, TraceManager
from myagent.trace.otel import enable_otlp_export
from myagent.trace.records import Trace
from myagent.trace.storage.base import TraceStorage
from tests.reliability.test_faults import FAULTS, FaultyStorage, _seconds_in_thread, _stored_ids
from tests.support.otlp_receiver import Answer, OTLPReceiver

STUCK = 0.5  # stuck_timeout of these tests' writers (the default is 5 s)


class HangingRepr:
    """A value whose repr and str block until `release` is set (then say so)."""

    def __init__(self, release: threading.Event) -> None:
        self.release = release
        self.entered = threading.Event()

    def __repr__(self) -> str:
        self.entered.set()
        self.release.wait(60)
        return "HangingRepr(released)"

    __str__ = __repr__


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at the end of the test, so every hung thread ends."""
    event = threading.Event()
    yield event
    event.set()


def _books(manager: TraceManager, writer: str = "storage") -> tuple[int, int, dict[str, int]]:
    """(produced, written, dropped by reason) of the storage writer or a named sink."""
    stats = manager.stats
    counters = stats["writer"] if writer == "storage" else stats["sinks"][writer]
    assert counters["dropped_total"] == sum(counters["dropped"].values())
    return stats["traces_finished"], counters["written"], counters["dropped"]


def _balanced(manager: TraceManager, writer: str = "storage") -> dict[str, int]:
    """Assert produced = written + dropped exactly; return the drops by reason."""
    produced, written, dropped = _books(manager, writer)
    assert produced == written + sum(dropped.values()), (produced, written, dropped)
    return dropped


def _one(manager: TraceManager, i: int, value: Any = None) -> None:
    with manager.trace(f"t{i}", input=i if value is None else value):
        with manager.run("tool", ToolRecord, tool_name="x", output=i):
            pass


@pytest.mark.parametrize("redact", [True, False], ids=["redacted", "unredacted"])
def test_one_hanging_value_among_1000_traces_is_counted_as_stuck_and_the_rest_land(
    tmp_path: Path, release: threading.Event, viewer_factory: Any, redact: bool
) -> None:
    """Guarantee: a value whose repr hangs costs its own trace only: the watchdog counts
    it as `stuck`, a replacement thread writes the 999 others, flush and close return
    within their deadlines, and the persisted counters (viewer) show the reason. Whether
    it hangs in redaction or, unredacted, in SQLite's row building."""
    db = tmp_path / "t.db"
    storage = SQLiteTraceStorage(db)
    manager = TraceManager(storage, flush_interval=0.05, stuck_timeout=STUCK, redact=redact)
    hanging = HangingRepr(release)
    for i in range(1000):
        _one(manager, i, hanging if i == 400 else None)
    flushed: list[bool] = []
    assert _seconds_in_thread(lambda: flushed.append(manager.flush(10))) < 10
    assert hanging.entered.is_set()  # the writer really called it
    assert flushed == [False]  # one trace queued before the flush did not reach storage
    assert len(_stored_ids(db)) == 999
    assert _balanced(manager) == {"stuck": 1}
    assert manager.stats["writer"]["written"] == 999
    for i in range(1000, 1010):  # and the writer keeps going
        _one(manager, i)
    assert manager.flush(10) is True
    assert len(_stored_ids(db)) == 1009
    closed: list[bool] = []
    assert _seconds_in_thread(lambda: closed.append(manager.close(5))) < 5
    assert closed == [True] and _balanced(manager) == {"stuck": 1}
    [health] = asyncio.run(SQLiteTraceStorage(db).writer_stats())
    assert health.dropped == {"stuck": 1} and health.written == 1009 and health.closed
    viewer = viewer_factory(SQLiteTraceStorage(db))
    totals = httpx.get(viewer.url + "/api/writers").json()["totals"]
    assert totals["dropped"] == {"stuck": 1} and totals["written"] == 1009


@pytest.mark.parametrize("backend", ["memory", "postgres"])
def test_a_hanging_value_in_storage_conversion_is_stuck_on_every_backend(
    request: pytest.FixtureRequest, release: threading.Event, backend: str
) -> None:
    """Guarantee: unredacted, the hang happens inside the backend's own conversion; the
    in-memory and PostgreSQL backends report which trace they convert, so there too only
    that trace is lost (counted) and the rest land."""
    storage: TraceStorage = (
        InMemoryTraceStorage()
        if backend == "memory"
        else request.getfixturevalue("postgres_storage")
    )
    manager = TraceManager(storage, flush_interval=0.05, stuck_timeout=STUCK, redact=False)
    hanging = HangingRepr(release)
    for i in range(200):
        _one(manager, i, hanging if i == 50 else None)
    assert manager.flush(10) is False and hanging.entered.is_set()
    assert _balanced(manager) == {"stuck": 1}
    assert asyncio.run(storage.count_traces()) == 199 == manager.stats["writer"]["written"]
    assert manager.close(5)


def test_a_hanging_value_in_a_running_trace_is_given_up_once_and_counted_when_it_ends(
    tmp_path: Path, release: threading.Event
) -> None:
    """Guarantee: a hanging value in a trace still running (its progress is written for
    live views) is given up without a count while it runs, never converted again, and
    counted as `stuck` once the trace ends; other traces land meanwhile."""
    db = tmp_path / "t.db"
    manager = TraceManager(SQLiteTraceStorage(db), flush_interval=0.05, stuck_timeout=STUCK)
    hanging = HangingRepr(release)
    with manager.trace("long") as trace:
        with manager.run("tool", ToolRecord, tool_name="x", output=hanging):
            pass
        assert hanging.entered.wait(10)  # a progress write met it
        deadline = time.monotonic() + 10
        while manager.stats["writer"]["last_error"] is None and time.monotonic() < deadline:
            time.sleep(0.05)
        for i in range(20):
            _one(manager, i)
        assert manager.flush(10) is True
        assert _stored_ids(db).count(trace.trace_id) <= 1
        assert _balanced(manager) == {}  # it is still running: nothing produced, nothing lost
    assert manager.flush(10) is False
    assert _balanced(manager) == {"stuck": 1}
    assert manager.stats["writer"]["written"] == 20
    assert manager.close(5)


class HangingStorage(TraceStorage):
    """A real SQLite storage whose writes after the first `healthy` block on `release`,
    or take `delay` seconds each (a slow storage)."""

    def __init__(
        self, inner: SQLiteTraceStorage, release: threading.Event, healthy: int, delay: float
    ) -> None:
        self.inner, self.release, self.healthy, self.delay = inner, release, healthy, delay
        self.calls = 0

    async def store_trace(self, trace: Trace) -> None:
        await self.store_traces([trace])

    async def store_traces(self, traces: Sequence[Trace]) -> None:
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        elif self.calls > self.healthy:
            self.release.wait(60)
        await self.inner.store_traces(traces)


@pytest.mark.parametrize("kind", ["hanging", "slow"])
def test_traces_a_closing_deadline_abandons_are_counted_as_shutdown(
    tmp_path: Path, release: threading.Event, kind: str
) -> None:
    """Guarantee: `close(1)` against a storage that hangs (or is too slow to catch up)
    returns in time and counts every trace it could not write as `shutdown`; should the
    abandoned write land later after all, its traces move back to `written`."""
    db = tmp_path / "t.db"
    delay = 0.05 if kind == "slow" else 0.0
    storage = HangingStorage(SQLiteTraceStorage(db), release, healthy=3, delay=delay)
    manager = TraceManager(storage, flush_interval=0.01, batch_size=10)
    for i in range(1000):
        _one(manager, i)
    closed: list[bool] = []
    assert _seconds_in_thread(lambda: closed.append(manager.close(1))) < 5
    assert closed == [False]
    dropped = _balanced(manager)
    assert set(dropped) == {"shutdown"} and dropped["shutdown"] > 0
    assert len(_stored_ids(db)) == manager.stats["writer"]["written"]
    release.set()  # the abandoned write lands after all
    deadline = time.monotonic() + 10
    while len(_stored_ids(db)) != manager.stats["writer"]["written"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    _balanced(manager)
    _one(manager, 1000)  # after close, with a thread given up on: counted, never waited for
    assert _balanced(manager)["shutdown"] >= 1


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_a_raising_or_full_storage_keeps_the_books_exact(tmp_path: Path, kind: str) -> None:
    """Guarantee: a storage failing every write (I/O error, locked, ENOSPC, read-only)
    drops whole batches as `write_failed` after the retries, and `close` counts what
    still awaits a retry or was never tried as `shutdown`: produced = written + dropped, exactly."""
    storage = FaultyStorage(SQLiteTraceStorage(tmp_path / "t.db"), FAULTS[kind])
    manager = TraceManager(storage, flush_interval=0.01, batch_size=10, write_retries=5)
    ok = [_one(manager, i) for i in range(30)]
    assert manager.flush(10) is True
    storage.fail_on = set(range(storage.calls + 1, storage.calls + 10_000))
    for i in range(30, 100):
        _one(manager, i)
    assert manager.close(2) is False
    dropped = _balanced(manager)
    assert manager.stats["writer"]["written"] == len(ok)
    assert set(dropped) <= {"write_failed", "shutdown"} and sum(dropped.values()) == 70
    assert len(_stored_ids(tmp_path / "t.db")) == len(ok)


def test_a_full_disk_on_a_real_sqlite_file_keeps_the_books_exact(tmp_path: Path) -> None:
    """Guarantee: SQLite hitting its size limit (`max_page_count`, SQLITE_FULL: "database
    or disk is full") on a real file mid-run loses no trace uncounted."""
    db = tmp_path / "t.db"
    storage = SQLiteTraceStorage(db)
    manager = TraceManager(storage, flush_interval=0.01, batch_size=10, write_retries=5)
    for i in range(20):
        _one(manager, i)
    assert manager.flush(10)
    pages = storage._conn().execute("PRAGMA page_count").fetchone()[0]
    # The size limit is a per-connection setting: reconnect every thread with the cap.
    storage._local = threading.local()
    original = storage._conn

    def capped() -> sqlite3.Connection:
        c = original()
        c.execute(f"PRAGMA max_page_count = {pages + 1}")
        return c

    storage._conn = capped  # type: ignore[method-assign]
    for i in range(20, 220):
        _one(manager, i, "x" * 20_000)
    assert manager.close(2) is False
    dropped = _balanced(manager)
    assert "disk is full" in (manager.stats["writer"]["last_error"] or "")
    assert sum(dropped.values()) > 0 and set(dropped) <= {"write_failed", "shutdown"}
    assert len(_stored_ids(db)) == manager.stats["writer"]["written"]


def test_a_hanging_otlp_receiver_leaves_no_trace_uncounted(
    tmp_path: Path, otlp_receiver: OTLPReceiver
) -> None:
    """Guarantee: with an OTLP receiver that never answers, `close(1)` returns in time,
    local storage has every trace, and the sink counts every trace it could not deliver:
    produced = exported + dropped for the sink as well."""
    otlp_receiver.always(Answer(hang=True))
    db = tmp_path / "t.db"
    manager = TraceManager(SQLiteTraceStorage(db), flush_interval=0.01)
    enable_otlp_export(manager, otlp_receiver.url)
    [sink] = manager.stats["sinks"]
    for i in range(50):
        _one(manager, i)
    otlp_receiver.wait_for_requests(1)
    assert manager._writer.flush(5)
    closed: list[bool] = []
    assert _seconds_in_thread(lambda: closed.append(manager.close(1))) < 5
    assert closed == [False]
    assert _balanced(manager) == {} and len(_stored_ids(db)) == 50
    dropped = _balanced(manager, sink)
    assert manager.stats["sinks"][sink]["written"] == 0
    assert sum(dropped.values()) == 50 and set(dropped) <= {"shutdown", "write_failed"}


def test_a_trace_with_corrupt_data_is_counted_alone_by_storage_and_sink(
    tmp_path: Path, otlp_receiver: OTLPReceiver
) -> None:
    """Guarantee: a trace whose data cannot be converted (a record without a start time)
    costs only itself, not its batch: SQLite counts it as `convert_failed`, the OTLP
    sink as `mapping_failed`, neither as written, and the other 19 land in both."""
    db = tmp_path / "t.db"
    manager = TraceManager(SQLiteTraceStorage(db), flush_interval=0.01)
    enable_otlp_export(manager, otlp_receiver.url)
    [sink] = manager.stats["sinks"]
    for i in range(20):
        with manager.trace(f"t{i}"):
            with manager.run("tool", ToolRecord, tool_name="x") as record:
                if i == 7:
                    record.start_us = None  # type: ignore[assignment]  # corrupt data
    assert manager.flush(10) is False  # one trace did not make it
    assert _balanced(manager) == {"convert_failed": 1} and len(_stored_ids(db)) == 19
    assert _balanced(manager, sink) == {"mapping_failed": 1}
    assert manager.stats["sinks"][sink]["written"] == 19
    assert len({s.trace_id for s in otlp_receiver.spans() if s.parent_span_id == b""}) == 19
    assert manager.close(5) is True


def test_a_value_hanging_at_the_closing_deadline_is_counted_with_its_batch(
    tmp_path: Path, release: threading.Event
) -> None:
    """Guarantee: when `close(1)` comes before the watchdog's limit (here 60 s), the batch
    held up by a hanging value and everything queued behind it are counted as
    `shutdown`; if the value returns later, the given-up thread writes nothing."""
    db = tmp_path / "t.db"
    manager = TraceManager(SQLiteTraceStorage(db), flush_interval=0.01, stuck_timeout=60)
    hanging = HangingRepr(release)
    for i in range(100):
        _one(manager, i, hanging if i == 0 else None)
    assert hanging.entered.wait(10)
    closed: list[bool] = []
    assert _seconds_in_thread(lambda: closed.append(manager.close(1))) < 5
    assert closed == [False]
    assert _balanced(manager) == {"shutdown": 100}
    release.set()  # the value returns: the thread that called it must stay silent
    time.sleep(0.5)
    assert _balanced(manager) == {"shutdown": 100} and _stored_ids(db) == []
