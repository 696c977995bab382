"""A finished agent trace with fixed ids and times, and a reader for span attributes."""

from __future__ import annotations

from typing import Any

from myagent.trace import LogEntry, StepRecord, ThinkRecord, ToolRecord, Trace

T0 = 1_700_000_000_000_000  # microseconds
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
THINK_ID = "b7ad6b7169203331"
TOOL_ID = "00f067aa0ba902b7"
STEP_ID = "53995c3f42cd8ad8"


def attrs(span: Any) -> dict[str, Any]:
    """The attributes of a span, event or resource as plain Python values."""
    result: dict[str, Any] = {}
    for kv in span.attributes:
        which = kv.value.WhichOneof("value")
        if which == "array_value":
            result[kv.key] = [
                getattr(v, v.WhichOneof("value")) for v in kv.value.array_value.values
            ]
        else:
            result[kv.key] = getattr(kv.value, which)
    return result


def agent_trace(*, tool_fails: bool = False) -> Trace:
    """A finished agent run: think → tool (child of think) → step, with fixed ids and times."""
    think = ThinkRecord(
        name="think",
        run_id=THINK_ID,
        trace_id=TRACE_ID,
        start_us=T0 + 1_000,
        end_us=T0 + 401_000,
        agent_name="weather-bot",
        model="gpt-4o-mini",
        prompt_tokens=120,
        completion_tokens=30,
        tokens_used=150,
        cost_usd=0.0021,
        system_prompts=["You are helpful."],
        messages=[
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "Weather in Paris?"},
        ],
        llm_response="",
        tool_calls=[{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}],
        metadata={"finish_reason": "tool_calls", "temperature": 0.2, "attempt": 1},
    )
    tool = ToolRecord(
        name="get_weather",
        run_id=TOOL_ID,
        trace_id=TRACE_ID,
        parent_id=THINK_ID,
        start_us=T0 + 402_000,
        end_us=T0 + 452_500,
        tool_name="get_weather",
        tool_call_id="call_1",
        input_params={"city": "Paris"},
        output="18°C, sunny",
    )
    if tool_fails:
        tool.success = False
        tool.error = "TimeoutError: upstream took too long"
        tool.error_type = "TimeoutError"
        tool.stacktrace = "Traceback (most recent call last): ..."
        tool.output = None
    step = StepRecord(
        name="postprocess",
        run_id=STEP_ID,
        trace_id=TRACE_ID,
        parent_id="ffffffffffffffff",  # a parent outside this trace: hangs under the root
        start_us=T0 + 460_000,
        end_us=T0 + 470_000,
        inputs={"raw": 1},
        output={"clean": 1},
    )
    return Trace(
        trace_id=TRACE_ID,
        name="weather",
        agent_name="weather-bot",
        session_id="sess-42",
        input="Weather in Paris?",
        output="It is 18°C and sunny.",
        status="success",
        start_us=T0,
        end_us=T0 + 500_000,
        metadata={"user": "u1", "flags": {"beta": True}},
        tags=["prod", "eu"],
        runs=[think, tool, step],
        logs=[
            LogEntry(
                level="INFO", message="calling tool", timestamp_us=T0 + 402_100, run_id=TOOL_ID
            ),
            LogEntry(level="WARNING", message="slow", timestamp_us=T0 + 499_000),
        ],
    )
