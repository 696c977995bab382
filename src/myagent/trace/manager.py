"""TraceManager: opens and closes traces and records, and hands finished traces to storage.

The caller's path only builds light records and appends to a queue; storage work
happens on the background writer. Nothing in here raises into the traced program:
faults are caught, counted in `stats`, and logged once per kind.
"""

from __future__ import annotations

import itertools
import logging
import time
import traceback
from collections.abc import Callable, Sequence
from contextvars import Token
from datetime import UTC, datetime
from typing import Any, TypeVar

from myagent.trace.baggage import apply_baggage
from myagent.trace.config import TraceConfig, create_storage
from myagent.trace.context import current_run_var, current_trace_var, get_current_trace
from myagent.trace.freeze import freeze_trace
from myagent.trace.ids import new_trace_id, now_us
from myagent.trace.legacy import TraceMetadata, record_arguments, trace_arguments
from myagent.trace.manager_queries import TraceQueriesMixin
from myagent.trace.records import (
    RECORD_TYPES,
    LogEntry,
    RunRecord,
    StepRecord,
    Trace,
    TraceStatus,
)
from myagent.trace.redaction import Redactor, redact_error
from myagent.trace.scopes import RunScope, TraceScope
from myagent.trace.scoring import ScoreRecorder, ScoringMixin
from myagent.trace.serialize import set_max_value_size
from myagent.trace.storage.base import TraceStorage
from myagent.trace.storage.writer import BackgroundWriter, set_shutdown_timeout
from myagent.trace.sync_bridge import run_sync

logger = logging.getLogger("myagent.trace")
T = TypeVar("T")
_UNSET: Any = object()


def _counter_value(counter: itertools.count[int]) -> int:
    # itertools.count is the one thread-safe counter in the stdlib; its repr holds the value.
    return int(repr(counter)[6:-1])


def error_fields(error: BaseException | str) -> tuple[str, str, str | None]:
    """(error message, error type, stack trace) for an exception or a message."""
    if isinstance(error, BaseException):
        message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        stack = "".join(traceback.format_exception(error)) if error.__traceback__ else None
        return message, type(error).__name__, stack
    return str(error), "Error", None


