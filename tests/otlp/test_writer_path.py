"""Spans received over OTLP go through the trace manager's writer like any trace:
redacted, bounded, rolled up, counted, and refused with 503 (not dropped) when full."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from myagent.trace import InMemoryTraceStorage, SQLiteTraceStorage, Trace, TraceManager
from myagent.trace.otel.receiver import PROTOBUF, OTLPReceiver
from myagent.trace.serialize import DEFAULT_MAX_VALUE_SIZE

SECRET = "sk-proj-CANARYabcdefghijklmnopqrstuvwxyz0123"
T0 = 1_700_000_000_000_000_000


def request(trace_byte: int, spans: int = 2, **attributes: str) -> bytes:
    """One trace: a root and `spans - 1` LLM children with the given string attributes."""
    message = ExportTraceServiceRequest()
    holder = message.resource_spans.add().scope_spans.add().spans
    trace_id = bytes([trace_byte]) * 16
    for i in range(1, spans + 1):
        span = Span(
            trace_id=trace_id,
            span_id=i.to_bytes(8, "big"),
            name="root" if i == 1 else "chat gpt-4o-mini",
            start_time_unix_nano=T0 + i,
            end_time_unix_nano=T0 + 10_000 + i,
        )
        if i > 1:
            span.parent_span_id = (1).to_bytes(8, "big")
            for key, value in {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o-mini",
                **attributes,
            }.items():
                span.attributes.add(key=key).value.string_value = value
            for key, number in (
                ("gen_ai.usage.input_tokens", 100),
                ("gen_ai.usage.output_tokens", 20),
            ):
                span.attributes.add(key=key).value.int_value = number
        holder.append(span)
    return bytes(message.SerializeToString())


def export_all(receiver: OTLPReceiver, bodies: Sequence[bytes]) -> list[int]:
    async def go() -> list[int]:
        return [(await receiver.export(body, PROTOBUF)).status for body in bodies]

    return asyncio.run(go())


def test_secrets_are_redacted_and_roll_ups_written(tmp_path: Path) -> None:
    manager = TraceManager(SQLiteTraceStorage(tmp_path / "t.db"))
    receiver = OTLPReceiver(manager)
    body = request(
        7,
        3,
        **{
            "gen_ai.input.messages": f'[{{"role": "user", "content": "key {SECRET}"}}]',
            "api_key": SECRET,
        },
    )
    assert export_all(receiver, [body]) == [200]
    assert manager.flush(10)
    manager.close(10)
    assert SECRET.encode() not in b"".join(p.read_bytes() for p in tmp_path.iterdir())
    storage = SQLiteTraceStorage(tmp_path / "t.db")
    [summary] = storage.query_summaries_sync(limit=5)
    assert (summary.think_count, summary.tokens_used) == (2, 240)
    trace = storage.get_trace_sync(summary.trace_id)
    assert trace is not None and "[REDACTED" in str(trace.runs[1].to_dict())


def test_values_over_the_size_limit_are_cut_with_a_marker(tmp_path: Path) -> None:
    manager = TraceManager(SQLiteTraceStorage(tmp_path / "t.db"), max_value_size=1000)
    try:
        receiver = OTLPReceiver(manager)
        assert export_all(receiver, [request(8, 2, note="x" * 50_000)]) == [200]
        assert manager.flush(10)
        trace = manager.storage.get_trace_sync(bytes([8] * 16).hex())  # type: ignore[attr-defined]
        note = trace.runs[1].metadata["otel.attributes"]["note"]
        assert len(note) < 1100 and note.endswith(" of 50000 chars]") and "…[truncated " in note
    finally:
        manager.configure(max_value_size=DEFAULT_MAX_VALUE_SIZE)
        manager.close(10)


class _HeldSQLite(SQLiteTraceStorage):
    """A real SQLite storage whose writes wait until released (a stalled disk)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.release = threading.Event()
        self.entered = threading.Event()

    def write_traces(self, traces: Sequence[Trace], *, final: bool = True) -> None:
        self.entered.set()
        self.release.wait(30)
        super().write_traces(traces, final=final)


def test_a_full_writer_buffer_is_503_retry_after_not_a_silent_drop(tmp_path: Path) -> None:
    storage = _HeldSQLite(tmp_path / "t.db")
    manager = TraceManager(storage, buffer_size=10, batch_size=1)
    receiver = OTLPReceiver(manager)
    try:
        statuses = export_all(receiver, [request(1)])
        assert storage.entered.wait(10)  # the writer holds one trace, stuck in the write
        statuses += export_all(receiver, [request(i) for i in range(2, 31)])
        assert statuses.count(200) >= 1 and statuses[-1] == 503
        reply = asyncio.run(receiver.export(request(99), PROTOBUF))
        assert reply.status == 503 and reply.headers == {"Retry-After": "1"}
    finally:
        storage.release.set()
    assert manager.flush(10)
    assert manager.stats["writer"]["dropped"] == {}
    assert storage.count_traces_sync() == statuses.count(200)
    manager.close(10)


class _Capture(InMemoryTraceStorage):
    """A sink that keeps what it is sent."""


def test_received_traces_are_not_forwarded_to_sinks(tmp_path: Path) -> None:
    manager = TraceManager(SQLiteTraceStorage(tmp_path / "t.db"))
    sink = _Capture()
    manager.add_sink(sink, "loop")  # e.g. an OTLP exporter pointed back at this receiver
    assert export_all(OTLPReceiver(manager), [request(5)]) == [200]
    assert manager.flush(10)
    assert manager.storage.count_traces_sync() == 1  # type: ignore[attr-defined]
    assert asyncio.run(sink.count_traces()) == 0
    manager.close(10)


class _UnreadableSQLite(SQLiteTraceStorage):
    """A real SQLite storage whose reads fail (a disk error while resuming a trace)."""

    async def query_traces(self, *args: object, **kwargs: object) -> list[Trace]:
        raise OSError("disk I/O error")


def test_a_storage_fault_is_a_503_counted_and_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    manager = TraceManager(_UnreadableSQLite(tmp_path / "t.db"))
    receiver = OTLPReceiver(manager)
    assert export_all(receiver, [request(1), request(2)]) == [503, 503]
    assert receiver.stats["faults"] == 2
    assert len([r for r in caplog.records if "export failed" in r.message]) == 1
    assert manager.flush(10) and manager.storage.count_traces_sync() == 0  # type: ignore[attr-defined]
    manager.close(10)
