"""The background writer: moves finished traces to storage off the caller's path.

The caller only appends to a bounded deque (no lock, no I/O, no JSON). One daemon
thread wakes every `flush_interval` (or when a batch is full), hands batches to the
storage, retries failures, and snapshots running traces for live views. A full
buffer drops and counts; nothing grows without bound. The counters are persisted in
the storage too (`WriterHealth`), for viewers in other processes. The thread starts lazily (not
on import), is restarted in a forked child, and is drained at exit and on SIGTERM.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import signal
import socket
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from myagent.trace.ids import now_us
from myagent.trace.records import Trace
from myagent.trace.redaction import redact_error
from myagent.trace.storage.base import TraceStorage
from myagent.trace.storage.health import WriterHealth

logger = logging.getLogger("myagent.trace")


HEALTH_INTERVAL = 1.0
"""Seconds between persisted health snapshots while counters change (flush and close
persist at once)."""
_HEALTH_BACKOFF_MAX = 30.0


@dataclass(slots=True)
class WriterStats:
    """Counters of one writer; read them through `TraceManager.stats`."""

    submitted: int = 0
    written: int = 0
    partial_writes: int = 0
    write_errors: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None


class _FlushMarker:
    """Put in the queue by `flush`; set once everything queued before it was handled."""

    __slots__ = ("done", "failed", "ok")

    def __init__(self, failed: int = 0) -> None:
        self.done = threading.Event()
        self.ok = True
        self.failed = failed  # write_failed drops when queued: more later means not ok


class BackgroundWriter:
    """Batches traces into a `TraceStorage` from one background thread."""

    def __init__(
        self,
        storage: TraceStorage,
        *,
        buffer_size: int = 10_000,
        batch_size: int = 256,
        flush_interval: float = 0.5,
        write_retries: int = 3,
        write_timeout: float = 30.0,
    ) -> None:
        self.storage = storage
        self.buffer_size = buffer_size
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.write_retries = write_retries
        self.write_timeout = write_timeout
        self._stats = WriterStats()
        self._live: dict[str, tuple[Trace, tuple[int, int, int]]] = {}
        self._logged: set[str] = set()
        self._closed = False
        self._periodic: dict[str, list[Any]] = {}
        self.transform: Callable[[Trace], Trace] | None = None
        """Applied to each trace on this thread before storage sees it (redaction)."""
        self._busy = False
        self._keeps_health = type(storage).store_writer_stats is not TraceStorage.store_writer_stats
        self._reset_runtime()
        _WRITERS.add(self)

    def _reset_runtime(self) -> None:
        # Everything that must be fresh in a forked child.
        self._queue: deque[Trace | _FlushMarker] = deque()
        self._wake = threading.Event()
        self._start_lock = threading.Lock()
        self._inline_lock = threading.Lock()
        self._drop_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._retry: list[Trace] = []
        self._retry_count = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = os.getpid()
        self._live.clear()
        self.writer_id = uuid.uuid4().hex
        """Identifies this writer (in this process) in the persisted `WriterHealth` rows."""
        self._started_us = now_us()
        self._host = socket.gethostname()
        self._persisted: tuple[Any, ...] | None = None
        self._health_due = 0.0
        self._health_delay = HEALTH_INTERVAL

    # -- caller's path -------------------------------------------------------------

    def submit(self, trace: Trace) -> None:
        """Queue a finished trace for storage; drops and counts when the buffer is full."""
        queue = self._queue
        if len(queue) >= self.buffer_size:
            self._live.pop(trace.trace_id, None)  # or every dropped trace stays referenced
            self._drop("buffer_full", 1)
            return
        queue.append(trace)
        if self._closed:
            # After close (e.g. ended in a late atexit handler): no thread will come, so
            # write it from here, within the shutdown budget.
            self.flush(_SHUTDOWN_TIMEOUT["seconds"])
        elif self._thread is None:
            self._start()
        elif len(queue) >= self.batch_size:
            self._wake.set()

    def watch(self, trace: Trace) -> None:
        """Register a running trace so its progress is written for live views."""
        if self.storage.supports_partial:
            self._live[trace.trace_id] = (trace, (-1, -1, -1))
            if self._thread is None:
                self._start()

    @property
    def pending(self) -> bool:
        """True while anything submitted has not been handed to storage yet."""
        return bool(self._queue or self._retry or self._busy)

    # -- control -------------------------------------------------------------------

    def set_periodic(self, name: str, interval: float | None, task: Callable[[], Any]) -> None:
        """Run `task()` on the writer thread every `interval` seconds (None removes it)."""
        if interval is None:
            self._periodic.pop(name, None)
            return
        self._periodic[name] = [interval, time.monotonic() + interval, task]
        if self._thread is None:
            self._start()

    def run_in_loop(self, coro: Any) -> None:
        """Await `coro` on the writer's loop (call only from a periodic task)."""
        self._call(coro)

    def flush(self, timeout: float | None = 5.0) -> bool:
        """Write everything queued so far; True when all of it reached storage in time."""
        if os.getpid() != self._pid:
            self._after_fork()
        marker = _FlushMarker(self._stats.dropped.get("write_failed", 0))
        self._queue.append(marker)
        thread = self._thread
        if thread is None or not thread.is_alive():
            if self._thread is None and not self._closed:
                self._start()
            thread = self._thread
        if thread is None or not thread.is_alive():
            self._drain_inline()  # no thread (interpreter shutdown): write from here
        else:
            self._wake.set()
        finished = marker.done.wait(timeout)
        return finished and marker.ok

    def close(self, timeout: float = 5.0) -> bool:
        """Flush, then stop the thread, all within `timeout`; True when everything was
        written in time."""
        deadline = time.monotonic() + timeout
        ok = self.flush(timeout)
        self.stop()
        self.join(max(0.0, deadline - time.monotonic()))
        return ok

    def stop(self) -> None:
        """Ask the thread to write what is queued and end (returns at once)."""
        self._closed = True
        self._wake.set()

    def join(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for the stopped thread to end."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, timeout))

    @property
    def stats(self) -> dict[str, Any]:
        """Counters: submitted, written, dropped (by reason), write errors, buffer depth,
        and who this writer is (`writer_id`, host, pid, started_us)."""
        return self.health().as_dict()

    def health(self) -> WriterHealth:
        """A snapshot of this writer's counters, as persisted in its storage."""
        stats = self._stats
        thread = self._thread
        return WriterHealth(
            writer_id=self.writer_id,
            host=self._host,
            pid=self._pid,
            started_us=self._started_us,
            updated_us=now_us(),
            submitted=stats.submitted,
            written=stats.written,
            partial_writes=stats.partial_writes,
            write_errors=stats.write_errors,
            dropped=dict(stats.dropped),
            buffer_depth=len(self._queue) + len(self._retry),
            last_error=stats.last_error,
            closed=self._closed and (thread is None or not thread.is_alive()),
        )

    # -- internals -----------------------------------------------------------------

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None or self._closed:
                return
            thread = threading.Thread(target=self._run, name="myagent-trace-writer", daemon=True)
            try:
                thread.start()
            except RuntimeError as exc:  # e.g. "can't create new thread at interpreter shutdown"
                self._note("thread_start", exc)
                return
            self._thread = thread
            _install_sigterm_handler()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            while not self._closed:
                self._wake.wait(self.flush_interval)
                self._wake.clear()
                self._drain()
            self._drain()
            self._persist_health(force=True, closing=True)
        finally:
            self._loop.close()

    def _drain_inline(self) -> None:
        with self._inline_lock:
            loop = asyncio.new_event_loop()
            previous, self._loop = self._loop, loop
            try:
                self._drain()
            finally:
                loop.close()
                self._loop = previous

    def _drain(self) -> None:
        """Write queued traces in batches, then progress of running traces."""
        try:
            if self._retry:
                self._write_batch([])
            while self._queue:
                batch: list[Trace] = []
                markers: list[_FlushMarker] = []
                queue = self._queue
                self._busy = True
                while queue and len(batch) < self.batch_size:
                    item = queue.popleft()
                    if isinstance(item, _FlushMarker):
                        markers.append(item)
                        break
                    batch.append(item)
                if batch:
                    self._write_batch(batch)
                self._busy = False
                for marker in markers:
                    failed = self._stats.dropped.get("write_failed", 0)
                    marker.ok = not self._retry and failed == marker.failed
                if markers:
                    self._persist_health(force=True)  # a flush also flushes the counters
                for marker in markers:
                    marker.done.set()
            self._write_partials()
            self._run_periodic()
            self._persist_health()
        except Exception as exc:  # the worker must survive anything
            self._note("writer", exc)

    def _run_periodic(self) -> None:
        now = time.monotonic()
        for name, entry in list(self._periodic.items()):
            interval, due, task = entry
            if now >= due:
                entry[1] = now + interval
                try:
                    task()
                except Exception as exc:
                    self._note(name, exc)

    def _call(self, coro: Any) -> None:
        assert self._loop is not None
        self._loop.run_until_complete(asyncio.wait_for(coro, self.write_timeout))

    def _write_batch(self, batch: list[Trace]) -> None:
        self._busy = True
        try:
            self._write_pending(batch)
        finally:
            self._busy = False

    def _prepare(self, traces: list[Trace]) -> list[Trace]:
        transform = self.transform
        if transform is None:
            return traces
        prepared = []
        for trace in traces:
            try:
                prepared.append(transform(trace))
            except Exception as exc:  # fail closed: a trace that cannot be cleaned is dropped
                self._note("transform", exc)
                self._drop("transform_failed", 1)
        return prepared

    def _write_pending(self, batch: list[Trace]) -> None:
        pending = self._retry + self._prepare(batch)
        self._retry = []
        for trace in batch:
            self._live.pop(trace.trace_id, None)
        self._stats.submitted += len(batch)
        try:
            self._call(self.storage.store_traces(pending))
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            self._stats.write_errors += 1
            self._note("write", exc)
            self._retry_count += 1
            if self._retry_count > self.write_retries:
                self._drop("write_failed", len(pending))
                self._retry_count = 0
            else:
                self._retry = pending
                time.sleep(min(0.05 * self._retry_count, 0.5))
            return
        self._retry_count = 0
        self._stats.written += len(pending)

    def _write_partials(self) -> None:
        if not self._live:
            return
        changed: list[Trace] = []
        for trace_id, (trace, seen) in list(self._live.items()):
            if trace.end_us is not None:
                continue  # its final write is queued
            runs = trace.runs
            signature = (len(runs), sum(1 for r in runs if r.end_us is not None), len(trace.logs))
            if signature != seen:
                self._live[trace_id] = (trace, signature)
                changed.append(trace)
        if changed:
            try:
                self._call(self.storage.store_partial(self._prepare(changed)))
                self._stats.partial_writes += len(changed)
            except Exception as exc:
                self._note("partial_write", exc)

    def _persist_health(self, *, force: bool = False, closing: bool = False) -> None:
        """Upsert this writer's counters into storage when they changed: at most every
        `HEALTH_INTERVAL` unless forced, never while a batch awaits its retry. Best
        effort: a failure backs off and the next successful write carries the counts."""
        if not self._keeps_health or self._retry:
            return
        now = time.monotonic()
        if not force and now < self._health_due:
            return
        health = self.health()
        health.closed = closing or health.closed
        signature = (
            health.submitted,
            health.written,
            health.write_errors,
            tuple(sorted(health.dropped.items())),
            health.buffer_depth,
            health.last_error,
            health.closed,
        )
        if signature == self._persisted:
            return
        try:
            self._call(self.storage.store_writer_stats(health))
        except Exception as exc:
            self._health_delay = min(self._health_delay * 2, _HEALTH_BACKOFF_MAX)
            self._health_due = now + self._health_delay
            if "health" not in self._logged:
                self._logged.add("health")
                logger.warning(
                    "myagent tracing: persisting writer counters failed (%s); "
                    "retried later, logged once",
                    redact_error(f"{type(exc).__name__}: {exc}"),
                )
            return
        self._persisted = signature
        self._health_delay = HEALTH_INTERVAL
        self._health_due = now + HEALTH_INTERVAL

    def _drop(self, reason: str, count: int) -> None:
        with self._drop_lock:
            dropped = self._stats.dropped
            dropped[reason] = dropped.get(reason, 0) + count
        if reason not in self._logged:
            self._logged.add(reason)
            logger.warning(
                "myagent tracing dropped traces (%s); further drops are counted in "
                "TraceManager.stats['writer']['dropped'] without more warnings",
                reason,
            )

    def _note(self, where: str, exc: BaseException) -> None:
        error = redact_error(f"{type(exc).__name__}: {exc}")  # it may quote a secret
        self._stats.last_error = f"{where}: {error}"
        if where not in self._logged:
            self._logged.add(where)
            logger.warning(
                "myagent tracing: %s failed (%s); counted in TraceManager.stats, logged once",
                where,
                error,
            )

    def _after_fork(self) -> None:
        # The parent still owns what it queued (and its counters); the child starts empty
        # with a new thread, a new writer id and counters of its own.
        self._stats = WriterStats()
        self._reset_runtime()
        self._closed = False


_WRITERS: weakref.WeakSet[BackgroundWriter] = weakref.WeakSet()
_SHUTDOWN_TIMEOUT = {"seconds": 5.0}


def set_shutdown_timeout(seconds: float) -> None:
    """How long exit and SIGTERM may spend writing pending traces, over all writers."""
    _SHUTDOWN_TIMEOUT["seconds"] = seconds


def flush_all(timeout: float | None = None) -> bool:
    """Flush every live writer within one shared deadline."""
    budget = _SHUTDOWN_TIMEOUT["seconds"] if timeout is None else timeout
    deadline = time.monotonic() + budget
    ok = True
    for writer in list(_WRITERS):
        remaining = max(0.0, deadline - time.monotonic())
        ok = writer.close(remaining) and ok
    return ok


def _after_fork_in_child() -> None:
    for writer in list(_WRITERS):
        writer._after_fork()
    _SIGTERM_STATE["installed"] = False


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(flush_all)

_SIGTERM_STATE: dict[str, Any] = {"installed": False}


def _install_sigterm_handler() -> None:
    """Flush on SIGTERM, then die of it as before; only if nobody else handles SIGTERM."""
    if _SIGTERM_STATE["installed"] or threading.current_thread() is not threading.main_thread():
        return
    try:
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return
        signal.signal(signal.SIGTERM, _on_sigterm)
        _SIGTERM_STATE["installed"] = True
    except (ValueError, OSError):
        return


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    try:
        flush_all()
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
