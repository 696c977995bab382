"""`ProcessStorage`: the background writer's storage when the writer process is on.

The writer thread hands each batch to a child process (`child`) as one `handoff` JSON
frame and waits for its answer; the child redacts, builds the rows and runs the SQL. The
traced program's process then pays one orjson call and a pipe write per batch, and the
wait, the read and the child's work leave its GIL free. An answer comes only after the
child's storage committed, so `flush` still means "stored".

Faults stay counted: a child that dies, closes its pipe or does not answer within
`timeout` is killed and the batch fails like any write (the writer counts a write error
and retries it with a new child; after its retries it drops the batch, counted). A child
that cannot start or open the storage turns the mode off: batches are then redacted and
written in this process, as without the mode (logged once). Reads, writer counters and
retention stay with the storage in this process.
"""

from __future__ import annotations

import base64
import logging
import os
import pickle
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Sequence
from typing import Any

import orjson

import myagent
from myagent.trace.records import Trace
from myagent.trace.redaction import Redactor, redact_error
from myagent.trace.serialize import get_max_value_size
from myagent.trace.storage.base import TraceStorage, converting, skipped
from myagent.trace.storage.health import WriterHealth
from myagent.trace.storage.process import handoff, pipe

logger = logging.getLogger("myagent.trace")

START_TIMEOUT = 60.0
"""Seconds a new writer process may take to start and open its storage."""


class ChildLost(ConnectionError):
    """The writer process died, closed its pipe or did not answer in time."""


