"""Item 1: the earlier import paths resolve to today's objects (re-exports, nothing copied),
and a weather agent written with them runs against the loopback OpenAI-wire server."""

from __future__ import annotations

import importlib

import myagent.agent
import myagent.llm
import myagent.tool
from myagent.trace import TraceManager
from tests.compat.programs import weather_agent
from tests.support.openai_server import OpenAITestServer


def test_old_modules_re_export_the_one_implementation() -> None:
    base_tool = importlib.import_module("myagent.tool.base_tool")
    for name in ("BaseTool", "ToolResult", "ToolFailure", "CLIResult", "ToolError"):
        assert getattr(base_tool, name) is getattr(myagent.tool, name)
    collection = importlib.import_module("myagent.tool.tool_collection")
    assert collection.ToolCollection is myagent.tool.ToolCollection
    terminate = importlib.import_module("myagent.tool.terminate")
    assert terminate.Terminate is myagent.tool.Terminate
    schema = importlib.import_module("myagent.schema")
    assert schema.AgentState is myagent.agent.AgentState
    assert schema.Memory is myagent.agent.Memory
    assert schema.ToolCall is myagent.llm.ToolCall
    assert {schema.Role.USER, schema.ToolChoice.REQUIRED} == {"user", "required"}
    logger_module = importlib.import_module("myagent.logger")
    assert logger_module.logger.name == "myagent"


async def test_weather_agent_written_the_old_way(
    old_env: OpenAITestServer, sqlite_manager: TraceManager
) -> None:
    old_env.enqueue(None, tool_calls=[("get_weather", {"city": "Beijing"})])
    old_env.enqueue("It is sunny and 25°C in Beijing.")

    out = await weather_agent.main("What's the weather in Beijing?")

    assert out["result"] == out["final_response"] == "It is sunny and 25°C in Beijing."
    assert out["current_step"] == 2 and out["tool_calls"] == []
    (trace,) = sqlite_manager.get_all_traces()
    assert trace.agent_name == "weather_assistant" and trace.input == (
        "What's the weather in Beijing?"
    )
    assert [r.run_type for r in trace.runs] == ["think", "tool", "think"]
    think, tool, _ = trace.runs
    assert tool.parent_id == think.run_id
    assert tool.tool_name == "get_weather" and tool.input_params == {"city": "Beijing"}
    assert tool.output == "Beijing: sunny, 25°C"
    assert think.tool_calls[0]["name"] == "get_weather"
    assert old_env.requests[0]["tools"][0]["function"]["name"] == "get_weather"
