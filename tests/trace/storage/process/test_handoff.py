"""The hand-off to the writer process: traces come back as the objects they were."""

from __future__ import annotations

import dataclasses
import datetime as dt
import marshal
import math

import orjson

from myagent.trace import LogEntry, StepRecord, ThinkRecord, ToolRecord, Trace, TraceStatus
from myagent.trace.storage.process import handoff


class Text(str):
    """A str subclass (marshal refuses it)."""


@dataclasses.dataclass
class Point:
    x: int
    _hidden: str = "kept"


def _trace(**values: object) -> Trace:
    trace = Trace(name="t", agent_name="a", input="q", output={"answer": [1, 2.5, "x"]})
    trace.status = TraceStatus.SUCCESS
    trace.end_us = trace.start_us + 10
    think = ThinkRecord(name="think", trace_id=trace.trace_id, model="m", tokens_used=7)
    tool = ToolRecord(name="tool", trace_id=trace.trace_id, input_params={"city": "NYC"})
    step = StepRecord(name="step", trace_id=trace.trace_id, inputs=values or {"k": "v"})
    trace.runs = [think, tool, step]
    trace.logs = [LogEntry(level="INFO", message="hi", run_id=tool.run_id)]
    return trace


def _stored(trace: Trace) -> list[object]:
    """What storage keeps of `trace` (as data: converted values may change key order)."""
    return [orjson.loads(trace.to_json()), *(orjson.loads(run.to_json()) for run in trace.runs)]


def test_plain_traces_come_back_equal() -> None:
    traces = [_trace(), _trace(nan=float("nan"), none=None, pair=(1, 2), set={3}, int={1: 2})]
    encoded = handoff.encode(traces)
    assert encoded is not None
    assert all(type(item) is tuple for item in marshal.loads(encoded))  # not to_dict data
    back = handoff.decode(encoded)
    for before, after in zip(traces, back, strict=True):
        assert _stored(after) == _stored(before)
        assert [type(r) for r in after.runs] == [type(r) for r in before.runs]
        assert after.logs[0].to_dict() == before.logs[0].to_dict()
        assert after.status is TraceStatus.SUCCESS
    inputs = back[1].runs[2].inputs
    assert inputs["pair"] == (1, 2) and inputs["set"] == {3} and inputs["int"] == {1: 2}
    assert math.isnan(inputs["nan"]) and inputs["none"] is None


def test_other_objects_are_converted_as_storage_converts_them() -> None:
    for value in (dt.datetime(2024, 1, 2, 3, 4, 5), Point(1), TraceStatus.ERROR, Text("x")):
        trace = _trace(v=value)
        (back,) = handoff.decode(handoff.pack([handoff.item(trace)]))
        assert _stored(back) == _stored(trace), value


def test_one_unusual_trace_leaves_the_rest_of_its_batch_as_it_was() -> None:
    plain, odd = _trace(), _trace(v=Point(2))
    assert handoff.encode([plain, odd]) is None
    encoded = handoff.pack([handoff.item(plain), handoff.item(odd)])
    assert [type(item) for item in marshal.loads(encoded)] == [tuple, dict]
    assert [_stored(t) for t in handoff.decode(encoded)] == [_stored(plain), _stored(odd)]
