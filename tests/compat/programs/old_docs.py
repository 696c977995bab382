"""Code blocks of the earlier myagent docs (basic concepts, agents API, tracing guide),
gathered as written there, so a test can run them against this package."""

from __future__ import annotations

from typing import Any

from myagent import create_toolcall_agent
from myagent.schema import AgentState, Memory, Message, Role, ToolChoice
from myagent.tool import BaseTool, ToolResult
from myagent.trace import (
    TraceExporter,
    TraceQueryEngine,
    get_trace_manager,
    trace_agent,
)


def schema_types(tool_calls: list[Any]) -> dict[str, Any]:
    # docs/guides/basic-concepts.md, "Schema Types"
    msg = Message.user_message("Hello, how are you?")
    system = Message.system_message("You are a helpful assistant")
    calls = Message.from_tool_calls(tool_calls, content="I'll help you with that")
    result = ToolResult(output="The weather is sunny, 72°F", error=None, base64_image=None)
    # "Memory and State Management"
    memory = Memory(max_messages=100)
    memory.add_message(Message.user_message("Hello"))
    memory.add_message(Message.assistant_message("Hi there!"))
    states = [AgentState.IDLE, AgentState.RUNNING, AgentState.FINISHED, AgentState.ERROR]
    return {
        "msg": msg,
        "system": system,
        "calls": calls,
        "result": result,
        "memory": memory,
        "states": states,
        "role": Role.USER,
    }


class WeatherTool(BaseTool):
    name = "get_weather"
    description = "Get current weather for a location"

    async def execute(self, location: str) -> ToolResult:
        return ToolResult(output=f"Sunny in {location}")


def tool_choice_agents() -> list[Any]:
    # docs/api/agents.md, "Tool choice"
    return [
        create_toolcall_agent(tool_choice=ToolChoice.AUTO),
        create_toolcall_agent(tool_choice=ToolChoice.NONE),
        create_toolcall_agent(tool_choice=ToolChoice.REQUIRED),
    ]


def agent_with_memory() -> Any:
    # docs/examples/simple-agent.md, "Memory"
    return create_toolcall_agent(
        name="memory-agent",
        tools=[WeatherTool()],
        memory=Memory(max_messages=20),  # Keep last 20 messages
    )


@trace_agent
async def my_agent_task(query: str) -> str:
    # docs/tracing/trace_guide_zh.md, "使用装饰器自动追踪"
    agent = create_toolcall_agent(tools=[WeatherTool()], name="my_agent")
    result = await agent.run(query)
    return result


async def export_traces() -> tuple[str, str]:
    # docs/trace_usage_guide.md, "导出Trace数据"
    trace_manager = get_trace_manager()
    query_engine = TraceQueryEngine(trace_manager.storage)
    exporter = TraceExporter(query_engine)
    json_data = await exporter.export_traces_to_json()
    summary = await exporter.export_trace_summary()
    return json_data, summary
