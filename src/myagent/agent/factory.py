"""`create_toolcall_agent` (and its alias `create_react_agent`), and the default LLM choice."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

from myagent.agent.toolcall import ToolCallAgent
from myagent.llm import LLM, OpenAICompatibleLLM, ScriptedLLM
from myagent.tool.builtin import Terminate
from myagent.tool.collection import ToolCollection, ToolLike

logger = logging.getLogger("myagent.agent")

_ENDPOINT_VARIABLES = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE")


def default_llm() -> LLM:
    """OpenAICompatibleLLM when OPENAI_API_KEY or OPENAI_BASE_URL is set, else ScriptedLLM.

    The offline ScriptedLLM calls no real model; a warning says so.
    """
    if any(os.environ.get(name) for name in _ENDPOINT_VARIABLES):
        return OpenAICompatibleLLM()
    logger.warning(
        "myagent: no OPENAI_API_KEY or OPENAI_BASE_URL is set, so the agent uses the offline "
        "ScriptedLLM (no real model is called). Set them, or pass llm=..., to use a real model."
    )
    return ScriptedLLM()


def create_toolcall_agent(
    name: str = "toolcall-agent",
    tools: ToolCollection | Iterable[ToolLike] | None = None,
    llm: LLM | str | None = None,
    system_prompt: str | None = None,
    max_steps: int | None = 10,
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
    (see `default_llm`). Extra keywords (`description`, `session_id`, `on_event`,
    `confirm`, `stream`, `memory`, ...) go to ToolCallAgent.
    """
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
    max_steps: int | None = 10,
    enable_tracing: bool = True,
    **kwargs: Any,
) -> ToolCallAgent:
    """Alias of `create_toolcall_agent`, kept for code written for earlier versions."""
    return create_toolcall_agent(
        name, tools, llm, system_prompt, max_steps, enable_tracing, **kwargs
    )
