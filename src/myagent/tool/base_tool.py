"""The earlier import path of the tool base class and results (re-exports `myagent.tool`)."""

from myagent.tool.base import BaseTool
from myagent.tool.result import CLIResult, ToolError, ToolFailure, ToolResult

__all__ = ["BaseTool", "CLIResult", "ToolError", "ToolFailure", "ToolResult"]
