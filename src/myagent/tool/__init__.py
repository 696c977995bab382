"""Tools: `BaseTool` to subclass, `ToolResult`, `ToolCollection`, `Terminate`, `function_tool`.

Every call of a tool's `execute` is traced as one tool record (set `enable_tracing = False`
on the tool to skip it).
"""

from myagent.tool.base import BaseTool, ConfirmHandler
from myagent.tool.builtin import Terminate
from myagent.tool.collection import ToolCollection
from myagent.tool.function import FunctionTool, function_tool, tool
from myagent.tool.result import CLIResult, ToolError, ToolFailure, ToolResult
from myagent.tool.schema import ToolArgumentsError

__all__ = [
    "BaseTool",
    "CLIResult",
    "ConfirmHandler",
    "FunctionTool",
    "Terminate",
    "ToolArgumentsError",
    "ToolCollection",
    "ToolError",
    "ToolFailure",
    "ToolResult",
    "function_tool",
    "tool",
]
