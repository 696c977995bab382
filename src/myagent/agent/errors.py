"""Why a tool call the model asked for did not run; recorded on its failed tool record."""

from __future__ import annotations

from myagent.tool.schema import ToolArgumentsError


class UnknownToolError(LookupError):
    """The model called a tool name the agent does not have."""


class ToolDeniedError(PermissionError):
    """The confirmation hook refused to run a `user_confirm` tool."""


__all__ = ["ToolArgumentsError", "ToolDeniedError", "UnknownToolError"]
