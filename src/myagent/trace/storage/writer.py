"""The background writer: moves finished traces to storage off the caller's path.

The caller only appends to a bounded deque (no lock, no I/O, no JSON). One daemon
thread wakes every `flush_interval` (or when a batch is full), hands batches to the
storage, retries failures, and snapshots running traces for live views. A full
buffer drops and counts; nothing grows without bound. The counters are persisted in
the storage too (`WriterHealth`), for viewers in other processes. The thread starts lazily (not
on import), is restarted in a forked child, and is drained at exit and on SIGTERM.

Nothing is lost silently: a trace whose conversion hangs is given up by the watchdog
(`dropped["stuck"]`) and a replacement thread carries on; whatever a closing deadline
abandons (queued, awaiting a retry, or in a write that never returned) is counted as
`dropped["shutdown"]`, so produced = written + dropped holds exactly.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from myagent.trace.ids import now_us
from myagent.trace.records import Trace
from myagent.trace.storage import shutdown, watchdog
from myagent.trace.storage.base import TraceStorage, listen_to_conversions
from myagent.trace.storage.health import WriterHealth
from myagent.trace.storage.health_report import HEALTH_INTERVAL, HealthReporter
from myagent.trace.storage.shutdown import flush_all, set_shutdown_timeout
from myagent.trace.storage.writer_stats import WriterStats

__all__ = [
    "HEALTH_INTERVAL",
    "BackgroundWriter",
    "WriterStats",
    "flush_all",
    "set_shutdown_timeout",
]


STUCK_TIMEOUT = 5.0
"""Default seconds one trace may take to be converted and redacted on the writer thread
before the watchdog gives it up as stuck (`TraceConfig.stuck_timeout`)."""
_POISONED_MAX = 1000
NOT_LOST = "buffer_full"
"""The one drop reason that does not make a later `flush` return False: such a trace
never entered the queue the flush covers."""


class _Abandoned(BaseException):
    """Ends a writer thread that was replaced (stuck) or given up on (a deadline passed);
    it must leave every counter and the queue to its successor."""


class _FlushMarker:
    """Put in the queue by `flush`; set once everything queued before it was handled."""

    __slots__ = ("done", "failed", "ok")

    def __init__(self, failed: int = 0) -> None:
        self.done = threading.Event()
        self.ok = True
        self.failed = failed  # drops but `NOT_LOST` when queued: more later means not ok


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
        stuck_timeout: float = STUCK_TIMEOUT,
    ) -> None:
        self.storage = storage
        self.buffer_size = buffer_size
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.write_retries = write_retries
        self.write_timeout = write_timeout
        self.stuck_timeout = stuck_timeout
        """Seconds one trace may take to convert and redact before it is given up."""
        self._stats = WriterStats()
        self._live: dict[str, tuple[Trace, tuple[int, int, int]]] = {}
        self._closed = False
        self._periodic: dict[str, list[Any]] = {}
        self.transform: Callable[[Trace], Trace] | None = None
        """Applied to each trace on this thread before storage sees it (redaction)."""
        self.pause: Callable[[], None] | None = None
        """Called between traces and batches: a server process's `ForegroundGate.pause`
        lets the requests it is answering go first (see `myagent.trace.foreground`)."""
        self._busy = False
        self._reset_runtime()
        shutdown.register(self)

    def _reset_runtime(self) -> None:
        # Everything that must be fresh in a forked child.
        self._queue: deque[Trace | _FlushMarker] = deque()
        self._wake = threading.Event()
        self._start_lock = threading.Lock()
        self._inline_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._retry: list[Trace] = []
        self._retry_count = 0
        self._local = threading.local()  # per thread: its event loop and generation
        # Watchdog state. Every outcome a writer thread records is checked against its
        # generation under `_state_lock`: a thread replaced or given up on records nothing.
        self._state_lock = threading.Lock()
        self._gen = 0
        self._unit: tuple[Trace, float] | None = None  # (trace being prepared, since)
        self._held: list[Trace] = []  # taken from the queue, not yet written or dropped
        self._held_markers: list[_FlushMarker] = []
        self._holding_partials = False
        self._poisoned: dict[str, None] = {}  # ids of running traces given up as stuck
        self._gave_up = False
        self._pid = os.getpid()
        self._live.clear()
        self.writer_id = uuid.uuid4().hex
        """Identifies this writer (in this process) in the persisted `WriterHealth` rows."""
        self._started_us = now_us()
        self._host = socket.gethostname()
        self._reporter = HealthReporter(self.storage)

    # -- caller's path -------------------------------------------------------------

    def submit(self, trace: Trace) -> None:
        """Queue a finished trace for storage; drops and counts when the buffer is full."""
        queue = self._queue
        if len(queue) >= self.buffer_size:
            self._live.pop(trace.trace_id, None)  # or every dropped trace stays referenced
            self._stats.drop("buffer_full", 1)
            return
        queue.append(trace)
        if self._closed:
            # After close (e.g. ended in a late atexit handler): no thread will come, so
            # write it from here, within the shutdown budget.
            self.flush(shutdown.timeout())
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
        marker = _FlushMarker(self._lost())
        self._queue.append(marker)
        if self._gave_up:
            # Closed with a thread still stuck in storage: writing from here could hang
            # the caller too. What arrives now is counted instead.
            self.settle()
            return False
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
        written in time. Whatever the deadline abandons is counted (`settle`)."""
        deadline = time.monotonic() + timeout
        ok = self.flush(timeout)
        self.stop()
        self.join(max(0.0, deadline - time.monotonic()))
        return self.settle() and ok

    def settle(self) -> bool:
        """After a closing deadline: count every trace not written as dropped ("shutdown")
        and give up a thread still busy (it records nothing if it ever returns, except
        that a write which lands after all moves its traces back to `written`).
        True when nothing was left."""
        with self._state_lock:
            thread = self._thread
            busy = (
                thread is not None
                and thread.is_alive()
                and thread is not threading.current_thread()
            )
            left = len(self._retry)
            if busy:
                self._gen += 1
                self._thread = None
                self._gave_up = True
                if not self._holding_partials:
                    left += len(self._held)
                self._held, self._held_markers, self._unit = [], [], None
            markers = []
            queue = self._queue
            while queue:
                item = queue.popleft()
                if isinstance(item, _FlushMarker):
                    markers.append(item)
                else:
                    self._live.pop(item.trace_id, None)
                    self._stats.submitted += 1
                    left += 1
            self._retry = []
            if left:
                self._stats.drop("shutdown", left)
        for marker in markers:
            marker.ok = False
            marker.done.set()
        return left == 0

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

    def _start(self, replacement: bool = False) -> None:
        with self._start_lock:
            if self._thread is not None or (self._closed and not replacement):
                return
            thread = threading.Thread(
                target=self._run, args=(self._gen,), name="myagent-trace-writer", daemon=True
            )
            try:
                thread.start()
            except RuntimeError as exc:  # e.g. "can't create new thread at interpreter shutdown"
                self._stats.note("thread_start", exc)
                return
            self._thread = thread
            watchdog.watch(self)
            shutdown.install_sigterm_handler()

    def _run(self, gen: int) -> None:
        local = self._local
        local.loop, local.gen = asyncio.new_event_loop(), gen
        listen_to_conversions(self._listener(gen), self._skip)
        try:
            while not self._closed:
                self._wake.wait(self.flush_interval)
                self._wake.clear()
                self._drain()
            self._drain()
            with self._state_lock:
                self._check(gen)
                if self._retry:  # its last attempt failed and no deadline is left
                    self._stats.drop("shutdown", len(self._retry))
                    self._retry = []
            self._persist_health(force=True, closing=True)
        except _Abandoned:
            pass  # replaced or given up on: the successor (or `settle`) counts everything
        finally:
            local.loop.close()

    def _drain_inline(self) -> None:
        with self._inline_lock:
            local = self._local
            previous = getattr(local, "loop", None), getattr(local, "gen", None)
            local.loop, local.gen = asyncio.new_event_loop(), self._gen
            listen_to_conversions(self._listener(self._gen), self._skip)
            try:
                self._drain()
            except _Abandoned:
                pass
            finally:
                listen_to_conversions(None)
                local.loop.close()
                local.loop, local.gen = previous

    def _listener(self, gen: int) -> Callable[[Trace | None], None]:
        """What `converting` calls on a writer thread of generation `gen`: marks the trace
        the storage converts now for the watchdog, and stops a replaced thread that came
        back from its hang before it writes anything."""

        def converting(trace: Trace | None) -> None:
            if gen != self._gen:
                raise _Abandoned
            self._unit = None if trace is None else (trace, time.monotonic())

        return converting

    def _skip(self, trace: Trace, reason: str, error: BaseException | None) -> None:
        """What `skipped` calls: tally what the current write will not store."""
        tally: dict[str, int] | None = getattr(self._local, "skipped", None)
        if tally is not None:
            tally[reason] = tally.get(reason, 0) + 1
        if error is not None:
            self._stats.note(reason, error)

    def _check(self, gen: int) -> None:
        """Raise `_Abandoned` in a thread of an older generation (call with the lock held)."""
        if gen != self._gen:
            raise _Abandoned

    def _lost(self) -> int:
        dropped = self._stats.dropped
        return sum(dropped.values()) - dropped.get(NOT_LOST, 0)

    def unstick(self, now: float) -> None:
        """Called by the watchdog: when the trace being redacted or converted (`converting`)
        has taken longer than `stuck_timeout`, count it as dropped ("stuck"), hand the
        rest of its batch back to the queue and start a replacement thread. A running
        trace (a progress write) is only marked: it is counted when it ends."""
        unit = self._unit
        if unit is None or now - unit[1] < self.stuck_timeout:
            return
        with self._state_lock:
            if self._unit is not unit:
                return  # it finished meanwhile
            stuck = unit[0]
            self._gen += 1
            self._unit = None
            self._thread = None
            held, markers = self._held, self._held_markers
            self._held, self._held_markers = [], []
            if self._holding_partials:
                # A running trace: never touch its values again, and count it once it ends.
                self._poisoned[stuck.trace_id] = None
                if len(self._poisoned) > _POISONED_MAX:
                    del self._poisoned[next(iter(self._poisoned))]
            else:
                self._stats.drop("stuck", 1)
                rest = [t for t in held if t.trace_id != stuck.trace_id]
                self._stats.submitted -= len(rest)  # counted again when taken again
                self._queue.extendleft(reversed([*rest, *markers]))
            self._live.pop(stuck.trace_id, None)
            took = f"a trace took over {self.stuck_timeout:g}s to convert and redact"
            self._stats.last_error = f"stuck: {took}"  # the drop's warning is the log line
        self._start(replacement=True)

    def _drain(self) -> None:
        """Write queued traces in batches, then progress of running traces."""
        gen = self._local.gen
        try:
            if self._retry:
                self._busy = True
                self._write_pending([])
                self._busy = False
            while self._queue:
                if self.pause is not None:
                    self.pause()
                batch: list[Trace] = []
                markers: list[_FlushMarker] = []
                queue = self._queue
                with self._state_lock:
                    self._check(gen)
                    self._busy = True
                    while queue and len(batch) < self.batch_size:
                        item = queue.popleft()
                        if isinstance(item, _FlushMarker):
                            markers.append(item)
                            break
                        batch.append(item)
                    self._held, self._held_markers = batch, markers
                    self._holding_partials = False
                    self._stats.submitted += len(batch)
                if batch:
                    self._write_pending(batch)
                with self._state_lock:
                    self._check(gen)
                    self._busy = False
                    self._held_markers = []
                    lost = self._lost()
                    for marker in markers:
                        marker.ok = not self._retry and lost == marker.failed
                if markers:
                    self._persist_health(force=True)  # a flush also flushes the counters
                for marker in markers:
                    marker.done.set()
            self._write_partials()
            self._run_periodic()
            self._persist_health()
        except Exception as exc:  # the worker must survive anything
            with self._state_lock:
                if gen == self._gen:
                    self._busy = False
                    self._stats.note("writer", exc)

    def _run_periodic(self) -> None:
        now = time.monotonic()
        for name, entry in list(self._periodic.items()):
            interval, due, task = entry
            if now >= due:
                entry[1] = now + interval
                try:
                    task()
                except Exception as exc:
                    self._stats.note(name, exc)

    def _call(self, coro: Any) -> None:
        self._local.loop.run_until_complete(asyncio.wait_for(coro, self.write_timeout))

    def _prepare(self, traces: list[Trace], final: bool = True) -> list[Trace]:
        """Each trace through `transform` (redaction), one at a time under the watchdog's
        eye: the one that hangs is known, and given up alone (`unstick`)."""
        transform = self.transform
        poisoned = self._poisoned
        if transform is None and not poisoned:
            return traces
        gen = self._local.gen
        pause = self.pause
        prepared = []
        for trace in traces:
            if pause is not None:
                pause()
            if poisoned and trace.trace_id in poisoned:
                if final:  # it hung while running: counted now, never converted again
                    with self._state_lock:
                        self._check(gen)
                        del poisoned[trace.trace_id]
                        self._stats.drop("stuck", 1)
                continue
            if transform is None:
                prepared.append(trace)
                continue
            self._unit = (trace, time.monotonic())
            try:
                prepared.append(transform(trace))
            except Exception as exc:  # fail closed: a trace that cannot be cleaned is dropped
                with self._state_lock:
                    self._check(gen)
                    self._stats.note("transform", exc)
                    self._stats.drop("transform_failed", 1)
            if gen != self._gen:
                raise _Abandoned
        return prepared

    def _write_pending(self, batch: list[Trace]) -> None:
        gen = self._local.gen
        prepared = self._prepare(batch)
        with self._state_lock:
            self._check(gen)
            self._unit = None  # the watchdog judges conversion only, never storage
            pending = self._retry + prepared
            self._retry = []
            self._held = pending
            for trace in batch:
                self._live.pop(trace.trace_id, None)
        skipped: dict[str, int] = {}
        self._local.skipped = skipped
        try:
            self._call(self.storage.store_traces(pending))
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt | SystemExit | _Abandoned):
                raise
            with self._state_lock:
                self._check(gen)  # given up meanwhile: `settle` counted these already
                self._held, self._unit = [], None
                self._stats.write_errors += 1
                self._stats.note("write", exc)
                self._retry_count += 1
                if self._retry_count > self.write_retries:
                    self._stats.drop("write_failed", len(pending))
                    self._retry_count = 0
                    return
                self._retry = pending
            time.sleep(min(0.05 * self._retry_count, 0.5))
            return
        with self._state_lock:
            if gen != self._gen:
                # It landed after all, after a deadline counted it as dropped: move the
                # count back, so the books stay exact.
                landed = len(pending) - sum(skipped.values())
                self._stats.written += self._stats.undrop("shutdown", landed)
                raise _Abandoned
            self._held, self._unit = [], None
            self._retry_count = 0
            self._stats.written += len(pending) - sum(skipped.values())
            for reason, count in skipped.items():
                self._stats.drop(reason, count)

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
        if not changed:
            return
        gen = self._local.gen
        with self._state_lock:
            self._check(gen)
            self._held, self._holding_partials = changed, True
        self._local.skipped = {}  # a running trace skipped now is counted when it ends
        try:
            prepared = self._prepare(changed, final=False)
            if prepared:
                self._call(self.storage.store_partial(prepared))
                self._stats.partial_writes += len(prepared)
        except Exception as exc:
            self._stats.note("partial_write", exc)
        with self._state_lock:
            self._check(gen)
            self._unit = None
            self._held, self._holding_partials = [], False

    def _persist_health(self, *, force: bool = False, closing: bool = False) -> None:
        """Upsert this writer's counters into storage when they changed: at most every
        `HEALTH_INTERVAL` unless forced, never while a batch awaits its retry."""
        if self._retry or not self._reporter.due(force):
            return
        health = self.health()
        health.closed = closing or health.closed
        self._reporter.report(health, self._call)

    def _after_fork(self) -> None:
        # The parent still owns what it queued (and its counters); the child starts empty
        # with a new thread, a new writer id and counters of its own.
        self._stats = WriterStats()
        self._reset_runtime()
        self._closed = False
