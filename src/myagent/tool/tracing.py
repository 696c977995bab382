"""One tool record per tool execution, whether the agent or the user's code calls `execute`.

`execute` of every BaseTool subclass is wrapped by `traced_execute`. A context variable
names the tool whose record is already open, so the agent's path (and `super().execute()`
chains) record once, while a different tool called from inside a tool gets its own,
nested record.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Final, Protocol

from myagent.tool.result import ToolResult, result_error, result_extras
from myagent.trace.manager import TraceManager
from myagent.trace.records import RunRecord, ToolRecord
from myagent.trace.setup import get_trace_manager


class RunnableTool(Protocol):
    """What running a tool needs of it (BaseTool has it; this module imports no tool class)."""

    name: str

    def validate_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]: ...

    def execute(self, **kwargs: Any) -> Any: ...


NO_TRACE: Final = object()
"""Marks code that runs under an agent whose tracing is off: no tool records at all."""

running_tool: ContextVar[object | None] = ContextVar("myagent_running_tool", default=None)
TRACED_MARK: Final = "__myagent_traced__"


def _manager_for(tool: Any) -> TraceManager | None:
    """The manager to record a direct call with, or None when this call must not record."""
    try:
        running = running_tool.get()
        if running is tool or running is NO_TRACE or not getattr(tool, "enable_tracing", True):
            return None
        manager = get_trace_manager()
        return manager if manager.enabled else None
    except Exception:  # tracing must never break the tool call
        return None


def close_record(manager: TraceManager, record: RunRecord | None, result: Any) -> None:
    """End a tool record with the result's output; a ToolResult error marks it failed."""
    if record is None:
        return
    try:
        if isinstance(result, ToolResult):
            if result.system:
                record.metadata["system"] = result.system
            record.metadata.update(result_extras(result))
            manager.end_run(record, output=result.output, error=result_error(result))
        else:
            manager.end_run(record, output=result)
    except Exception:  # never let record keeping fail the call
        return


def _input_builder(fn: Callable[..., Any]) -> Callable[[tuple[Any, ...], dict[str, Any]], Any]:
    try:
        params = list(inspect.signature(fn).parameters.values())[1:]
    except (TypeError, ValueError):
        params = []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    positional = [p.name for p in params if p.kind in kinds]

    def inputs(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = dict(zip(positional, args, strict=False))
        if len(args) > len(positional):
            data["args"] = list(args[len(positional) :])
        data.update(kwargs)
        return data

    return inputs


def traced_execute(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a tool's `execute` so a direct call is one tool record (or its own trace)."""
    inputs = _input_builder(fn)

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_execute(self: Any, *args: Any, **kwargs: Any) -> Any:
            manager = _manager_for(self)
            if manager is None:
                return await fn(self, *args, **kwargs)
            token = running_tool.set(self)
            try:
                with manager.run(
                    self.name, ToolRecord, tool_name=self.name, input_params=inputs(args, kwargs)
                ) as record:
                    result = await fn(self, *args, **kwargs)
                    close_record(manager, record, result)
                    return result
            finally:
                running_tool.reset(token)

        setattr(async_execute, TRACED_MARK, True)
        return async_execute

    @functools.wraps(fn)
    def sync_execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        manager = _manager_for(self)
        if manager is None:
            return fn(self, *args, **kwargs)
        token = running_tool.set(self)
        try:
            with manager.run(
                self.name, ToolRecord, tool_name=self.name, input_params=inputs(args, kwargs)
            ) as record:
                result = fn(self, *args, **kwargs)
                close_record(manager, record, result)
                return result
        finally:
            running_tool.reset(token)

    setattr(sync_execute, TRACED_MARK, True)
    return sync_execute


async def call_execute(tool: RunnableTool, arguments: dict[str, Any]) -> Any:
    """Await `tool.execute(**arguments)`; a sync `execute` runs in a worker thread."""
    if inspect.iscoroutinefunction(type(tool).execute):
        return await tool.execute(**arguments)
    result = await asyncio.to_thread(functools.partial(tool.execute, **arguments))
    if inspect.isawaitable(result):
        result = await result
    return result


async def run_tool(
    tool: RunnableTool,
    arguments: dict[str, Any],
    *,
    parent: RunRecord | None = None,
    tool_call_id: str | None = None,
    trace: bool = True,
) -> Any:
    """Run a tool for an agent: validate the arguments, execute, record it once under `parent`.

    With `trace=False` nothing is recorded, not even by tools the tool calls itself.
    Exceptions (including invalid arguments) are recorded on the record and re-raised.
    """
    manager = _manager_for(tool) if trace else None
    token = running_tool.set(tool if trace else NO_TRACE)
    try:
        if manager is None:
            return await call_execute(tool, tool.validate_arguments(arguments))
        with manager.run(
            tool.name,
            ToolRecord,
            parent=parent,
            tool_name=tool.name,
            tool_call_id=tool_call_id,
            input_params=arguments,
        ) as record:
            result = await call_execute(tool, tool.validate_arguments(arguments))
            close_record(manager, record, result)
            return result
    finally:
        running_tool.reset(token)
