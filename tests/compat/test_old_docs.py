"""The earlier docs' code blocks (tests/compat/programs/old_docs.py) run unchanged."""

from __future__ import annotations

import json

from myagent.llm import ToolCall
from myagent.trace import TraceManager
from tests.compat.programs import old_docs
from tests.support.openai_server import OpenAITestServer


def test_schema_blocks() -> None:
    out = old_docs.schema_types([ToolCall(id="c1", name="get_weather", arguments="{}")])
    assert out["msg"] == {"role": "user", "content": "Hello, how are you?"}
    assert out["msg"].role == "user" and out["system"].content == "You are a helpful assistant"
    assert out["calls"].tool_calls == [
        {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    ]
    assert out["memory"].to_dict_list() == [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi there!"},
    ]
    assert out["result"].output == "The weather is sunny, 72°F"
    assert [str(s) for s in out["states"]] == ["idle", "running", "finished", "error"]


async def test_agent_blocks_and_the_trace_guide(
    old_env: OpenAITestServer, manager: TraceManager
) -> None:
    choices = [agent.tool_choice for agent in old_docs.tool_choice_agents()]
    assert choices == ["auto", "none", "required"]
    agent = old_docs.agent_with_memory()
    assert agent.memory.max_messages == 20
    old_env.enqueue(None, tool_calls=[("get_weather", {"location": "Oslo"})])
    old_env.enqueue("Sunny in Oslo.")

    assert await old_docs.my_agent_task("Weather in Oslo?") == "Sunny in Oslo."

    json_data, summary = await old_docs.export_traces()
    traces = {t["name"]: t for t in json.loads(json_data)["traces"]}
    assert set(traces) == {"my_agent_task", "my_agent"}
    task, run = traces["my_agent_task"], traces["my_agent"]
    assert [r["run_type"] for r in task["runs"]] == ["agent"]
    assert task["output"] == "Sunny in Oslo."
    assert [r["run_type"] for r in run["runs"]] == ["think", "tool", "think"]
    assert "Total Traces: 2" in summary
