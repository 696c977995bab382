"""Trace → OTel span conversion: ids, parent links, timestamps, GenAI attributes, content opt-in."""

from __future__ import annotations

import json

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from myagent.trace import StepRecord, Trace
from myagent.trace.otel.mapping import SpanOptions, root_span_id, trace_to_spans
from tests.trace.otel.sample import T0, THINK_ID, TOOL_ID, TRACE_ID, agent_trace, attrs


def by_name(spans: list[Span]) -> dict[str, Span]:
    return {span.name: span for span in spans}


def test_root_and_child_spans_carry_our_ids_and_parent_links() -> None:
    trace = agent_trace()
    spans = by_name(trace_to_spans(trace))
    assert set(spans) == {
        "invoke_agent weather-bot",
        "chat gpt-4o-mini",
        "execute_tool get_weather",
        "postprocess",
    }
    root = spans["invoke_agent weather-bot"]
    chat, tool, step = (
        spans["chat gpt-4o-mini"],
        spans["execute_tool get_weather"],
        spans["postprocess"],
    )
    for span in spans.values():
        assert span.trace_id.hex() == TRACE_ID
    assert root.parent_span_id == b""
    assert root.span_id == root_span_id(trace)
    assert chat.span_id.hex() == THINK_ID and chat.parent_span_id == root.span_id
    assert tool.span_id.hex() == TOOL_ID and tool.parent_span_id.hex() == THINK_ID
    assert step.parent_span_id == root.span_id  # unknown parent id → under the root


def test_timestamps_are_microseconds_times_1000() -> None:
    spans = by_name(trace_to_spans(agent_trace()))
    root, tool = spans["invoke_agent weather-bot"], spans["execute_tool get_weather"]
    assert (root.start_time_unix_nano, root.end_time_unix_nano) == (
        T0 * 1000,
        (T0 + 500_000) * 1000,
    )
    assert tool.start_time_unix_nano == (T0 + 402_000) * 1000
    assert tool.end_time_unix_nano == (T0 + 452_500) * 1000


def test_genai_attributes_on_each_kind_of_span() -> None:
    spans = by_name(trace_to_spans(agent_trace()))
    root = attrs(spans["invoke_agent weather-bot"])
    assert root["gen_ai.operation.name"] == "invoke_agent"
    assert root["gen_ai.agent.name"] == "weather-bot"
    assert root["gen_ai.conversation.id"] == "sess-42"
    assert root["gen_ai.usage.input_tokens"] == 120
    assert root["gen_ai.usage.output_tokens"] == 30
    assert root["myagent.tags"] == ["prod", "eu"]
    assert root["myagent.metadata.user"] == "u1"
    assert json.loads(root["myagent.metadata.flags"]) == {"beta": True}

    chat = attrs(spans["chat gpt-4o-mini"])
    assert spans["chat gpt-4o-mini"].kind == Span.SPAN_KIND_CLIENT
    assert chat["gen_ai.operation.name"] == "chat"
    assert chat["gen_ai.provider.name"] == "openai"
    assert chat["gen_ai.request.model"] == "gpt-4o-mini"
    assert chat["gen_ai.usage.input_tokens"] == 120
    assert chat["gen_ai.usage.output_tokens"] == 30
    assert chat["gen_ai.request.temperature"] == 0.2
    assert chat["gen_ai.response.finish_reasons"] == ["tool_calls"]
    assert chat["myagent.cost_usd"] == pytest.approx(0.0021)
    assert chat["myagent.tool_calls"] == ["get_weather"]
    assert chat["myagent.metadata.attempt"] == 1
    assert "myagent.metadata.temperature" not in chat  # mapped, not duplicated

    tool = attrs(spans["execute_tool get_weather"])
    assert spans["execute_tool get_weather"].kind == Span.SPAN_KIND_INTERNAL
    assert tool["gen_ai.operation.name"] == "execute_tool"
    assert tool["gen_ai.tool.name"] == "get_weather"
    assert tool["gen_ai.tool.call.id"] == "call_1"
    assert tool["gen_ai.tool.type"] == "function"
    assert spans["execute_tool get_weather"].status.code == Status.STATUS_CODE_UNSET


