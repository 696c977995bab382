"""myagent: a tool-calling agent framework with a fast, lossless tracing system."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from myagent.agent import ToolCallAgent, create_react_agent, create_toolcall_agent

__version__ = "0.1.0"

_LAZY = {
    "create_toolcall_agent": "myagent.agent",
    "create_react_agent": "myagent.agent",
    "ToolCallAgent": "myagent.agent",
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


__all__ = ["ToolCallAgent", "__version__", "create_react_agent", "create_toolcall_agent"]
