"""The OpenAI Agents SDK, traced by openinference-instrumentation-openai-agents and
exported over OTLP/HTTP: one agent run with one function tool is one trace with the
agent's name, its think records and its tool record."""

from __future__ import annotations

from myagent.trace import ThinkRecord, ToolRecord
from myagent.trace.pricing import estimate_cost
from tests.otlp.conftest import Collector
from tests.support.agents_sdk import AGENT_NAME, ANSWER, QUESTION, run_weather_agent
from tests.support.openai_server import OpenAITestServer


def test_an_agents_sdk_run_is_one_trace_with_agent_think_and_tool_records(
    collector: Collector, openai_server: OpenAITestServer
) -> None:
    run_weather_agent(openai_server, collector.endpoint)
    [trace] = collector.traces()
    assert (trace.name, trace.agent_name, trace.status) == ("Agent workflow", AGENT_NAME, "success")
    assert (trace.input, trace.output) == (QUESTION, ANSWER)
    assert trace.metadata["service.name"] == "agents-app"
    think = [r for r in trace.runs if isinstance(r, ThinkRecord)]
    [tool] = [r for r in trace.runs if isinstance(r, ToolRecord)]
    assert [(t.model, t.prompt_tokens, t.completion_tokens) for t in think] == [
        ("gpt-4o-mini", 61, 14),
        ("gpt-4o-mini", 92, 11),
    ]
    assert trace.tokens_used == 61 + 14 + 92 + 11
    assert think[0].cost_usd == estimate_cost("gpt-4o-mini", 61, 14)
    assert think[0].system_prompts == ["Answer weather questions with the tool."]
    assert think[0].messages[-1] == {"role": "user", "content": QUESTION}
    assert think[0].tool_calls == [
        {"id": "call_oslo", "name": "get_weather", "arguments": {"city": "Oslo"}}
    ]
    assert think[1].llm_response == ANSWER
    assert (tool.tool_name, tool.input_params) == ("get_weather", {"city": "Oslo"})
    assert tool.output == "4 degrees and windy in Oslo"
    # the tree: workflow → agent → turns → (generation, tool)
    by_id = {r.run_id: r for r in trace.runs}
    assert by_id[tool.parent_id].name == "turn"  # type: ignore[index]
    agent_step = by_id[by_id[tool.parent_id].parent_id]  # type: ignore[index]
    assert agent_step.name == AGENT_NAME
    assert agent_step.metadata["openinference.span.kind"] == "AGENT"
    assert all(r.parent_id is None or r.parent_id in by_id for r in trace.runs)
