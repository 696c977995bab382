"""Content capture: OpenAI-format messages in the GenAI `{"role", "parts"}` shape."""

from __future__ import annotations

from myagent.trace.otel.content import input_messages, output_messages


def test_openai_tool_messages_convert_to_parts() -> None:
    messages = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
    ]
    assert input_messages(messages) == [
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "c1", "name": "f", "arguments": {"x": 1}}],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "42"}]},
    ]


def test_reply_with_text_and_tool_calls_becomes_one_assistant_message() -> None:
    reply = {"role": "assistant", "content": "Let me check."}
    calls = [{"id": "c2", "name": "g", "arguments": {"q": "x"}}]
    assert output_messages(reply, calls, None) == [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Let me check."},
                {"type": "tool_call", "id": "c2", "name": "g", "arguments": {"q": "x"}},
            ],
            "finish_reason": "tool_call",
        }
    ]
    assert output_messages("Done.", [], "stop")[0]["parts"] == [
        {"type": "text", "content": "Done."}
    ]