def test_content_is_not_exported_by_default() -> None:
    spans = trace_to_spans(agent_trace())
    keys = {kv.key for span in spans for kv in span.attributes}
    content = {
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
        "myagent.step.inputs",
        "myagent.step.output",
    }
    assert not keys & content
    text = b"".join(span.SerializeToString() for span in spans)
    assert b"Paris" not in text and b"sunny" not in text


def test_content_capture_exports_messages_in_genai_shape() -> None:
    spans = by_name(trace_to_spans(agent_trace(), SpanOptions(capture_content=True)))
    chat = attrs(spans["chat gpt-4o-mini"])
    assert json.loads(chat["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "You are helpful."}
    ]
    assert json.loads(chat["gen_ai.input.messages"])[1] == {
        "role": "user",
        "parts": [{"type": "text", "content": "Weather in Paris?"}],
    }
    assert json.loads(chat["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_1",
                    "name": "get_weather",
                    "arguments": {"city": "Paris"},
                }
            ],
            "finish_reason": "tool_calls",
        }
    ]
    tool = attrs(spans["execute_tool get_weather"])
    assert json.loads(tool["gen_ai.tool.call.arguments"]) == {"city": "Paris"}
    assert tool["gen_ai.tool.call.result"] == "18°C, sunny"
    root = attrs(spans["invoke_agent weather-bot"])
    assert "Weather in Paris?" in root["gen_ai.input.messages"]
    assert json.loads(attrs(spans["postprocess"])["myagent.step.output"]) == {"clean": 1}


def test_failed_tool_has_error_status_type_and_exception_event() -> None:
    spans = by_name(trace_to_spans(agent_trace(tool_fails=True)))
    tool = spans["execute_tool get_weather"]
    assert tool.status.code == Status.STATUS_CODE_ERROR
    assert "upstream took too long" in tool.status.message
    assert attrs(tool)["error.type"] == "TimeoutError"
    exception = [e for e in tool.events if e.name == "exception"]
    assert len(exception) == 1 and exception[0].time_unix_nano == tool.end_time_unix_nano
    assert attrs(exception[0])["exception.type"] == "TimeoutError"
    # The run recovered: the root span is not an error.
    assert spans["invoke_agent weather-bot"].status.code == Status.STATUS_CODE_UNSET


def test_failed_trace_marks_root_span_error_with_type() -> None:
    trace = agent_trace()
    trace.status, trace.error = "error", "ValueError: bad input"
    root = trace_to_spans(trace)[0]
    assert root.status.code == Status.STATUS_CODE_ERROR
    assert root.status.message == "ValueError: bad input"
    assert attrs(root)["error.type"] == "ValueError"


def test_log_entries_become_events_on_their_record_or_the_root() -> None:
    spans = by_name(trace_to_spans(agent_trace()))
    tool_logs = [e for e in spans["execute_tool get_weather"].events if e.name == "log"]
    root_logs = [e for e in spans["invoke_agent weather-bot"].events if e.name == "log"]
    assert [attrs(e)["log.message"] for e in tool_logs] == ["calling tool"]
    assert [attrs(e)["log.severity"] for e in root_logs] == ["WARNING"]
    assert root_logs[0].time_unix_nano == (T0 + 499_000) * 1000


def test_non_agent_trace_and_odd_ids_still_make_valid_spans() -> None:
    trace = Trace(
        trace_id="not-hex", name="batch job", status="success", start_us=T0, end_us=T0 + 5
    )
    trace.runs.append(
        StepRecord(name="s", run_id="xyz", trace_id="not-hex", start_us=T0, end_us=None)
    )
    root, step = trace_to_spans(trace)
    assert root.name == "batch job"
    assert "gen_ai.operation.name" not in attrs(root)
    assert len(root.trace_id) == 16 and any(root.trace_id)
    assert len(step.span_id) == 8 and step.parent_span_id == root.span_id
    assert step.end_time_unix_nano == (T0 + 5) * 1000  # unfinished record ends with its trace


def test_long_attributes_are_cut_with_a_marker() -> None:
    trace = agent_trace()
    trace.tool_records[0].output = "x" * 10_000
    options = SpanOptions(capture_content=True, max_attribute_length=100)
    tool = by_name(trace_to_spans(trace, options))["execute_tool get_weather"]
    result = attrs(tool)["gen_ai.tool.call.result"]
    assert result.startswith("x" * 100) and "truncated" in result and len(result) < 200
