"""The viewer's OTLP receiver in a child process (`myagent viewer`'s default): spans land
in the database, a child that dies or hangs is counted, answered 503 and replaced."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from myagent.trace import SQLiteTraceStorage
from myagent.trace.otel.receiver_process import ReceiverProcess
from tests.otlp.test_bad_input import PROTOBUF, TRACE, request_of, span
from tests.support.viewer import free_port

ROOT = Path(__file__).resolve().parents[2]
LIMITS = {"max_body_bytes": 1 << 20, "max_spans": 1000, "idle_timeout": 60.0}


def _body(first_span: int = 1) -> bytes:
    root = span(first_span)
    return request_of([root, span(first_span + 1, parent=first_span)]).SerializeToString()


def test_spans_are_stored_by_a_child_process(tmp_path: Path) -> None:
    db = tmp_path / "child.db"

    async def scenario() -> ReceiverProcess:
        receiver = ReceiverProcess(str(db), **LIMITS)  # type: ignore[arg-type]
        reply = await receiver.export(_body(), PROTOBUF)
        assert reply.status == 200
        ExportTraceServiceResponse.FromString(reply.body)  # a real OTLP answer
        assert receiver.pid is not None and receiver.pid != os.getpid()
        await receiver.close()  # the child flushes its writer before it stops
        return receiver

    receiver = asyncio.run(scenario())
    trace = SQLiteTraceStorage(db).get_trace_sync(TRACE.hex())
    assert trace is not None and [r.name for r in trace.runs] == ["span 1", "span 2"]
    assert receiver.stats["accepted_spans"] == 2 and receiver.stats["faults"] == 0


def test_a_killed_child_is_counted_and_replaced_without_losing_a_request(
    tmp_path: Path,
) -> None:
    db = tmp_path / "k.db"

    async def scenario() -> ReceiverProcess:
        receiver = ReceiverProcess(str(db), **LIMITS)  # type: ignore[arg-type]
        assert (await receiver.export(_body(1), PROTOBUF)).status == 200
        first = receiver.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        await asyncio.sleep(0.3)
        again = await receiver.export(_body(11), PROTOBUF)  # a new child takes it
        assert again.status == 200 and receiver.pid not in (None, first)
        await receiver.close()
        return receiver

    receiver = asyncio.run(scenario())
    assert receiver.stats["faults"] == 1 and receiver.stats["child_starts"] == 2
    trace = SQLiteTraceStorage(db).get_trace_sync(TRACE.hex())
    assert trace is not None and "span 11" in [r.name for r in trace.runs]


def test_a_hung_child_is_given_up_and_replaced(tmp_path: Path) -> None:
    async def scenario() -> ReceiverProcess:
        receiver = ReceiverProcess(
            str(tmp_path / "h.db"),
            answer_timeout=1.0,
            **LIMITS,  # type: ignore[arg-type]
        )
        assert (await receiver.export(_body(1), PROTOBUF)).status == 200
        hung = receiver.pid
        assert hung is not None
        os.kill(hung, signal.SIGSTOP)  # alive, never answers
        refused = await receiver.export(_body(11), PROTOBUF)
        assert refused.status == 503
        assert (await receiver.export(_body(21), PROTOBUF)).status == 200
        assert receiver.pid != hung
        await receiver.close()
        return receiver

    receiver = asyncio.run(scenario())
    assert receiver.stats["faults"] == 1 and receiver.stats["child_starts"] == 2


def test_myagent_viewer_receives_sdk_spans_in_a_child_and_serves_them(tmp_path: Path) -> None:
    port, db = free_port(), tmp_path / "viewer.db"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    env.pop("TRACE_VIEWER_TOKEN", None)
    argv = ["viewer", "--port", str(port), "--db", str(db), "--log-level", "warning"]
    process = subprocess.Popen([sys.executable, "-m", "myagent.cli", *argv], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/api/health").is_success:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, "viewer did not start"
            time.sleep(0.1)
        provider = TracerProvider(resource=Resource.create({"service.name": "nightly"}))
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(url + "/v1/traces")))
        tracer = provider.get_tracer("batch")
        with tracer.start_as_current_span("nightly run") as root:
            with tracer.start_as_current_span("load"):
                pass
        provider.shutdown()
        trace_id = format(root.get_span_context().trace_id, "032x")
        deadline = time.monotonic() + 15
        while True:
            answer = httpx.get(f"{url}/api/traces/{trace_id}")
            if answer.status_code == 200 and answer.json()["status"] != "running":
                break
            assert time.monotonic() < deadline, "the received trace never reached the viewer"
            time.sleep(0.1)
        data = answer.json()
        assert data["name"] == "nightly run" and data["metadata"]["service.name"] == "nightly"
        children = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(process.pid)], capture_output=True, text=True
        ).stdout.split()
        assert children, "the receiver runs in a child process of the viewer"
    finally:
        process.terminate()
        process.wait(30)
