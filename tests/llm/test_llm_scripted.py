"""ScriptedLLM: the offline stand-in model, in script mode and in rule-based mode."""

from __future__ import annotations

import json
from typing import Any

import pytest

from myagent.llm import LLM, LLMError, LLMResponse, LLMUsage, ScriptedLLM, ToolCall


def tool(name: str, description: str, **properties: str) -> dict[str, Any]:
    """An OpenAI function tool whose parameters are all required strings unless typed."""
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {key: {"type": kind} for key, kind in properties.items()},
                "required": list(properties),
            },
        },
    }


WEATHER = tool("get_weather", "Get the current weather for a city", city="string")
CALCULATOR = tool("calculator", "Evaluate an arithmetic expression", expression="string")
SEARCH = tool("web_search", "Search the web for a query", query="string")
TOOLS = [WEATHER, CALCULATOR, SEARCH]


def user(text: str) -> list[dict[str, Any]]:
    """A conversation of one user message."""
    return [{"role": "user", "content": text}]


def test_says_it_is_scripted_and_offline() -> None:
    llm = ScriptedLLM()

    assert "scripted" in llm.model
    assert "offline" in llm.description.lower()
    assert "offline" in (ScriptedLLM.__doc__ or "").lower()
    assert isinstance(llm, LLM)


async def test_script_returns_steps_in_order() -> None:
    llm = ScriptedLLM(
        [
            [("get_weather", {"city": "Paris"}), ("calculator", '{"expression": "2+')],
            "Paris is sunny.",
        ]
    )

    first = await llm.chat(user("weather?"), tools=TOOLS)
    second = await llm.chat(user("weather?"), tools=TOOLS)

    assert first.content is None
    assert first.finish_reason == "tool_calls"
    assert first.tool_calls == [
        ToolCall("call_scripted_1", "get_weather", '{"city": "Paris"}'),
        ToolCall("call_scripted_2", "calculator", '{"expression": "2+'),
    ]
    assert second.content == "Paris is sunny."
    assert second.tool_calls == []
    assert second.finish_reason == "stop"
    assert first.cost_usd is None and second.cost_usd is None
    assert first.model == second.model == "scripted-offline"
    assert llm.remaining == 0
    assert [call["messages"] for call in llm.calls] == [user("weather?")] * 2


async def test_usage_is_fake_but_deterministic() -> None:
    script = ["A fairly long final answer about the weather."]
    one = await ScriptedLLM(script).chat(user("What is the weather like in Paris today?"))
    two = await ScriptedLLM(script).chat(user("What is the weather like in Paris today?"))

    assert one.usage == two.usage
    assert isinstance(one.usage, LLMUsage)
    assert one.usage.prompt_tokens > 0 and one.usage.completion_tokens > 0
    assert one.usage.total_tokens == one.usage.prompt_tokens + one.usage.completion_tokens


async def test_exhausted_script_raises_llm_error() -> None:
    llm = ScriptedLLM(["only one"])
    await llm.chat(user("hi"))

    with pytest.raises(LLMError, match="exhausted"):
        await llm.chat(user("again"))


async def test_exception_and_response_steps() -> None:
    ready = LLMResponse(content="prepared", model="scripted-offline")
    llm = ScriptedLLM([RuntimeError("model down"), ready])

    with pytest.raises(RuntimeError, match="model down"):
        await llm.chat(user("hi"))
    assert await llm.chat(user("hi")) is ready


@pytest.mark.parametrize("async_callback", [True, False], ids=["async", "sync"])
async def test_on_token_receives_the_final_text_in_chunks(async_callback: bool) -> None:
    text = "Here is a streamed answer from the offline scripted model."
    chunks: list[str] = []

    async def collect_async(chunk: str) -> None:
        chunks.append(chunk)

    llm = ScriptedLLM([text, [("get_weather", {"city": "Oslo"})]])
    response = await llm.chat(
        user("hi"), on_token=collect_async if async_callback else chunks.append
    )

    assert len(chunks) > 1
    assert "".join(chunks) == response.content == text
    chunks.clear()
    await llm.chat(user("hi"), on_token=chunks.append)
    assert chunks == [], "tool-call responses have no text to stream"


