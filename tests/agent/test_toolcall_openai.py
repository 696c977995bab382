"""ToolCallAgent over HTTP: a real OpenAI-wire-format server on 127.0.0.1 and the openai SDK.

Each test checks that the trace holds exactly what crossed the wire: the messages sent,
the tool arguments and answer text received, and the token counts the server reported.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from myagent import create_toolcall_agent
from myagent.agent import ToolCallAgent
from myagent.llm import LLMError, OpenAICompatibleLLM, estimate_cost
from myagent.tool import BaseTool, ToolResult
from myagent.trace import Trace, TraceManager
from tests.support.openai_server import OpenAITestServer

MODEL = "gpt-4o-mini"


class WeatherTool(BaseTool):
    name = "get_weather"
    description = "Get the current weather for a city"

    async def execute(self, city: str) -> ToolResult:
        return ToolResult(output=f"Sunny, 72°F in {city}")


class Meet(BaseTool):
    """Finishes only when another call of it runs at the same time."""

    name = "meet"

    def __init__(self, barrier: asyncio.Barrier) -> None:
        super().__init__()
        self.barrier = barrier

    async def execute(self, who: str) -> str:
        await asyncio.wait_for(self.barrier.wait(), timeout=5)
        return f"{who} met"


def make_agent(server: OpenAITestServer, *tools: BaseTool, **kwargs: Any) -> ToolCallAgent:
    llm = OpenAICompatibleLLM(
        model=MODEL, base_url=server.base_url, api_key="sk-test", retries=kwargs.pop("retries", 2)
    )
    return create_toolcall_agent(name="wire-agent", tools=list(tools), llm=llm, **kwargs)


async def trace_of(manager: TraceManager, agent: ToolCallAgent) -> Trace:
    assert agent.last_trace_id is not None
    trace = await manager.aget_trace(agent.last_trace_id)
    assert trace is not None
    return trace


async def test_plain_responses_are_recorded_as_sent_and_received(
    sqlite_manager: TraceManager, openai_server: OpenAITestServer
) -> None:
    manager = sqlite_manager  # the trace is read back from a real SQLite file
    openai_server.enqueue(
        tool_calls=[("call_w1", "get_weather", {"city": "Paris"})], usage=(31, 7), model=MODEL
    )
    openai_server.enqueue("It is sunny in Paris.", usage=(52, 9), model=MODEL)
    agent = make_agent(openai_server, WeatherTool(), system_prompt="Be brief.")

    answer = await agent.run("Weather in Paris?")

    trace = await trace_of(manager, agent)
    first, second = trace.think_records
    sent = openai_server.requests
    assert answer == "It is sunny in Paris." == second.llm_response == trace.output
    assert first.messages == sent[0]["messages"] and second.messages == sent[1]["messages"]
    assert sent[0]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent[0]["tools"] == agent.tools.to_params()
    assert "stream" not in sent[0]
    assert first.tool_calls == [
        {"id": "call_w1", "name": "get_weather", "arguments": json.dumps({"city": "Paris"})}
    ]
    assert (first.prompt_tokens, first.completion_tokens, first.tokens_used) == (31, 7, 38)
    assert (second.prompt_tokens, second.completion_tokens, second.tokens_used) == (52, 9, 61)
    assert first.cost_usd == estimate_cost(MODEL, 31, 7) and first.cost_usd
    assert first.model == MODEL
    (tool,) = trace.tool_records
    assert (tool.tool_call_id, tool.input_params, tool.parent_id) == (
        "call_w1",
        {"city": "Paris"},
        first.run_id,
    )
    assert sent[1]["messages"][-1] == {
        "role": "tool",
        "tool_call_id": "call_w1",
        "content": "Sunny, 72°F in Paris",
    }
    assert trace.tokens_used == 99


async def test_streamed_responses_match_the_plain_ones(
    manager: TraceManager, openai_server: OpenAITestServer
) -> None:
    arguments = json.dumps({"city": "San Francisco"})
    openai_server.enqueue(
        tool_calls=[("call_s1", "get_weather", arguments)], usage=(40, 12), chunk_size=3
    )
    openai_server.enqueue("Foggy but mild in San Francisco.", usage=(70, 8), chunk_size=5)
    events: list[dict[str, Any]] = []
    agent = make_agent(openai_server, WeatherTool(), on_event=events.append)

    answer = await agent.run("Weather in SF?")

    trace = await trace_of(manager, agent)
    first, second = trace.think_records
    assert all(request["stream"] is True for request in openai_server.requests)
    assert answer == "Foggy but mild in San Francisco." == second.llm_response
    partials = [e["content"] for e in events if e["type"] == "partial_answer"]
    assert len(partials) > 1 and "".join(partials) == answer
    assert first.tool_calls == [{"id": "call_s1", "name": "get_weather", "arguments": arguments}]
    assert trace.tool_records[0].input_params == {"city": "San Francisco"}
    assert (first.prompt_tokens, first.completion_tokens) == (40, 12)
    assert (second.prompt_tokens, second.completion_tokens, second.tokens_used) == (70, 8, 78)
    assert second.messages == openai_server.requests[1]["messages"]


async def test_two_parallel_tool_calls_overlap(
    manager: TraceManager, openai_server: OpenAITestServer
) -> None:
    openai_server.enqueue(
        tool_calls=[("call_a", "meet", {"who": "a"}), ("call_b", "meet", {"who": "b"})]
    )
    openai_server.enqueue("Both met.")
    agent = make_agent(openai_server, Meet(asyncio.Barrier(2)))

    assert await agent.run("meet") == "Both met."

    trace = await trace_of(manager, agent)
    a, b = trace.tool_records
    assert (a.tool_call_id, b.tool_call_id) == ("call_a", "call_b")
    assert a.end_us is not None and b.end_us is not None
    assert a.start_us <= b.end_us and b.start_us <= a.end_us
    tool_messages = [m for m in openai_server.requests[1]["messages"] if m["role"] == "tool"]
    assert [(m["tool_call_id"], m["content"]) for m in tool_messages] == [
        ("call_a", "a met"),
        ("call_b", "b met"),
    ]


async def test_malformed_arguments_become_a_failed_record_and_the_run_goes_on(
    manager: TraceManager, openai_server: OpenAITestServer
) -> None:
    openai_server.enqueue(tool_calls=[("call_bad", "get_weather", '{"city": "Par')])
    openai_server.enqueue(tool_calls=[("call_ok", "get_weather", {"city": "Paris"})])
    openai_server.enqueue("Sunny in Paris.")
    agent = make_agent(openai_server, WeatherTool())

    assert await agent.run("Weather in Paris?") == "Sunny in Paris."

    trace = await trace_of(manager, agent)
    bad, good = trace.tool_records
    assert (bad.success, bad.error_type, bad.input_params) == (
        False,
        "ToolArgumentsError",
        '{"city": "Par',
    )
    assert good.success and good.input_params == {"city": "Paris"}
    feedback = openai_server.requests[1]["messages"][-1]
    assert feedback["tool_call_id"] == "call_bad"
    assert feedback["content"].startswith("Error: arguments are not valid JSON")
    assert trace.status == "success" and trace.has_errors


async def test_a_500_is_retried_by_the_sdk_and_the_run_succeeds(
    manager: TraceManager, openai_server: OpenAITestServer
) -> None:
    openai_server.enqueue(status=500, error_message="upstream hiccup")
    openai_server.enqueue("Recovered.", usage=(11, 2))
    agent = make_agent(openai_server, WeatherTool())

    assert await agent.run("hello") == "Recovered."

    trace = await trace_of(manager, agent)
    assert len(openai_server.requests) == 2
    (think,) = trace.think_records
    assert think.success and (think.prompt_tokens, think.completion_tokens) == (11, 2)
    assert trace.status == "success" and not trace.has_errors


async def test_a_429_that_exhausts_retries_fails_the_think_record_and_the_trace(
    manager: TraceManager, openai_server: OpenAITestServer
) -> None:
    openai_server.enqueue(status=429, error_message="rate limited", times=3)
    events: list[dict[str, Any]] = []
    agent = make_agent(openai_server, WeatherTool(), retries=2, on_event=events.append)

    with pytest.raises(LLMError) as caught:
        await agent.run("hello")

    assert caught.value.status_code == 429
    assert len(openai_server.requests) == 3
    trace = await trace_of(manager, agent)
    (think,) = trace.think_records
    assert (think.success, think.error_type) == (False, "LLMError")
    assert think.error and "429" in think.error
    assert trace.status == "error" and trace.error and "429" in trace.error
    assert events[-1]["type"] == "error" and events[-1]["trace_id"] == trace.trace_id
    assert agent.messages == []
