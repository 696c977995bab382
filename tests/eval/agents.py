"""Agent factories the experiment tests run (importable as `tests.eval.agents:NAME`)."""

from __future__ import annotations

import asyncio
import os

from examples.eval_agent import create_agent as create_example_agent


def create_agent() -> object:
    """A tool-calling agent on the offline scripted model (a calculator tool)."""
    return create_example_agent()


class _Echo:
    """An untraced agent that answers with its input, slowly when SLOW_AGENT is set."""

    async def run(self, text: str) -> str:
        delay = float(os.environ.get("SLOW_AGENT", "0"))
        if delay:
            await asyncio.sleep(delay)
        return text


def create_echo() -> object:
    return _Echo()
