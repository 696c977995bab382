"""The receiver over PostgreSQL: spans in pieces, re-sent and across a receiver restart
make one trace there too (the assembly only uses the storage interface)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from myagent.trace import TraceManager
from myagent.trace.otel.receiver import PROTOBUF, OTLPReceiver
from tests.otlp.test_roundtrip import body, spans_of
from tests.trace.otel.sample import STEP_ID, THINK_ID, TOOL_ID, TRACE_ID, agent_trace


def send(receiver: OTLPReceiver, payload: bytes) -> int:
    return asyncio.run(receiver.export(payload, PROTOBUF)).status


def test_pieces_resends_and_a_restart_make_one_trace_in_postgres(postgres_storage: Any) -> None:
    spans = spans_of(agent_trace())
    first = TraceManager(postgres_storage)
    receiver = OTLPReceiver(first)
    assert send(receiver, body([spans[TOOL_ID], spans[THINK_ID]])) == 200
    assert send(receiver, body([spans[THINK_ID]])) == 200  # re-sent
    deadline = time.monotonic() + 10
    while (stored := postgres_storage.get_trace_sync(TRACE_ID)) is None or len(stored.runs) < 2:
        assert time.monotonic() < deadline, "the running trace was not written"
        time.sleep(0.05)
    assert stored.status == "running"
    assert first.flush(10)
    second = OTLPReceiver(TraceManager(postgres_storage))  # a new receiver: nothing held open
    assert send(second, body([spans[STEP_ID], spans["root"]])) == 200
    assert second.manager.flush(10)
    trace = postgres_storage.get_trace_sync(TRACE_ID)
    assert trace.status == "success" and trace.name == "weather"
    assert {r.run_id: r.parent_id for r in trace.runs} == {
        THINK_ID: None,
        TOOL_ID: THINK_ID,
        STEP_ID: None,
    }
    assert postgres_storage.count_traces_sync() == 1
    for manager in (second.manager, first):
        manager.close(10)
