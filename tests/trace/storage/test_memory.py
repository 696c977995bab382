"""InMemoryTraceStorage keeps finished traces packed: copies, not the caller's objects."""

from __future__ import annotations

from myagent.trace import InMemoryTraceStorage, ThinkRecord, ToolRecord, Trace, TraceFilter
from myagent.trace.storage import memory
from myagent.trace.sync_bridge import run_sync


def _trace(i: int) -> Trace:
    trace = Trace(name="agent", agent_name="agent", input=f"question {i}", status="success")
    think = ThinkRecord(
        name="think",
        trace_id=trace.trace_id,
        messages=[{"role": "user", "content": f"question {i}"}],
        tokens_used=10,
        end_us=trace.start_us + 5,
    )
    tool = ToolRecord(
        name="calc",
        trace_id=trace.trace_id,
        parent_id=think.run_id,
        tool_name="calc",
        input_params={"x": i},
        output=str(i),
        end_us=trace.start_us + 9,
        success=i % 2 == 0,
        error=None if i % 2 == 0 else f"odd number {i}",
    )
    trace.runs += [think, tool]
    trace.end_us = trace.start_us + 10
    return trace


def test_a_stored_trace_reads_back_equal_and_unaliased() -> None:
    storage = InMemoryTraceStorage()
    trace = _trace(1)
    run_sync(storage.store_trace(trace))
    expected = trace.to_dict()
    think = trace.runs[0]
    assert isinstance(think, ThinkRecord)
    think.messages.append({"role": "assistant", "content": "changed after storing"})
    trace.tags.append("late")
    got = run_sync(storage.get_trace(trace.trace_id))
    assert got is not None and got is not trace
    assert got.to_dict() == expected


def test_traces_read_back_across_preset_dictionary_changes() -> None:
    storage = InMemoryTraceStorage()
    traces = [_trace(i) for i in range(memory._DICT_EVERY * 2 + 5)]
    run_sync(storage.store_traces(traces))
    for trace in (traces[0], traces[memory._DICT_EVERY], traces[-1]):
        got = run_sync(storage.get_trace(trace.trace_id))
        assert got is not None and got.to_dict() == trace.to_dict()


def test_search_reads_failed_record_errors_of_packed_traces() -> None:
    storage = InMemoryTraceStorage()
    run_sync(storage.store_traces([_trace(i) for i in range(4)]))
    found = run_sync(storage.query_traces(TraceFilter(text="odd 3")))
    assert [t.input for t in found] == ["question 3"]


def test_running_traces_stay_live_until_stored_finished() -> None:
    storage = InMemoryTraceStorage()
    trace = Trace(name="live")
    run_sync(storage.store_partial([trace]))
    trace.runs.append(ToolRecord(name="calc", trace_id=trace.trace_id, tool_name="calc"))
    assert run_sync(storage.get_trace(trace.trace_id)) is trace
    assert run_sync(storage.count_traces(TraceFilter(statuses=["running"]))) == 1
    trace.status, trace.end_us = "success", trace.start_us + 1
    run_sync(storage.store_trace(trace))
    got = run_sync(storage.get_trace(trace.trace_id))
    assert got is not None and got is not trace and len(got.runs) == 1
    assert run_sync(storage.count_traces(TraceFilter(statuses=["success"]))) == 1
