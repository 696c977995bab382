"""`@function_tool`: turn a plain (async or sync) function into a BaseTool.

The function's name, docstring and signature give the tool's name, description and
JSON Schema; arguments are validated against the type hints before each call.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable
from typing import Any, overload

from myagent.tool.base import BaseTool
from myagent.tool.schema import docstring_summary, signature_schema


class FunctionTool(BaseTool):
    """A tool that calls a plain function (made by `function_tool`)."""

    func: Callable[..., Any]

    async def execute(self, **kwargs: Any) -> Any:
        """Call the function; a sync function runs in a worker thread."""
        if inspect.iscoroutinefunction(self.func):
            return await self.func(**kwargs)
        result = await asyncio.to_thread(functools.partial(self.func, **kwargs))
        if inspect.isawaitable(result):
            result = await result
        return result


def _make(
    func: Callable[..., Any],
    name: str | None,
    description: str | None,
    enable_tracing: bool,
    user_confirm: bool,
) -> FunctionTool:
    derived = signature_schema(func)
    tool = FunctionTool(
        func=func,
        name=name or func.__name__,
        description=description or docstring_summary(inspect.getdoc(func)),
        parameters=derived.parameters,
        enable_tracing=enable_tracing,
        user_confirm=user_confirm,
    )
    tool._signature = derived
    return tool


@overload
def function_tool(func: Callable[..., Any], /) -> FunctionTool: ...


@overload
def function_tool(
    func: None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    enable_tracing: bool = True,
    user_confirm: bool = False,
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def function_tool(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    enable_tracing: bool = True,
    user_confirm: bool = False,
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Make a tool from a function: `@function_tool` or `@function_tool(name=...)`."""
    if func is not None:
        return _make(func, name, description, enable_tracing, user_confirm)

    def decorate(fn: Callable[..., Any]) -> FunctionTool:
        return _make(fn, name, description, enable_tracing, user_confirm)

    return decorate


tool = function_tool
"""Alias of `function_tool`, for LangChain habits (`@tool`)."""
