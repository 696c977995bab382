"""ToolCollection: the named set of tools an agent offers the model."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Self

from myagent.tool.base import BaseTool
from myagent.tool.result import ToolError, ToolFailure, ToolResult

logger = logging.getLogger("myagent.tool")

ToolLike = BaseTool | Callable[..., Any]
"""A BaseTool, or a plain (async) function that `function_tool` turns into one."""


def as_tool(item: ToolLike) -> BaseTool:
    """A BaseTool as is; a plain function wrapped with `function_tool`."""
    if isinstance(item, BaseTool):
        return item
    if isinstance(item, type) and issubclass(item, BaseTool):
        raise TypeError(f"pass an instance of {item.__name__}, e.g. {item.__name__}()")
    if callable(item):
        from myagent.tool.function import function_tool

        return function_tool(item)
    raise TypeError(f"not a tool: {item!r} (expected a BaseTool or a function)")


class ToolCollection:
    """Tools by name, in the order added; names are unique (a duplicate is skipped, logged)."""

    def __init__(self, *tools: ToolLike) -> None:
        self.tools: tuple[BaseTool, ...] = ()
        self.tool_map: dict[str, BaseTool] = {}
        self.add_tools(*tools)

    @classmethod
    def of(cls, tools: ToolCollection | Iterable[ToolLike] | None) -> ToolCollection:
        """A collection from a collection (returned as is), an iterable of tools, or None."""
        if isinstance(tools, ToolCollection):
            return tools
        return cls(*(tools or ()))

    def __iter__(self) -> Iterator[BaseTool]:
        return iter(self.tools)

    def __len__(self) -> int:
        return len(self.tools)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, BaseTool):
            return self.tool_map.get(item.name) is item
        return item in self.tool_map

    def __getitem__(self, name: str) -> BaseTool:
        return self.tool_map[name]

    def __repr__(self) -> str:
        return f"ToolCollection({', '.join(self.tool_map)})"

    @property
    def tool_names(self) -> list[str]:
        """The tools' names, in order."""
        return list(self.tool_map)

    def get_tool(self, name: str) -> BaseTool | None:
        """The tool called `name`, or None."""
        return self.tool_map.get(name)

    def add_tool(self, tool: ToolLike) -> Self:
        """Add one tool (or function); a name already present is skipped with a warning."""
        item = as_tool(tool)
        if item.name in self.tool_map:
            logger.warning("tool %r already exists in the collection, skipping", item.name)
            return self
        self.tools += (item,)
        self.tool_map[item.name] = item
        return self

    def add_tools(self, *tools: ToolLike) -> Self:
        """Add several tools (or functions)."""
        for tool in tools:
            self.add_tool(tool)
        return self

    def remove_tool(self, name: str) -> BaseTool | None:
        """Remove the tool called `name`; returns it, or None when absent."""
        tool = self.tool_map.pop(name, None)
        if tool is not None:
            self.tools = tuple(t for t in self.tools if t is not tool)
        return tool

    def to_params(self) -> list[dict[str, Any]]:
        """Every tool in OpenAI function-calling format."""
        return [tool.to_param() for tool in self.tools]

    async def execute(self, *, name: str, tool_input: dict[str, Any] | None = None) -> ToolResult:
        """Run the tool called `name` (traced); unknown names and ToolError give a ToolFailure."""
        tool = self.tool_map.get(name)
        if tool is None:
            return ToolFailure(error=f"Tool {name} is invalid")
        try:
            result = await tool(**(tool_input or {}))
        except ToolError as exc:
            return ToolFailure(error=exc.message)
        return result if isinstance(result, ToolResult) else ToolResult(output=result)