class TraceManager(TraceQueriesMixin, ScoringMixin):
    """Central coordinator: trace lifecycle, records, logs, storage and queries."""

    def __init__(
        self,
        storage: TraceStorage | None = None,
        *,
        enabled: bool | None = None,
        config: TraceConfig | None = None,
        redactor: Redactor | None = None,
        **options: Any,
    ) -> None:
        self.config = config if config is not None else TraceConfig()
        if options:
            self.config.update(**options)
        if enabled is not None:
            self.config.enabled = enabled
        self.enabled: bool = self.config.enabled
        self._storage = storage if storage is not None else create_storage(self.config)
        self._writer = BackgroundWriter(
            self._writer_storage(),
            buffer_size=self.config.buffer_size,
            batch_size=self.config.batch_size,
            flush_interval=self.config.flush_interval,
            write_retries=self.config.write_retries,
            stuck_timeout=self.config.stuck_timeout,
        )
        self._sinks: dict[str, BackgroundWriter] = {}
        self._redactor = redactor if redactor is not None else Redactor()
        self._active: dict[str, Trace] = {}
        self._tokens: dict[str, tuple[Token[Trace | None], Token[RunRecord | None]]] = {}
        self._started = itertools.count()
        self._finished = itertools.count()
        self._records = itertools.count()
        self._faults: dict[str, int] = {}
        self._scores = ScoreRecorder(self)
        self._apply_config()

    # -- configuration ---------------------------------------------------------------

    @property
    def storage(self) -> TraceStorage:
        """The backend finished traces go to."""
        return self._storage

    def _writer_storage(self) -> TraceStorage:
        """The storage the writer writes to: a `ProcessStorage` in front of it when the
        writer process is on (and can serve it)."""
        if self.config.writer_process:
            from myagent.trace.storage.process import process_storage_for

            found = process_storage_for(self._storage)
            if found is not None:
                return found
        return self._storage

    def add_sink(self, sink: TraceStorage, name: str | None = None) -> str:
        """Also send every finished trace to `sink` (an exporter, metrics...), beside storage.

        Each sink has its own queue and thread, so a slow or failing sink never slows the
        traced program, the storage or the other sinks. Returns the sink's name.
        """
        key = name or type(sink).__name__
        config = self.config
        self._sinks[key] = BackgroundWriter(
            sink,
            buffer_size=config.buffer_size,
            batch_size=config.batch_size,
            flush_interval=config.flush_interval,
            write_retries=config.write_retries,
            stuck_timeout=config.stuck_timeout,
        )
        self._apply_config()
        return key

    @property
    def redactor(self) -> Redactor:
        """The redactor applied before storage and sinks (when `config.redact` is on)."""
        return self._redactor

    def set_redactor(self, redactor: Redactor | None) -> None:
        """Use another redactor; None turns redaction off (`configure(redact=False)`)."""
        if redactor is not None:
            self._redactor = redactor
        self.configure(redact=redactor is not None)

    def remove_sink(self, name: str, timeout: float = 5.0) -> bool:
        """Flush and detach a sink; True when everything reached it in time."""
        sink = self._sinks.pop(name, None)
        return True if sink is None else sink.close(timeout)

    def configure(self, **options: Any) -> None:
        """Change settings at run time; unknown option names raise TypeError.

        Accepts max_trace_age (alias max_age), max_trace_count, auto_cleanup,
        cleanup_interval, async_storage, batch_size, buffer_size, flush_interval,
        max_value_size, shutdown_timeout, stuck_timeout, write_retries and enabled.
        """
        self.config.update(**options)
        self.enabled = self.config.enabled
        self._apply_config()

    def yield_to(self, pause: Callable[[], None] | None) -> None:
        """Have the storage writer call `pause` between traces and batches (a server's
        `ForegroundGate.pause`: its requests go first); None stops it."""
        self._writer.pause = pause

    def _apply_config(self) -> None:
        config = self.config
        transform = self._redactor.redact_trace if config.redact else None
        for writer in (self._writer, *self._sinks.values()):
            writer.transform = transform
            writer.buffer_size = config.buffer_size
            writer.batch_size = config.batch_size
            writer.flush_interval = config.flush_interval
            writer.write_retries = config.write_retries
            writer.stuck_timeout = config.stuck_timeout
        writer = self._writer
        if writer.storage is not self._storage:  # the writer process redacts
            redactor = self._redactor if config.redact else None
            writer.storage.redactor = redactor  # type: ignore[attr-defined]
            writer.transform = None
        set_max_value_size(config.max_value_size)
        set_shutdown_timeout(config.shutdown_timeout)
        retention = config.max_trace_age is not None or config.max_trace_count is not None
        interval = config.cleanup_interval.total_seconds()
        writer.set_periodic(
            "cleanup", interval if (config.auto_cleanup and retention) else None, self._cleanup_tick
        )

    # -- faults ----------------------------------------------------------------------

    def _fault(self, where: str, exc: BaseException) -> None:
        count = self._faults.get(where, 0)
        self._faults[where] = count + 1
        if count == 0:
            logger.warning(
                "myagent tracing fault in %s (%s); counted in TraceManager.stats, logged once",
                where,
                redact_error(f"{type(exc).__name__}: {exc}"),
            )

    # -- traces ----------------------------------------------------------------------

    def _begin_trace(
        self,
        name: str | None,
        agent_name: str | None,
        input_data: Any,
        session_id: str | None,
        metadata: dict[str, Any] | None,
        tags: Sequence[str] | None,
    ) -> Trace:
        trace = Trace(
            name=name or agent_name or "trace",
            agent_name=agent_name,
            session_id=session_id,
            input=input_data,
            metadata=dict(metadata) if metadata else {},
            tags=list(tags) if tags else [],
        )
        apply_baggage(trace)
        if self.enabled:
            next(self._started)
            self._active[trace.trace_id] = trace
            self._writer.watch(trace)
        return trace

    def _finish_trace(
        self,
        trace: Trace,
        output: Any = _UNSET,
        error: BaseException | str | None = None,
        status: str | None = None,
    ) -> Trace:
        if trace.end_us is not None:
            return trace
        try:
            end = now_us()
            if output is not _UNSET:
                trace.output = output
            if error is not None:
                trace.error = error_fields(error)[0]
            for run in trace.runs:
                if run.end_us is None:
                    run.end_us = end
                    run.success = False
                    run.error = run.error or "unfinished when its trace ended"
            if status is not None:
                trace.status = str(status)
            elif trace.status == TraceStatus.RUNNING:
                trace.status = TraceStatus.ERROR if trace.error else TraceStatus.SUCCESS
            trace.end_us = end
            if self._active.pop(trace.trace_id, None) is not None:
                freeze_trace(trace)  # a value the program changes later changes nothing stored
                next(self._finished)
                self._writer.submit(trace)
                for sink in self._sinks.values():
                    sink.submit(trace)
                if not self.config.async_storage:
                    self._writer.flush(self.config.shutdown_timeout)
        except Exception as exc:
            self._fault("end_trace", exc)
        return trace

    def start_trace(
        self,
        agent_name: str | None = None,
        input_data: Any = None,
        session_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: Sequence[str] | None = None,
        name: str | None = None,
    ) -> str:
        """Open a trace, make it current in this context, and return its id."""
        if not self.enabled:
            return new_trace_id()
        try:
            trace = self._begin_trace(name, agent_name, input_data, session_id, metadata, tags)
            self._tokens[trace.trace_id] = (current_trace_var.set(trace), current_run_var.set(None))
            return trace.trace_id
        except Exception as exc:
            self._fault("start_trace", exc)
            return new_trace_id()

    def end_trace(
        self,
        trace_id: str | Trace | None = None,
        output: Any = _UNSET,
        error: BaseException | str | None = None,
        status: str | None = None,
    ) -> Trace:
        """Close a trace (default: the current one) and queue it for storage; returns it."""
        if isinstance(trace_id, Trace):
            trace: Trace | None = trace_id
        elif trace_id is None:
            trace = get_current_trace()
        else:
            trace = self._active.get(trace_id)
        if trace is None:
            # Disabled, unknown or already ended: hand back a detached, closed trace.
            detached = Trace(trace_id=trace_id if isinstance(trace_id, str) else new_trace_id())
            detached.status, detached.end_us = TraceStatus.SUCCESS.value, detached.start_us
            return detached
        tokens = self._tokens.pop(trace.trace_id, None)
        if tokens is not None:
            try:
                current_run_var.reset(tokens[1])
                current_trace_var.reset(tokens[0])
            except ValueError:  # ended in another context than it started in
                if current_trace_var.get() is trace:
                    current_trace_var.set(None)
                    current_run_var.set(None)
        return self._finish_trace(trace, output, error, status)

    def trace(
        self,
        name: str | None = None,
        request: Any = None,
        metadata: dict[str, Any] | TraceMetadata | None = None,
        *,
        agent_name: str | None = None,
        input: Any = None,
        session_id: str | None = None,
        tags: Sequence[str] | None = None,
        **custom_fields: Any,
    ) -> TraceScope:
        """`with`/`async with` block that is one trace; an exception marks it failed.
        The earlier spellings work too (see `myagent.trace.legacy.trace_arguments`)."""
        args = trace_arguments(input, request, metadata, session_id, tags, custom_fields)
        return TraceScope(self, name, agent_name, *args)

    @property
    def current_trace(self) -> Trace | None:
        """The running trace of the calling context, or None."""
        return get_current_trace()

    @property
    def current_run(self) -> RunRecord | None:
        """The record new records nest under in the calling context, or None."""
        return current_run_var.get()

    def get_active_trace(self, trace_id: str) -> Trace | None:
        """A running trace by id."""
        return self._active.get(trace_id)

    # -- records ---------------------------------------------------------------------

    def start_run(
        self,
        kind: type[RunRecord] | str = StepRecord,
        name: str = "",
        *,
        trace: Trace | None = None,
        parent: RunRecord | None = _UNSET,
        **fields: Any,
    ) -> RunRecord | None:
        """Open a record in `trace` (default: current) under `parent` (default: current run).

        Returns None when tracing is off or there is no running trace. Does not make the
        record current; `run(...)` blocks do.
        """
        if not self.enabled:
            return None
        if trace is None:
            trace = get_current_trace()
            if trace is None:
                return None
        try:
            cls = RECORD_TYPES[kind] if isinstance(kind, str) else kind
            if parent is _UNSET:
                parent = current_run_var.get()
            record = cls(
                name=name,
                trace_id=trace.trace_id,
                parent_id=None if parent is None else parent.run_id,
                **fields,
            )
            trace.runs.append(record)
            next(self._records)
            return record
        except Exception as exc:
            self._fault("start_run", exc)
            return None

    def end_run(
        self,
        record: RunRecord | None,
        *,
        error: BaseException | str | None = None,
        **fields: Any,
    ) -> None:
        """Close a record; `error` marks it failed with type, message and stack trace."""
        if record is None or record.end_us is not None:
            return
        try:
            for key, value in fields.items():
                setattr(record, key, value)
            if error is not None:
                record.success = False
                record.error, record.error_type, record.stacktrace = error_fields(error)
            record.end_us = now_us()
        except Exception as exc:
            self._fault("end_run", exc)

    def run(
        self,
        name: str = "",
        kind: type[RunRecord] | str = StepRecord,
        inputs: Any = None,
        parent_run_id: str | None = None,
        *,
        parent: RunRecord | None = _UNSET,
        **fields: Any,
    ) -> RunScope:
        """`with`/`async with` block that is one record, current inside the block; outside
        a running trace it opens its own trace named after the record. The earlier
        spellings work too (see `myagent.trace.legacy.record_arguments`)."""
        extra = {"inputs": inputs, "parent_run_id": parent_run_id}
        fields.update((key, value) for key, value in extra.items() if value is not None)
        cls, parent, fields = record_arguments(name, kind, parent, fields)
        return RunScope(self, name, cls, parent, fields)

    def add_step(
        self,
        trace_id: str | None = None,
        step_name: str = "step",
        result: Any = None,
        *,
        inputs: Any = None,
        metadata: dict[str, Any] | None = None,
        error: BaseException | str | None = None,
    ) -> StepRecord | None:
        """Record a finished step (a point in time) in a trace (default: the current one)."""
        if not self.enabled:
            return None
        trace = self._active.get(trace_id) if trace_id else get_current_trace()
        if trace is None:
            return None
        same = current_trace_var.get() is trace
        record = self.start_run(
            StepRecord,
            step_name,
            trace=trace,
            parent=current_run_var.get() if same else None,
            inputs=inputs,
            output=result,
            metadata=dict(metadata) if metadata else {},
        )
        self.end_run(record, error=error)
        return record if isinstance(record, StepRecord) else None

    def add_log_entry(
        self, level: str = "INFO", message: str = "", trace_id: str | None = None
    ) -> LogEntry | None:
        """Attach a log line to a trace (default: the current one) and its current record."""
        if not self.enabled:
            return None
        trace = self._active.get(trace_id) if trace_id else get_current_trace()
        if trace is None:
            return None
        run = current_run_var.get() if current_trace_var.get() is trace else None
        entry = LogEntry(
            level=str(level), message=str(message), run_id=None if run is None else run.run_id
        )
        trace.logs.append(entry)
        return entry

    def ingest(self, trace: Trace) -> None:
        """Write a trace built elsewhere (OTLP ingest) through the storage writer, finished
        (queued) or running (`end_us` None: shown live); not to sinks, which could loop."""
        try:
            if self.enabled:
                (self._writer.watch if trace.end_us is None else self._writer.submit)(trace)
        except Exception as exc:
            self._fault("ingest", exc)

    # -- storage ---------------------------------------------------------------------

    def flush(self, timeout: float | None = 5.0) -> bool:
        """Write every finished trace now; True when all of it reached storage in time."""
        try:
            ok = self._writer.flush(timeout)
            for sink in self._sinks.values():
                ok = sink.flush(timeout) and ok
            return self._scores.flush(timeout) and ok
        except Exception as exc:
            self._fault("flush", exc)
            return False

    def close(self, timeout: float = 5.0) -> bool:
        """Flush and stop the writers, then close storage and sinks, all within `timeout`.

        Returns True when everything reached storage and every sink in time. A sink that
        hangs is closed before its thread is joined, so its stuck request is aborted.
        Whatever the deadline abandons is counted as dropped ("shutdown"), per writer.
        """
        deadline = time.monotonic() + timeout
        writers = [("storage", self._writer), *self._sinks.items()]
        ok = self._scores.flush(timeout)
        for _, writer in writers:
            ok = writer.flush(max(0.0, deadline - time.monotonic())) and ok
        for name, writer in writers:
            writer.stop()
            try:
                run_sync(writer.storage.close(), max(0.01, deadline - time.monotonic()))
            except Exception as exc:
                self._fault(f"close {name}", exc)
            writer.join(deadline - time.monotonic())
            ok = writer.settle() and ok
        return ok

    @property
    def stats(self) -> dict[str, Any]:
        """Health counters: traces started/finished, records, faults, redaction
        (values over the time budget, cut, failed), writer counters."""
        return {
            "enabled": self.enabled,
            "traces_started": _counter_value(self._started),
            "traces_finished": _counter_value(self._finished),
            "records": _counter_value(self._records),
            "active_traces": len(self._active),
            "faults": dict(self._faults),
            "redaction": self._redactor.stats,
            "writer": self._writer.stats,
            **self._process_stats(),
            "sinks": {name: sink.stats for name, sink in self._sinks.items()},
            "scores": self._scores.stats,
        }

    def _process_stats(self) -> dict[str, Any]:
        stats = getattr(self._writer.storage, "process_stats", None)
        return {} if stats is None else {"writer_process": stats}

    def _cleanup_args(self) -> dict[str, Any]:
        age = self.config.max_trace_age
        return {
            "older_than": None if age is None else datetime.now(UTC) - age,
            "max_count": self.config.max_trace_count,
        }

    def _cleanup_tick(self) -> None:
        self._writer.run_in_loop(self._storage.cleanup(**self._cleanup_args()))

    async def acleanup(self) -> int:
        """Apply retention now (max age, then max count); returns traces deleted."""
        await self._aflush()
        return await self._storage.cleanup(**self._cleanup_args())

    def cleanup(self) -> int:
        """Apply retention now (max age, then max count); returns traces deleted."""
        return self._sync(self.acleanup())

    # -- queries ---------------------------------------------------------------------
