"""`create_toolcall_agent` and its alias `create_react_agent`."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from myagent.agent.toolcall import DEFAULT_MAX_STEPS, ToolCallAgent
from myagent.llm import LLM
from myagent.tool.builtin import Terminate
from myagent.tool.collection import ToolCollection, ToolLike

_AGENT_KEYWORDS = frozenset(inspect.signature(ToolCallAgent).parameters) - {"self", "tools"}
_FACTORY_KEYWORDS = frozenset({"tools", "add_terminate", "available_tools", "tool_choices"})


def create_toolcall_agent(
    name: str = "toolcall-agent",
    tools: ToolCollection | Iterable[ToolLike] | None = None,
    llm: LLM | str | None = None,
    system_prompt: str | None = None,
    max_steps: int | None = DEFAULT_MAX_STEPS,
    enable_tracing: bool = True,
    *,
    next_step_prompt: str | None = None,
    tool_choice: Any = "auto",
    max_observe: int | None = None,
    add_terminate: bool = True,
    **extra_fields: Any,
) -> ToolCallAgent:
    """A tool-calling (ReAct-style) agent; `await agent.run(text)` returns its answer.

    `tools` is a list of BaseTool instances (or plain functions) or a ToolCollection; a
    `terminate` tool is added unless `add_terminate=False`. `llm=None` picks the default
    (see `myagent.llm.default.default_llm`). Other keywords are ToolCallAgent's
    (`description`, `session_id`, `trace_metadata`, `on_event`, `confirm`, `stream`,
    `memory`, ...); an unknown one raises TypeError.
    """
    unknown = sorted(set(extra_fields) - _AGENT_KEYWORDS - _FACTORY_KEYWORDS)
    if unknown:
        raise TypeError(
            f"create_toolcall_agent() got unexpected keyword argument(s) {', '.join(unknown)}; "
            f"accepted: {', '.join(sorted(_AGENT_KEYWORDS | _FACTORY_KEYWORDS))}"
        )
    collection = ToolCollection.of(extra_fields.pop("available_tools", tools))
    if add_terminate and collection.get_tool(Terminate.name) is None:
        collection.add_tool(Terminate())
    return ToolCallAgent(
        name=name,
        llm=llm,
        tools=collection,
        system_prompt=system_prompt,
        next_step_prompt=next_step_prompt,
        tool_choice=extra_fields.pop("tool_choices", tool_choice),
        max_steps=max_steps,
        max_observe=max_observe,
        enable_tracing=enable_tracing,
        **extra_fields,
    )


def create_react_agent(
    name: str = "react-agent",
    tools: ToolCollection | Iterable[ToolLike] | None = None,
    llm: LLM | str | None = None,
    system_prompt: str | None = None,
    max_steps: int | None = DEFAULT_MAX_STEPS,
    enable_tracing: bool = True,
    **kwargs: Any,
) -> ToolCallAgent:
    """Alias of `create_toolcall_agent`, kept for code written for earlier versions."""
    return create_toolcall_agent(
        name, tools, llm, system_prompt, max_steps, enable_tracing, **kwargs
    )
