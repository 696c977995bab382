"""myagent: a tool-calling agent framework with a fast, lossless tracing system.

Top-level names are imported on first use, so `import myagent` stays light (no LLM SDK
import, no thread, no file). The earlier top-level names (`BaseTool`, `LLM`, `Message`,
`TraceManager`, `logger`, ...) are here too; docs/migrating.md maps old to new.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from myagent.agent import (
        BaseAgent,
        ReActAgent,
        ToolCallAgent,
        create_react_agent,
        create_toolcall_agent,
    )
    from myagent.llm import LLM, ToolCall
    from myagent.logger import logger
    from myagent.schema import Message, Role, ToolChoice
    from myagent.tool import BaseTool, Terminate, ToolCollection, ToolResult
    from myagent.trace import TraceManager, trace_agent_step, trace_run, trace_tool_call

__version__ = "0.1.0"

_LAZY = {
    "create_toolcall_agent": "myagent.agent",
    "create_react_agent": "myagent.agent",
    "ToolCallAgent": "myagent.agent",
    "ReActAgent": "myagent.agent",
    "BaseAgent": "myagent.agent",
    "LLM": "myagent.llm",
    "ToolCall": "myagent.llm",
    "logger": "myagent.logger",
    "Message": "myagent.schema",
    "Role": "myagent.schema",
    "ToolChoice": "myagent.schema",
    "BaseTool": "myagent.tool",
    "Terminate": "myagent.tool",
    "ToolCollection": "myagent.tool",
    "ToolResult": "myagent.tool",
    "TraceManager": "myagent.trace",
    "trace_agent_step": "myagent.trace",
    "trace_run": "myagent.trace",
    "trace_tool_call": "myagent.trace",
}


def __getattr__(name: str) -> Any:
    # Lazy, so `import myagent` stays light (no LLM SDK import, no thread, no file).
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'myagent' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "LLM",
    "BaseAgent",
    "BaseTool",
    "Message",
    "ReActAgent",
    "Role",
    "Terminate",
    "ToolCall",
    "ToolCallAgent",
    "ToolChoice",
    "ToolCollection",
    "ToolResult",
    "TraceManager",
    "__version__",
    "create_react_agent",
    "create_toolcall_agent",
    "logger",
    "trace_agent_step",
    "trace_run",
    "trace_tool_call",
]
