"""Records: the data model's fields, roll-ups and a lossless JSON round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from myagent.trace import (
    LogEntry,
    RunRecord,
    StepRecord,
    ThinkRecord,
    ToolRecord,
    Trace,
    TraceStatus,
)


def _sample_trace() -> Trace:
    trace = Trace(
        name="weather-agent",
        agent_name="weather-agent",
        session_id="s1",
        input="What's the weather in NYC?",
        metadata={"user": "u1", "nested": {"k": [1, 2.5, None, True]}},
        tags=["prod", "v2"],
    )
    think = ThinkRecord(
        name="think",
        trace_id=trace.trace_id,
        agent_name="weather-agent",
        input="What's the weather in NYC?",
        system_prompts=["You are a weather assistant..."],
        messages=[{"role": "user", "content": "What's the weather in NYC?"}],
        llm_response="I'll check the weather for you...",
        tool_calls=[{"id": "c1", "name": "get_weather", "arguments": '{"location": "NYC"}'}],
        model="gpt-4o-mini",
        prompt_tokens=100,
        completion_tokens=50,
        tokens_used=150,
        cost_usd=0.0001,
    )
    think.end_us = think.start_us + 1_200_000
    tool = ToolRecord(
        name="get_weather",
        trace_id=trace.trace_id,
        parent_id=think.run_id,
        tool_name="get_weather",
        tool_call_id="c1",
        input_params={"location": "NYC"},
        output="Sunny, 72°F",
    )
    tool.end_us = tool.start_us + 500_000
    failed = StepRecord(name="step", trace_id=trace.trace_id, inputs={"x": 1})
    failed.end_us = failed.start_us + 10
    failed.success, failed.error, failed.error_type = False, "ValueError: bad", "ValueError"
    trace.runs += [think, tool, failed]
    trace.logs.append(LogEntry(level="INFO", message="hello", run_id=think.run_id))
    trace.output = "Sunny"
    trace.status = TraceStatus.SUCCESS
    trace.end_us = trace.start_us + 2_000_000
    return trace


def test_trace_fields_and_rollups() -> None:
    trace = _sample_trace()
    assert trace.total_duration == 2.0
    assert trace.start_time.tzinfo is UTC
    assert [r.run_id for r in trace.think_records] == [trace.runs[0].run_id]
    assert [r.tool_name for r in trace.tool_records] == ["get_weather"]
    assert trace.tokens_used == 150
    assert trace.cost_usd == 0.0001
    # A recovered failure: the run succeeded, yet the trace has errors.
    assert trace.status == "success"
    assert trace.has_errors is True
    assert trace.error_count == 1
    think = trace.think_records[0]
    assert think.duration == 1.2
    assert trace.tool_records[0].parent_id == think.run_id


def test_json_round_trip_is_lossless() -> None:
    trace = _sample_trace()
    data = trace.to_dict()
    text = json.dumps(data)  # plain JSON, nothing custom
    again = Trace.from_dict(json.loads(text))
    assert again.to_dict() == data
    assert [type(r) for r in again.runs] == [ThinkRecord, ToolRecord, StepRecord]
    assert again.runs[0].start_us == trace.runs[0].start_us
    assert again.logs[0].message == "hello"


def test_record_from_dict_picks_the_class_by_run_type() -> None:
    tool = ToolRecord(name="t", tool_name="t", input_params={"a": 1}, output=[1, 2])
    rebuilt = RunRecord.from_dict(tool.to_dict())
    assert isinstance(rebuilt, ToolRecord)
    assert rebuilt.to_dict() == tool.to_dict()


def test_datetime_setters_take_aware_and_naive_times() -> None:
    record = StepRecord(name="s")
    record.start_time = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    record.end_time = datetime(2026, 1, 1, 12, 0, 1, 500_000, tzinfo=UTC)
    assert record.duration == 1.5
    naive = datetime(2026, 1, 1, 12, 0)
    record.start_time = naive
    assert record.start_time == naive.astimezone(UTC)


def test_running_trace_has_no_duration() -> None:
    trace = Trace(name="x")
    assert trace.total_duration is None
    assert trace.status == TraceStatus.RUNNING
    assert trace.to_dict()["end_time"] is None
