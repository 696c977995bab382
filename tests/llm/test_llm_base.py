"""The plain data types of the LLM layer."""

from __future__ import annotations

from myagent.llm import LLMResponse, LLMUsage, ToolCall


def test_to_message_for_text_and_tool_calls() -> None:
    text = LLMResponse(
        content="hello",
        tool_calls=[],
        model="m",
        usage=None,
        cost_usd=None,
        finish_reason="stop",
        raw=None,
    )
    calls = LLMResponse(
        content=None,
        tool_calls=[ToolCall("c1", "get_weather", '{"city": "Par')],
        model="m",
        usage=LLMUsage(1, 2, 3),
        cost_usd=None,
        finish_reason="tool_calls",
        raw=None,
    )

    assert text.to_message() == {"role": "assistant", "content": "hello"}
    assert calls.to_message() == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Par'},
            }
        ],
    }