@pytest.mark.parametrize(
    ("question", "name", "arguments"),
    [
        ("What's the weather in Paris?", "get_weather", {"city": "Paris"}),
        ("How hot is it in San Francisco today?", "get_weather", {"city": "San Francisco"}),
        ("weather in new york please", "get_weather", {"city": "new york"}),
        ("Calculate 12 * (3 + 4)", "calculator", {"expression": "12 * (3 + 4)"}),
        ("what is 2 plus 3 times 4?", "calculator", {"expression": "2 + 3 * 4"}),
        ("search the web for python asyncio", "web_search", {"query": "python asyncio"}),
    ],
)
async def test_rules_pick_a_matching_tool_with_plausible_arguments(
    question: str, name: str, arguments: dict[str, Any]
) -> None:
    response = await ScriptedLLM().chat(user(question), tools=TOOLS)

    assert response.content is None
    assert [call.name for call in response.tool_calls] == [name]
    assert json.loads(response.tool_calls[0].arguments) == arguments


async def test_rules_call_two_tools_for_a_two_part_question() -> None:
    response = await ScriptedLLM().chat(
        user("What is the weather like in Tokyo and what is 5*5?"), tools=TOOLS
    )

    assert [(c.name, json.loads(c.arguments)) for c in response.tool_calls] == [
        ("get_weather", {"city": "Tokyo"}),
        ("calculator", {"expression": "5*5"}),
    ]
    assert len({c.id for c in response.tool_calls}) == 2


async def test_rules_answer_with_the_tool_outputs() -> None:
    llm = ScriptedLLM()
    history = user("What is the weather like in Tokyo and what is 5*5?")
    decision = await llm.chat(history, tools=TOOLS)
    history.append(decision.to_message())
    outputs = {"get_weather": "Rainy, 14°C", "calculator": "25"}
    for call in decision.tool_calls:
        history.append({"role": "tool", "tool_call_id": call.id, "content": outputs[call.name]})

    chunks: list[str] = []
    answer = await llm.chat(history, tools=TOOLS, on_token=chunks.append)

    assert answer.tool_calls == []
    assert answer.content is not None
    assert "Rainy, 14°C" in answer.content and "25" in answer.content
    assert "get_weather" in answer.content
    assert "".join(chunks) == answer.content


async def test_rules_without_a_matching_tool_answer_in_text() -> None:
    llm = ScriptedLLM()

    no_match = await llm.chat(user("tell me a joke"), tools=TOOLS)
    no_tools = await llm.chat(user("What's the weather in Paris?"))
    tools_off = await llm.chat(
        user("What's the weather in Paris?"), tools=TOOLS, tool_choice="none"
    )

    for response in (no_match, no_tools, tools_off):
        assert response.tool_calls == []
        assert response.content is not None and "offline scripted model" in response.content


async def test_rules_honour_forced_and_required_tool_choice() -> None:
    llm = ScriptedLLM()

    forced = await llm.chat(
        user("Paris please"),
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "web_search"}},
    )
    required = await llm.chat(user("tell me a joke"), tools=TOOLS, tool_choice="required")

    assert [c.name for c in forced.tool_calls] == ["web_search"]
    assert [c.name for c in required.tool_calls] == ["get_weather"]


async def test_rules_fill_typed_parameters() -> None:
    typed = {
        "type": "function",
        "function": {
            "name": "get_forecast",
            "description": "Weather forecast for a city over some days",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "days": {"type": "integer"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city", "days", "unit"],
            },
        },
    }

    response = await ScriptedLLM().chat(
        user("Give me the 3 day forecast for Berlin in fahrenheit"), tools=[typed]
    )

    assert json.loads(response.tool_calls[0].arguments) == {
        "city": "Berlin",
        "days": 3,
        "unit": "fahrenheit",
    }
