"""The OTLP receiver in a child process, so a viewer's pages never share a GIL with ingest.

`myagent viewer` answers `POST /v1/traces` on its own port, but decoding, mapping and
writing the spans (tens of microseconds of Python a span) happen in a child process that
opens the same database and runs the very same `OTLPReceiver`: the viewer's process only
passes request bodies and replies through a pipe (the pipe I/O releases the GIL).

A child that dies or stops answering is counted (`stats["faults"]`), logged once, and
replaced on the next request; the request it held is answered 503 + Retry-After, so the
exporter sends it again (OTLP's retry contract). What the child had acknowledged is in its
writer (flushed on a clean stop; a killed child loses what it had not written yet, exactly
as a killed `myagent collect` would).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from myagent.trace.otel.receiver import (
    STAT_NAMES,
    OTLPReceiver,
    OTLPRequestError,
    Reply,
    error_reply,
)

logger = logging.getLogger("myagent.trace")

ANSWER_TIMEOUT = 120.0
"""Seconds the child may take over one request before it is given up and replaced."""
START_TIMEOUT = 60.0
"""Seconds a new child has to import, open the database and say it is ready."""
STOP_TIMEOUT = 15.0
"""Seconds a stopping child has to flush its writer before it is terminated."""
_CONTEXT = multiprocessing.get_context("spawn")  # no fork of a threaded server


def _child_main(conn: Connection, db: str, options: dict[str, Any]) -> None:
    """The child's entry point: one receiver over `db`, one request at a time."""
    asyncio.run(_serve_pipe(conn, db, options))


async def _serve_pipe(conn: Connection, db: str, options: dict[str, Any]) -> None:
    from myagent.trace.config import storage_for
    from myagent.trace.manager import TraceManager

    manager = TraceManager(storage_for(db))
    receiver = OTLPReceiver(manager, **options)
    conn.send("ready")
    try:
        while True:
            try:
                message = await asyncio.to_thread(conn.recv)
            except (EOFError, OSError):  # the viewer went away: flush and stop
                break
            if message is None:
                break
            body, content_type, encoding = message
            accepted, rejected = receiver.stats["accepted_spans"], receiver.stats["rejected_spans"]
            reply = await receiver.export(body, content_type, encoding)
            accepted = receiver.stats["accepted_spans"] - accepted
            rejected = receiver.stats["rejected_spans"] - rejected
            answer = (reply.status, reply.body, reply.content_type, reply.headers)
            conn.send((*answer, accepted, rejected))
    finally:
        await receiver.close()
        manager.close(manager.config.shutdown_timeout)
        conn.close()


class ReceiverProcess:
    """`OTLPReceiver.export` answered by a child process writing into `db` (path or URL)."""

    def __init__(
        self,
        db: str,
        *,
        max_body_bytes: int,
        max_spans: int,
        idle_timeout: float,
        answer_timeout: float = ANSWER_TIMEOUT,
    ) -> None:
        self.db = db
        self.options = {
            "max_body_bytes": max_body_bytes,
            "max_spans": max_spans,
            "idle_timeout": idle_timeout,
        }
        self.answer_timeout = answer_timeout
        self.stats = dict.fromkeys((*STAT_NAMES, "child_starts"), 0)
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._lock = asyncio.Lock()
        self._logged: set[str] = set()

    @property
    def pid(self) -> int | None:
        """The child's process id (None before it started)."""
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        """Start the child (done on the first request when not called before)."""
        if self._process is not None and self._process.is_alive():
            return
        self._discard()
        parent, child = _CONTEXT.Pipe()
        process = _CONTEXT.Process(
            target=_child_main,
            args=(child, self.db, self.options),
            name="myagent-otlp-receiver",
            daemon=True,
        )
        process.start()
        child.close()
        self._process, self._conn = process, parent
        self.stats["child_starts"] += 1
        if not parent.poll(START_TIMEOUT) or parent.recv() != "ready":
            raise TimeoutError(f"the receiver process was not ready within {START_TIMEOUT:g} s")

    def _discard(self) -> None:
        """Forget a dead or given-up child (terminated if it still runs)."""
        if self._conn is not None:
            self._conn.close()
        process = self._process
        if process is not None and process.is_alive():
            process.terminate()
            process.join(2)
            if process.is_alive():  # stopped or ignoring SIGTERM
                process.kill()
                process.join(2)
        self._process = self._conn = None

    def _round_trip(self, message: tuple[bytes, str | None, str | None]) -> tuple[Any, ...]:
        if self._process is not None and not self._process.is_alive():
            # Died between requests: counted, and a new child takes this request.
            self.stats["faults"] += 1
            self._log_once(f"exit {self._process.exitcode}", "the child process exited")
        if self._process is None or not self._process.is_alive():
            self.start()
        conn = self._conn
        assert conn is not None
        conn.send(message)
        if not conn.poll(self.answer_timeout):
            raise TimeoutError(f"no answer within {self.answer_timeout:g} s")
        answer: tuple[Any, ...] = conn.recv()
        return answer

    async def export(
        self, body: bytes, content_type: str | None, content_encoding: str | None = None
    ) -> Reply:
        """Handle one export request in the child; never raises."""
        self.stats["requests"] += 1
        async with self._lock:  # the child takes one request at a time
            try:
                answer = await asyncio.to_thread(
                    self._round_trip, (body, content_type, content_encoding)
                )
            except Exception as exc:  # died, hung, could not start: counted, then replaced
                await asyncio.to_thread(self._discard)
                return self._fault(exc, content_type)
        status, reply_body, kind, headers, accepted, rejected = answer
        self.stats["accepted_spans"] += accepted
        self.stats["rejected_spans"] += rejected
        self.stats["refused"] += status != 200
        return Reply(status, reply_body, kind, headers)

    def _fault(self, exc: Exception, content_type: str | None) -> Reply:
        self.stats["refused"] += 1
        self.stats["faults"] += 1
        name = type(exc).__name__
        self._log_once(name, f"{name}: {exc}; answered 503")
        reason = f"the receiver process stopped ({name}); retry later"
        return error_reply(OTLPRequestError(503, reason, {"Retry-After": "1"}), content_type)

    def _log_once(self, kind: str, what: str) -> None:
        if kind not in self._logged:  # counted always, logged once a kind
            self._logged.add(kind)
            logger.warning(
                "OTLP receiver process failed (%s); a new one takes over; counted in "
                "stats['faults'], logged once",
                what,
            )

    async def close(self) -> None:
        """Ask the child to flush and stop; terminate it if it does not in time."""
        async with self._lock:
            await asyncio.to_thread(self._stop)

    def _stop(self) -> None:
        process, conn = self._process, self._conn
        if process is None or conn is None:
            return
        with contextlib.suppress(OSError):
            conn.send(None)
        process.join(STOP_TIMEOUT)
        self._discard()