class _Child:
    """One running writer process and our ends of its pipes."""

    def __init__(self, process: subprocess.Popen[bytes], config: tuple[Any, int]) -> None:
        self.process = process
        self.redacts = False
        """True when it took the redactor (else we redact)."""
        self.config = config
        """(redactor, max value size) it was given."""
        assert process.stdin is not None and process.stdout is not None
        self.send_fd = process.stdin.fileno()
        self.receive_fd = process.stdout.fileno()
        os.set_blocking(self.send_fd, False)
        pipe.widen(self.send_fd)  # a whole batch in one write

    def kill(self) -> None:
        try:
            self.process.kill()
            self.process.wait(5)
        except Exception:
            pass
        self.forget()

    def forget(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except Exception:
                pass


class ProcessStorage(TraceStorage):
    """Writes finished and running traces through a writer process into `storage`."""

    def __init__(
        self, storage: TraceStorage, spec: dict[str, Any], *, timeout: float = 30.0
    ) -> None:
        self.storage = storage
        """The storage in this process: reads, writer counters, retention, fallback."""
        self.spec = spec
        self.timeout = timeout
        """Seconds the writer process may take to answer one batch."""
        self.redactor: Redactor | None = None
        """Applied to each trace before it is stored (in the child when it could take
        it, else here); None stores traces as they are."""
        self.supports_partial = storage.supports_partial
        self.starts = 0
        self.lost = 0
        self.in_process = False
        """True once the child could not start: everything is written from here."""
        self._child: _Child | None = None
        self._closed = False
        self._pid = os.getpid()
        self._lock = threading.Lock()  # one batch on the pipe at a time
        _STORAGES.add(self)

    # -- the storage face ----------------------------------------------------------

    async def store_trace(self, trace: Trace) -> None:
        """Store one finished trace (through `store_traces`)."""
        await self.store_traces([trace])

    async def store_traces(self, traces: Sequence[Trace]) -> None:
        """Store finished traces; returns once the writer process committed them."""
        await self._store(b"T", traces)

    async def store_partial(self, traces: Sequence[Trace]) -> None:
        """Store running traces (live views), like `store_traces`."""
        await self._store(b"P", traces)

    async def store_writer_stats(self, health: WriterHealth) -> None:
        """Counters go to the storage in this process."""
        await self.storage.store_writer_stats(health)

    async def close(self) -> None:
        """End the writer process (it closes its storage), then close the storage here.
        Whatever comes later (a trace ended after `close`) is written from this process."""
        self._closed = True
        self.stop_child()
        await self.storage.close()

    @property
    def process_stats(self) -> dict[str, Any]:
        """Writer processes started and lost, its pid, and whether writing fell back
        to this process."""
        child = self._child
        return {
            "starts": self.starts,
            "lost": self.lost,
            "pid": None if child is None else child.process.pid,
            "in_process": self.in_process,
        }

    # -- internals -----------------------------------------------------------------

    async def _store(self, kind: bytes, traces: Sequence[Trace]) -> None:
        if self.in_process or self._closed:
            await self._store_here(kind, traces)
            return
        with self._lock:
            child = self._current()
        if child is None:
            await self._store_here(kind, traces)
            return
        # Redaction and conversion run the program's code: outside the lock, so a
        # replacement writer thread is never held up by one the watchdog gave up on.
        redacted = not child.redacts and self.redactor is not None
        batch = self._redact_here(traces) if redacted else list(traces)
        data = handoff.encode(batch)
        if data is None:
            batch, data = _converted(batch)
        converting(None)
        if not batch:
            return
        frame = kind + (b"1" if redacted or self.redactor is None else b"0")
        with self._lock:
            current = self._child is child and child.config[0] is self.redactor
            if current:
                reply = self._ask(child, frame + data)
        if not current:  # replaced or reconfigured meanwhile: once more, with the new one
            await self._store(kind, traces)
            return
        if not reply.get("ok"):
            raise RuntimeError(f"writer process: {reply.get('error')}")
        if reply.get("redaction") and self.redactor is not None:
            self.redactor.add_stats(reply["redaction"])
        for index, reason, error in reply.get("skipped") or ():
            trace = batch[index] if 0 <= index < len(batch) else batch[0]
            skipped(trace, reason, None if error is None else RuntimeError(error))

    async def _store_here(self, kind: bytes, traces: Sequence[Trace]) -> None:
        batch = self._redact_here(traces) if self.redactor is not None else list(traces)
        converting(None)
        if batch:
            write = self.storage.store_traces if kind == b"T" else self.storage.store_partial
            await write(batch)

    def _redact_here(self, traces: Sequence[Trace]) -> list[Trace]:
        """Each trace redacted in this process, under the writer's watchdog; one that
        cannot be redacted is skipped (counted as `transform_failed`), never stored."""
        redactor = self.redactor
        assert redactor is not None
        out = []
        for trace in traces:
            converting(trace)
            try:
                out.append(redactor.redact_trace(trace))
            except Exception as exc:
                if not skipped(trace, "transform_failed", exc):
                    raise
        return out

    def _ask(self, child: _Child, frame: bytes) -> dict[str, Any]:
        """Send one frame and read its answer; a child that fails is killed (`ChildLost`)."""
        deadline = time.monotonic() + self.timeout
        try:
            pipe.send(child.send_fd, frame, deadline)
            reply: dict[str, Any] = orjson.loads(pipe.receive(child.receive_fd, deadline))
        except (OSError, ValueError) as exc:
            self._lose(child)
            raise ChildLost(f"the writer process was lost ({type(exc).__name__}: {exc})") from exc
        return reply

    def _lose(self, child: _Child) -> None:
        self.lost += 1
        child.kill()
        if self._child is child:
            self._child = None

    def _after_fork(self) -> None:
        """In a forked process: the writer process and its pipes are the parent's. Close
        our copies at once (the parent's child must see its pipe close when the parent
        exits); a child of our own starts with the first batch."""
        if self._child is not None:
            self._child.forget()
        self._child, self._pid = None, os.getpid()
        self._lock = threading.Lock()  # a thread of the parent may have held it

    def _current(self) -> _Child | None:
        """The running child, started (or reconfigured) as needed; None when none can
        start (then this process writes from now on, logged once)."""
        child = self._child
        wanted = (self.redactor, get_max_value_size())
        if child is not None and child.config[0] is wanted[0] and child.config[1] == wanted[1]:
            return child
        redactor = _pickled(self.redactor)
        config = {
            "storage": self.spec,
            "max_value_size": wanted[1],
            "redactor": redactor,
        }
        if child is not None:  # the redactor changed: tell the running child
            reply = self._ask(child, b"C" + orjson.dumps(config))
            child.redacts, child.config = bool(reply.get("redacts")), wanted
            return child
        try:
            child = self._start(config, wanted)
        except Exception as exc:
            self.in_process = True
            logger.warning(
                "myagent tracing: the writer process could not start (%s); traces are "
                "written from this process instead, logged once",
                redact_error(f"{type(exc).__name__}: {exc}"),
            )
            return None
        self._child = child
        return child

    def _start(self, config: dict[str, Any], wanted: tuple[Any, int]) -> _Child:
        executable = sys.executable
        if not executable or "python" not in os.path.basename(executable).lower():
            # Embedded (uWSGI, mod_wsgi...): sys.executable is not an interpreter to run.
            raise RuntimeError(f"no Python interpreter to run (sys.executable={executable!r})")
        env = dict(os.environ)
        root = os.path.dirname(os.path.dirname(os.path.abspath(myagent.__file__)))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        process = subprocess.Popen(
            [executable, "-m", "myagent.trace.storage.process.child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            start_new_session=True,  # Ctrl-C reaches the parent only; it flushes first
        )
        self.starts += 1
        child = _Child(process, wanted)
        deadline = time.monotonic() + START_TIMEOUT
        try:
            pipe.send(child.send_fd, b"C" + orjson.dumps(config), deadline)
            reply = orjson.loads(pipe.receive(child.receive_fd, deadline))
        except BaseException:
            child.kill()
            raise
        if not reply.get("ok"):
            child.kill()
            raise RuntimeError(str(reply.get("error")))
        child.redacts = bool(reply.get("redacts"))
        return child

    def stop_child(self, timeout: float = 5.0) -> None:
        """Ask the writer process to close its storage and end (killed past `timeout`)."""
        with self._lock:
            child, self._child = self._child, None
            if child is None or os.getpid() != self._pid:
                return
            try:
                pipe.send(child.send_fd, b"Q", time.monotonic() + timeout)
                pipe.receive(child.receive_fd, time.monotonic() + timeout)
                child.process.wait(timeout)
                child.forget()
            except Exception:
                child.kill()


_STORAGES: weakref.WeakSet[ProcessStorage] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for storage in list(_STORAGES):
        storage._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _converted(traces: list[Trace]) -> tuple[list[Trace], bytes]:
    """The payload of a batch holding values `marshal` refuses, each trace under the
    writer's watchdog (its conversion runs the program's code); a trace that cannot be
    converted is skipped (counted as `convert_failed`), as storage would skip it."""
    kept, items = [], []
    for trace in traces:
        converting(trace)
        try:
            items.append(handoff.item(trace))
        except Exception as exc:
            if not skipped(trace, "convert_failed", exc):
                raise
            continue
        kept.append(trace)
    return kept, handoff.pack(items)


def _pickled(redactor: Redactor | None) -> str | None:
    """The redactor for the writer process, or None when it cannot go there (the
    traces are then redacted in this process)."""
    if redactor is None:
        return None
    try:
        return base64.b64encode(pickle.dumps(redactor)).decode()
    except Exception:
        return None
