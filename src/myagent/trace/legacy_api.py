"""The earlier package's module-level tracing helpers, over the global TraceManager.

`trace(...)` and `run(...)` open a trace or a record with the old arguments; each works
as `async with trace(...)` and, as before, as `async with await trace(...)`.
`trace_agent_step`, `trace_tool_call` and `trace_agent` are decorators that record each
call as an agent step record, a tool record, or a trace of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from types import TracebackType
from typing import Any, TypeVar, cast

from myagent.trace.decorators import traced
from myagent.trace.legacy import TraceMetadata
from myagent.trace.records import RunRecord, RunType, StepRecord, Trace
from myagent.trace.scopes import RunScope, TraceScope
from myagent.trace.setup import get_trace_manager

F = TypeVar("F", bound=Callable[..., Any])


class Opened:
    """A trace or record block usable with `async with`, `with`, or `async with await`."""

    __slots__ = ("_scope",)

    def __init__(self, scope: TraceScope | RunScope) -> None:
        self._scope = scope

    def __await__(self) -> Generator[Any, None, Opened]:
        yield from ()
        return self

    def __enter__(self) -> Any:
        return self._scope.__enter__()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._scope.__exit__(kind, exc, tb)

    async def __aenter__(self) -> Any:
        return self._scope.__enter__()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._scope.__exit__(kind, exc, tb)


def trace(
    name: str,
    request: Any = None,
    metadata: TraceMetadata | dict[str, Any] | None = None,
    **custom_fields: Any,
) -> Opened:
    """One trace of the global manager (`TraceManager.trace` with the old arguments)."""
    return Opened(get_trace_manager().trace(name, request, metadata, **custom_fields))


def run(
    name: str,
    run_type: str = StepRecord.run_type_default(),
    inputs: Any = None,
    parent_run_id: str | None = None,
    **metadata: Any,
) -> Opened:
    """One record of the global manager (`TraceManager.run` with the old arguments)."""
    return Opened(get_trace_manager().run(name, run_type, inputs, parent_run_id, **metadata))


def _named_by_self(name: str | None, fn: Callable[..., Any]) -> Callable[[tuple[Any, ...]], str]:
    """A record name: `name`, else the `name` of the call's first argument, else fn's."""

    def record_name(args: tuple[Any, ...]) -> str:
        own = getattr(args[0], "name", None) if args else None
        return name or (own if isinstance(own, str) else fn.__qualname__)

    return record_name


def _decorator(target: Any, kind: RunType, name_of: Callable[[str | None, Any], Any]) -> Any:
    """A decorator usable bare (`@deco`) or called (`@deco("name")`, `@deco(name=...)`)."""
    if callable(target):
        return cast(Any, traced(target, name_of(None, target), kind.value))

    def decorate(fn: F) -> F:
        return cast(F, traced(fn, name_of(target, fn), kind.value))

    return decorate


def trace_agent_step(name: Any = None, include_memory: bool = False) -> Any:
    """Record each call of an agent method as an `agent` step record (inputs: arguments)."""
    return _decorator(name, RunType.AGENT, lambda given, fn: given or "agent_step")


def trace_tool_call(name: Any = None, capture_tool_metadata: bool = True) -> Any:
    """Record each call as a tool record named `name`, else the tool's (`self.name`)."""
    return _decorator(name, RunType.TOOL, _named_by_self)


def trace_agent(name: Any = None) -> Any:
    """Record each call as an `agent` record; outside a trace it is a trace of its own
    (agent runs inside it are traces of their own, one per run)."""
    return _decorator(name, RunType.AGENT, _named_by_self)


def get_current_trace() -> Trace | None:
    """The running trace of the calling context (the old module-level helper)."""
    return get_trace_manager().current_trace


def get_current_run() -> RunRecord | None:
    """The current record of the calling context (the old module-level helper)."""
    return get_trace_manager().current_run


__all__ = [
    "get_current_run",
    "get_current_trace",
    "run",
    "trace",
    "trace_agent",
    "trace_agent_step",
    "trace_tool_call",
]
