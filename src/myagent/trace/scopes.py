"""`with`/`async with` blocks for one trace (`TraceScope`) and one record (`RunScope`).

They close what they open on every path: an exception marks the trace or record failed
and is re-raised; a cancelled task closes its trace as cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextvars import Token
from types import TracebackType
from typing import Any, Protocol

from myagent.trace.context import current_run_var, current_trace_var, get_current_trace
from myagent.trace.records import (
    RECORD_TYPES,
    RunRecord,
    Trace,
    TraceStatus,
    share_io_with_trace,
)


class ScopeOwner(Protocol):
    """What the blocks need of their TraceManager (this module imports no manager)."""

    enabled: bool

    def _begin_trace(
        self,
        name: str | None,
        agent_name: str | None,
        input_data: Any,
        session_id: str | None,
        metadata: dict[str, Any] | None,
        tags: Sequence[str] | None,
    ) -> Trace: ...

    def _finish_trace(
        self,
        trace: Trace,
        output: Any = ...,
        error: BaseException | str | None = None,
        status: str | None = None,
    ) -> Trace: ...

    def _fault(self, where: str, exc: BaseException) -> None: ...

    def start_run(
        self,
        kind: type[RunRecord] | str = ...,
        name: str = "",
        *,
        trace: Trace | None = None,
        parent: RunRecord | None = ...,
        **fields: Any,
    ) -> RunRecord | None: ...

    def end_run(
        self, record: RunRecord | None, *, error: BaseException | str | None = None, **fields: Any
    ) -> None: ...


class TraceScope:
    """One trace as a `with` or `async with` block (see `TraceManager.trace`)."""

    __slots__ = ("_args", "_manager", "_tokens", "trace")

    def __init__(self, manager: ScopeOwner, *args: Any) -> None:
        self._manager = manager
        self._args = args
        self._tokens: tuple[Token[Trace | None], Token[RunRecord | None]] | None = None
        self.trace: Trace | None = None

    def __enter__(self) -> Trace:
        name, agent_name, input_data, session_id, metadata, tags = self._args
        manager = self._manager
        try:
            trace = manager._begin_trace(name, agent_name, input_data, session_id, metadata, tags)
        except Exception as exc:
            manager._fault("trace", exc)
            trace = Trace(name=name or "trace")
        self.trace = trace
        if manager.enabled:
            self._tokens = (current_trace_var.set(trace), current_run_var.set(None))
        return trace

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._tokens is not None:
            try:
                current_run_var.reset(self._tokens[1])
                current_trace_var.reset(self._tokens[0])
            except ValueError:
                current_trace_var.set(None)
        if self.trace is not None and self._manager.enabled:
            status = TraceStatus.CANCELLED.value if exc is not None and _is_cancel(exc) else None
            self._manager._finish_trace(self.trace, error=exc, status=status)

    async def __aenter__(self) -> Trace:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


def _is_cancel(exc: BaseException | None) -> bool:
    return isinstance(exc, asyncio.CancelledError | KeyboardInterrupt)


class RunScope:
    """One record as a `with` or `async with` block (see `TraceManager.run`)."""

    __slots__ = ("_args", "_manager", "_own_trace", "_token", "record")

    def __init__(
        self,
        manager: ScopeOwner,
        name: str,
        kind: type[RunRecord] | str,
        parent: RunRecord | None,
        fields: dict[str, Any],
    ) -> None:
        self._manager = manager
        self._args = (name, kind, parent, fields)
        self._token: Token[RunRecord | None] | None = None
        self._own_trace: TraceScope | None = None
        self.record: RunRecord | None = None

    def __enter__(self) -> RunRecord:
        name, kind, parent, fields = self._args
        manager = self._manager
        if not manager.enabled:
            cls = RECORD_TYPES[kind] if isinstance(kind, str) else kind
            return cls(name=name)  # detached: callers may still set fields on it
        if get_current_trace() is None:
            own_input = fields.get("inputs", fields.get("input_params", fields.get("input")))
            self._own_trace = TraceScope(manager, name, None, own_input, None, None, None)
            self._own_trace.__enter__()
            parent = None
        record = manager.start_run(kind, name, parent=parent, **fields)
        if record is None:
            cls = RECORD_TYPES[kind] if isinstance(kind, str) else kind
            return cls(name=name)
        self.record = record
        self._token = current_run_var.set(record)
        return record

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            try:
                current_run_var.reset(self._token)
            except ValueError:
                current_run_var.set(None)
        self._manager.end_run(self.record, error=exc)
        if self._own_trace is not None:
            trace = self._own_trace.trace
            if trace is not None and self.record is not None:
                if trace.output is None:
                    trace.output = getattr(self.record, "output", None)
                share_io_with_trace(trace, self.record)
            self._own_trace.__exit__(exc_type, exc, tb)

    async def __aenter__(self) -> RunRecord:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
