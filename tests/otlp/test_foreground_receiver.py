"""An in-process receiver with the viewer's ForegroundGate: mapping and the writer wait
while a page is answered, and carry on once it is."""

from __future__ import annotations

import asyncio
from pathlib import Path

from myagent.trace import SQLiteTraceStorage, TraceManager
from myagent.trace.foreground import ForegroundGate
from myagent.trace.otel.receiver import OTLPReceiver
from tests.otlp.test_bad_input import PROTOBUF, TRACE, request_of, span


def test_ingest_waits_for_the_foreground_then_stores_everything(tmp_path: Path) -> None:
    storage = SQLiteTraceStorage(tmp_path / "gate.db")
    manager = TraceManager(storage)
    gate = ForegroundGate(max_wait=60.0)
    receiver = OTLPReceiver(manager, gate=gate)
    assert manager._writer.pause == gate.pause  # the writer yields too
    body = request_of([span(1)] + [span(i, parent=1) for i in range(2, 101)]).SerializeToString()

    async def scenario() -> None:
        gate.enter()  # a page is being answered
        export = asyncio.create_task(receiver.export(body, PROTOBUF))
        await asyncio.sleep(0.5)
        assert not export.done() and gate.waits >= 1  # mapping paused at its first yield
        gate.leave()
        reply = await asyncio.wait_for(export, 30)
        assert reply.status == 200
        await receiver.close()

    asyncio.run(scenario())
    manager.close(10)
    trace = storage.get_trace_sync(TRACE.hex())
    assert trace is not None and len(trace.runs) == 100
