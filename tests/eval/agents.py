"""Agent factories the experiment tests run (importable as `tests.eval.agents:NAME`)."""

from __future__ import annotations

import asyncio
import os

from myagent import create_toolcall_agent
from myagent.llm import ScriptedLLM
from myagent.tool import BaseTool


class Calculator(BaseTool):
    name = "calculator"
    description = "Evaluate an arithmetic expression."

    async def execute(self, expression: str) -> str:
        return str(eval(expression, {"__builtins__": {}}))  # test tool: digits and operators


def create_agent() -> object:
    """A tool-calling agent on the offline scripted model (a calculator tool)."""
    return create_toolcall_agent(name="calc", tools=[Calculator()], llm=ScriptedLLM(), max_steps=4)


class _Echo:
    """An untraced agent that answers with its input, slowly when SLOW_AGENT is set."""

    async def run(self, text: str) -> str:
        delay = float(os.environ.get("SLOW_AGENT", "0"))
        if delay:
            await asyncio.sleep(delay)
        return text


def create_echo() -> object:
    return _Echo()
