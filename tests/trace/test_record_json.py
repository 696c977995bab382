"""The stored-JSON fast paths give exactly what the general, converting path gives."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from myagent.trace import LogEntry, ThinkRecord, ToolRecord, Trace
from myagent.trace.record_json import plain_trace_json
from myagent.trace.storage import sqlite_rows

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _slow_row(trace: Trace) -> tuple[Any, ...]:
    """`trace_row` as it was: every field through `to_dict`."""
    original = sqlite_rows.plain_trace_json
    sqlite_rows.plain_trace_json = lambda trace: None  # type: ignore[assignment]
    try:
        return sqlite_rows.trace_row(trace)
    finally:
        sqlite_rows.plain_trace_json = original


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


@settings(max_examples=300, deadline=None)
@given(
    name=st.one_of(st.text(max_size=10), st.integers()),
    agent=st.none() | st.text(max_size=10),
    session=st.none() | st.text(max_size=10),
    input_=json_values,
    output=json_values,
    error=st.none() | st.text(max_size=10),
    metadata=st.dictionaries(st.text(max_size=5), json_values, max_size=3),
    tags=st.lists(st.text(max_size=5), max_size=3),
    ended=st.booleans(),
    logged=st.booleans(),
)
def test_the_plain_trace_path_stores_what_the_converting_path_stores(
    name: Any,
    agent: str | None,
    session: str | None,
    input_: Any,
    output: Any,
    error: str | None,
    metadata: dict[str, Any],
    tags: list[str],
    ended: bool,
    logged: bool,
) -> None:
    trace = Trace(
        name=name,
        agent_name=agent,
        session_id=session,
        input=input_,
        output=output,
        error=error,
        metadata=metadata,
        tags=tags,
        status="success" if ended else "running",
        end_us=10**15 + 5 if ended else None,
        start_us=10**15,
    )
    trace.runs = [
        ThinkRecord(name="think", trace_id=trace.trace_id, messages=[{"role": "user"}]),
        ToolRecord(name="tool", trace_id=trace.trace_id, tool_name="x", output=output),
    ]
    if logged:
        trace.logs.append(LogEntry(level="INFO", message="hello"))
    fast = plain_trace_json(trace)
    assert fast is None or fast == trace.to_json()
    row, runs, body = sqlite_rows.trace_row(trace)
    slow_row, slow_runs, slow_body = _slow_row(trace)
    assert all(_same(a, b) for a, b in zip(row, slow_row, strict=True)), (row, slow_row)
    assert runs == slow_runs and body == slow_body


@pytest.mark.parametrize(
    "trace",
    [
        Trace(name="plain", input={"q": "weather"}, output="sunny", tags=["a"], metadata={"k": 1}),
        Trace(name="bare"),
    ],
)
def test_plain_traces_take_the_fast_path(trace: Trace) -> None:
    assert plain_trace_json(trace) == trace.to_json()
