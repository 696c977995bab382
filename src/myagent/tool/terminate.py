"""The earlier import path of the `Terminate` tool (re-exports `myagent.tool.builtin`)."""

from myagent.tool.builtin import Terminate

__all__ = ["Terminate"]
