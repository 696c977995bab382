"""Item 2: the agent attributes old code reads (`final_response`, `current_step`,
`tool_calls`), `arun` as an alias of `run`, and `run()` still returning the answer."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from myagent import create_toolcall_agent
from myagent.tool.base_tool import BaseTool, ToolResult
from myagent.trace import TraceManager
from tests.support.openai_server import OpenAITestServer


class Lookup(BaseTool):
    name: str = "lookup"
    description: str = "Look a word up"
    parameters: ClassVar[dict] = {
        "type": "object",
        "properties": {"word": {"type": "string"}},
        "required": ["word"],
    }

    async def execute(self, word: str) -> ToolResult:
        return ToolResult(output=f"{word}: a greeting")


async def test_run_and_arun_answer_and_leave_the_old_attributes(
    old_env: OpenAITestServer, manager: TraceManager
) -> None:
    old_env.enqueue(None, tool_calls=[("lookup", {"word": "hello"})])
    old_env.enqueue(None, tool_calls=[("terminate", {"status": "success", "message": "Done."})])
    old_env.enqueue("A greeting.")
    agent = create_toolcall_agent(name="attrs", tools=[Lookup()])
    assert (agent.final_response, agent.current_step, agent.tool_calls) == (None, 0, [])

    answer = await agent.run("What is hello?")

    assert answer == agent.final_response == "Done."
    assert agent.current_step == 2
    assert [(c.function.name, c.name) for c in agent.tool_calls] == [("terminate", "terminate")]
    assert asyncio.iscoroutinefunction(agent.arun)
    assert await agent.arun("Again?") == agent.final_response == "A greeting."
    assert agent.current_step == 1 and agent.tool_calls == []
    first, second = manager.get_traces_by_agent("attrs")
    assert [r.run_type for r in first.runs] == ["think", "tool", "think", "tool"]
    assert first.output == "Done." and second.output == "A greeting."
    assert [r.run_type for r in second.runs] == ["think"]
