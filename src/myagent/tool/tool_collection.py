"""The earlier import path of `ToolCollection` (re-exports `myagent.tool.collection`)."""

from myagent.tool.collection import ToolCollection

__all__ = ["ToolCollection"]
