"""Agents: `create_toolcall_agent` builds a traced tool-calling agent (`ToolCallAgent`)."""

from myagent.agent.errors import ToolDeniedError, UnknownToolError
from myagent.agent.events import EVENT_TYPES, AgentEvent, EventCallback
from myagent.agent.factory import create_react_agent, create_toolcall_agent
from myagent.agent.memory import Memory
from myagent.agent.toolcall import AgentState, ToolCallAgent
from myagent.llm.default import default_llm

ReActAgent = ToolCallAgent
"""Earlier name of ToolCallAgent."""
BaseAgent = ToolCallAgent
"""Earlier base class name; old code annotates and checks agents with it."""

__all__ = [
    "EVENT_TYPES",
    "AgentEvent",
    "AgentState",
    "BaseAgent",
    "EventCallback",
    "Memory",
    "ReActAgent",
    "ToolCallAgent",
    "ToolDeniedError",
    "UnknownToolError",
    "create_react_agent",
    "create_toolcall_agent",
    "default_llm",
]
