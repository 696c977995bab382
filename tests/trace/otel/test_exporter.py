"""OTLPTraceExporter against a real OTLP/HTTP receiver on 127.0.0.1 (protobuf on the wire).

The receiver decodes every request with opentelemetry-proto; it can answer 200, 500,
503, 429 (with Retry-After), partial success, or hang. Failing receivers must never
change the traced program's results, cost local storage a trace, or hold up close().
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from myagent.trace import SQLiteTraceStorage, ThinkRecord, ToolRecord, Trace, TraceManager
from myagent.trace.otel import OTLPExportError, OTLPTraceExporter, enable_otlp_export
from tests.support.otlp_receiver import Answer, OTLPReceiver


def attrs(item: Any) -> dict[str, Any]:
    """Attributes of a span or resource as plain values."""
    return {kv.key: getattr(kv.value, kv.value.WhichOneof("value")) for kv in item.attributes}


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_agent(manager: TraceManager, question: int) -> int:
    """A small traced 'agent': one LLM call that picks a tool, one tool call; returns a result."""
    with manager.trace("math", agent_name="calc-bot", input=question):
        with manager.run(
            "think", ThinkRecord, model="gpt-4o-mini", prompt_tokens=10, completion_tokens=3
        ) as think:
            pass
        with manager.run(
            "square", ToolRecord, parent=think, tool_name="square", tool_call_id=f"call_{question}"
        ) as tool:
            answer = question * question
            tool.output = answer  # type: ignore[attr-defined]
    return answer


def trace_for(question: int) -> Trace:
    """A finished trace built without a manager (for direct exporter calls)."""
    manager = TraceManager(enabled=True)
    run_agent(manager, question)
    (trace,) = manager.get_all_traces()
    manager.close(timeout=5)
    return trace


@pytest.fixture
def sqlite_manager_otlp(tmp_path: Path) -> Any:
    """A TraceManager over a real SQLite file (closed afterwards)."""
    managers: list[TraceManager] = []

    def make() -> TraceManager:
        manager = TraceManager(SQLiteTraceStorage(tmp_path / "traces.db"))
        managers.append(manager)
        return manager

    yield make
    for manager in managers:
        manager.close(timeout=2)


def close_in_thread(manager: TraceManager, timeout: float) -> tuple[threading.Thread, list[bool]]:
    """Run manager.close(timeout) in a thread so a hang fails the test instead of freezing it."""
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(manager.close(timeout=timeout)))
    thread.start()
    return thread, result


# -- delivery and wire format -----------------------------------------------------------


def test_traces_arrive_as_linked_genai_spans(
    otlp_receiver: OTLPReceiver, sqlite_manager_otlp: Any
) -> None:
    manager: TraceManager = sqlite_manager_otlp()
    exporter = enable_otlp_export(manager, otlp_receiver.url, service_name="calc-service")
    assert exporter is not None
    assert run_agent(manager, 7) == 49
    assert manager.flush(timeout=10)

    spans = otlp_receiver.wait_for_spans(3)
    by_op = {attrs(s).get("gen_ai.operation.name"): s for s in spans}
    root, chat, tool = by_op["invoke_agent"], by_op["chat"], by_op["execute_tool"]
    (stored,) = manager.get_all_traces()
    think_record, tool_record = stored.runs

    assert {s.trace_id.hex() for s in spans} == {stored.trace_id}
    assert root.parent_span_id == b"" and root.name == "invoke_agent calc-bot"
    assert chat.parent_span_id == root.span_id and chat.span_id.hex() == think_record.run_id
    assert tool.parent_span_id == chat.span_id and tool.span_id.hex() == tool_record.run_id
    assert root.start_time_unix_nano == stored.start_us * 1000
    assert root.end_time_unix_nano == stored.end_us * 1000  # type: ignore[operator]
    assert tool.start_time_unix_nano == tool_record.start_us * 1000
    assert tool.end_time_unix_nano == tool_record.end_us * 1000  # type: ignore[operator]
    assert attrs(chat)["gen_ai.request.model"] == "gpt-4o-mini"
    assert attrs(chat)["gen_ai.usage.input_tokens"] == 10
    assert attrs(chat)["gen_ai.usage.output_tokens"] == 3
    assert attrs(tool)["gen_ai.tool.name"] == "square"
    assert attrs(tool)["gen_ai.tool.call.id"] == "call_7"

    (request,) = otlp_receiver.accepted()
    assert request.path == "/v1/traces"
    assert request.headers["content-type"] == "application/x-protobuf"
    resource = request.request.resource_spans[0].resource
    assert attrs(resource)["service.name"] == "calc-service"
    assert manager.stats["sinks"]["otlp"]["written"] == 1
    assert exporter.stats["exported_spans"] == 3


def test_standard_environment_variables_configure_the_exporter(
    otlp_receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_receiver.base_url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=secret%20value,tenant=t1")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "env-service")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2000")
    exporter = OTLPTraceExporter()
    assert exporter.settings.timeout == 2.0
    exporter.export([trace_for(3)])

    (request,) = otlp_receiver.wait_for_requests(1)
    assert request.path == "/v1/traces"  # /v1/traces appended to the base endpoint
    assert request.headers["x-api-key"] == "secret value"
    assert request.headers["tenant"] == "t1"
    resource = attrs(request.request.resource_spans[0].resource)
    assert resource["service.name"] == "env-service"
    assert resource["deployment.environment"] == "test"


def test_gzip_compression_is_decoded_by_the_receiver(otlp_receiver: OTLPReceiver) -> None:
    exporter = OTLPTraceExporter(otlp_receiver.url, compression="gzip")
    exporter.export([trace_for(4)])
    (request,) = otlp_receiver.wait_for_requests(1)
    assert request.headers["content-encoding"] == "gzip"
    assert len(otlp_receiver.spans()) == 3


def test_many_traces_are_split_into_bounded_requests(otlp_receiver: OTLPReceiver) -> None:
    exporter = OTLPTraceExporter(otlp_receiver.url, max_spans_per_request=7)
    traces = [trace_for(i) for i in range(5)]  # 3 spans each
    exporter.export(traces)
    requests = otlp_receiver.accepted()
    sizes = [
        sum(len(ss.spans) for rs in r.request.resource_spans for ss in rs.scope_spans)
        for r in requests
    ]
    assert sizes == [6, 6, 3]  # whole traces, never more than 7 spans a request
    assert {s.trace_id.hex() for s in otlp_receiver.spans()} == {t.trace_id for t in traces}


# -- failing receivers ------------------------------------------------------------------


def test_429_with_retry_after_is_retried_and_delivered_once(otlp_receiver: OTLPReceiver) -> None:
    otlp_receiver.answer(Answer(429, {"Retry-After": "0"}))
    exporter = OTLPTraceExporter(otlp_receiver.url)
    exporter.export([trace_for(5)])
    statuses = [r.status for r in otlp_receiver.received]
    assert statuses == [429, 200]
    assert len(otlp_receiver.spans()) == 3
    assert exporter.stats["retries"] == 1 and exporter.stats["failed_requests"] == 1


def test_retry_after_is_capped_by_max_retry_delay(otlp_receiver: OTLPReceiver) -> None:
    otlp_receiver.answer(Answer(429, {"Retry-After": "3600"}))
    exporter = OTLPTraceExporter(otlp_receiver.url, timeout=20, max_retry_delay=0.05)
    exporter.export([trace_for(6)])  # would not return for an hour without the cap
    assert [r.status for r in otlp_receiver.received] == [429, 200]


def test_retry_after_beyond_the_deadline_gives_up_at_once(otlp_receiver: OTLPReceiver) -> None:
    otlp_receiver.always(Answer(429, {"Retry-After": "30"}))
    exporter = OTLPTraceExporter(otlp_receiver.url, timeout=1, max_retry_delay=60)
    with pytest.raises(OTLPExportError) as info:
        exporter.export([trace_for(6)])
    assert info.value.status == 429
    assert len(otlp_receiver.received) == 1


def test_503_is_retried_with_backoff(otlp_receiver: OTLPReceiver) -> None:
    otlp_receiver.answer(Answer(503), Answer(503))
    exporter = OTLPTraceExporter(otlp_receiver.url)
    exporter.export([trace_for(8)])
    assert [r.status for r in otlp_receiver.received] == [503, 503, 200]


def test_500_is_not_retried_by_the_exporter(otlp_receiver: OTLPReceiver) -> None:
    otlp_receiver.always(Answer(500))
    exporter = OTLPTraceExporter(otlp_receiver.url)
    with pytest.raises(OTLPExportError) as info:
        exporter.export([trace_for(9)])
    assert info.value.status == 500 and not info.value.retryable
    assert len(otlp_receiver.received) == 1


def test_a_retried_batch_does_not_resend_traces_that_arrived(otlp_receiver: OTLPReceiver) -> None:
    first, second = trace_for(1), trace_for(2)
    otlp_receiver.answer(Answer(200), Answer(400))
    exporter = OTLPTraceExporter(otlp_receiver.url, max_spans_per_request=3)
    with pytest.raises(OTLPExportError):
        exporter.export([first, second])
    exporter.export([first, second])  # what the writer does after a failed write
    delivered = [s.trace_id.hex() for s in otlp_receiver.spans()]
    assert delivered.count(first.trace_id) == 3 and delivered.count(second.trace_id) == 3


def test_partial_success_is_counted(otlp_receiver: OTLPReceiver) -> None:
    otlp_receiver.answer(Answer(200, rejected_spans=2))
    exporter = OTLPTraceExporter(otlp_receiver.url)
    exporter.export([trace_for(3)])
    assert exporter.stats["rejected_spans"] == 2


def test_failing_receiver_leaves_program_and_storage_untouched(
    otlp_receiver: OTLPReceiver, sqlite_manager_otlp: Any
) -> None:
    otlp_receiver.always(Answer(500))
    manager: TraceManager = sqlite_manager_otlp()
    enable_otlp_export(manager, otlp_receiver.url, timeout=2)
    results = [run_agent(manager, i) for i in range(20)]
    assert results == [i * i for i in range(20)]
    assert len(manager.get_all_traces()) == 20  # every trace reached SQLite
    assert not manager.flush(timeout=5)  # the sink reports that its writes failed
    sink = manager.stats["sinks"]["otlp"]
    assert sink["write_errors"] >= 1 and sink["written"] == 0
    assert manager.stats["writer"]["write_errors"] == 0


def test_hanging_receiver_never_blocks_the_program_storage_or_close(
    otlp_receiver: OTLPReceiver, sqlite_manager_otlp: Any, tmp_path: Path
) -> None:
    otlp_receiver.always(Answer(hang=True))
    manager: TraceManager = sqlite_manager_otlp()
    exporter = enable_otlp_export(manager, otlp_receiver.url, timeout=20)
    assert exporter is not None
    results = [run_agent(manager, i) for i in range(20)]
    assert results == [i * i for i in range(20)]
    otlp_receiver.wait_for_requests(1)  # the exporter is now stuck on the receiver
    assert len(manager.get_all_traces()) == 20

    thread, closed = close_in_thread(manager, timeout=1)
    thread.join(30)  # generous: close(timeout=1) must return, not wait for the 20 s export
    assert not thread.is_alive()
    assert closed == [False]  # the spans did not arrive, and close says so
    # close() aborted the request stuck on the receiver instead of leaving it for 20 s.
    for _ in range(100):
        if exporter.stats["last_error"]:
            break
        time.sleep(0.05)
    assert exporter.stats["last_error"] is not None
    assert "timed out" not in exporter.stats["last_error"]
    reopened = SQLiteTraceStorage(tmp_path / "traces.db")
    try:
        from myagent.trace.sync_bridge import run_sync

        assert run_sync(reopened.count_traces()) == 20
    finally:
        run_sync(reopened.close())


def test_unreachable_receiver_is_counted_not_raised(sqlite_manager_otlp: Any) -> None:
    manager: TraceManager = sqlite_manager_otlp()
    exporter = enable_otlp_export(manager, f"http://127.0.0.1:{free_port()}", timeout=1)
    assert exporter is not None
    assert [run_agent(manager, i) for i in range(3)] == [0, 1, 4]
    assert not manager.flush(timeout=10)
    assert len(manager.get_all_traces()) == 3
    assert manager.stats["sinks"]["otlp"]["write_errors"] >= 1
    assert "ConnectionRefusedError" in (exporter.stats["last_error"] or "")
    thread, _ = close_in_thread(manager, timeout=1)
    thread.join(30)
    assert not thread.is_alive()


def test_export_after_shutdown_fails_fast(otlp_receiver: OTLPReceiver) -> None:
    exporter = OTLPTraceExporter(otlp_receiver.url)
    exporter.shutdown()
    with pytest.raises(OTLPExportError):
        exporter.export([trace_for(1)])
    assert otlp_receiver.received == []


def test_sdk_disabled_adds_no_sink(manager: TraceManager) -> None:
    assert enable_otlp_export(manager, environ={"OTEL_SDK_DISABLED": "true"}) is None
    assert manager.stats["sinks"] == {}


def test_spans_round_trip_through_protobuf(otlp_receiver: OTLPReceiver) -> None:
    trace = trace_for(2)
    OTLPTraceExporter(otlp_receiver.url).export([trace])
    spans: list[Span] = otlp_receiver.spans()
    assert sorted(s.span_id.hex() for s in spans[1:]) == sorted(r.run_id for r in trace.runs)


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    from myagent.trace.otel.exporter import parse_retry_after

    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    now = 1_445_412_470.0  # 2015-10-21 07:27:50 UTC
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now=now) == 0.0


def test_a_kept_alive_connection_closed_by_the_receiver_is_redone_at_once(
    otlp_receiver: OTLPReceiver,
) -> None:
    exporter = OTLPTraceExporter(otlp_receiver.url)
    exporter.export([trace_for(1)])
    otlp_receiver.drop_connections()  # e.g. the collector's idle timeout
    exporter.export([trace_for(2)])
    assert [r.status for r in otlp_receiver.received] == [200, 200]
    assert exporter.stats["failed_requests"] == 0 and exporter.stats["retries"] == 0
    assert len(otlp_receiver.spans()) == 6


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_exports_on_its_own_connection(otlp_receiver: OTLPReceiver) -> None:
    exporter = OTLPTraceExporter(otlp_receiver.url)
    exporter.export([trace_for(1)])  # the parent now holds a kept-alive connection
    child_trace = trace_for(2)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            exporter.export([child_trace])
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    parent_request, child_request = otlp_receiver.wait_for_requests(2)
    assert child_request.status == 200
    assert child_request.client_port != parent_request.client_port


def test_a_trace_that_cannot_be_converted_does_not_block_the_others(
    otlp_receiver: OTLPReceiver,
) -> None:
    bad, good = trace_for(1), trace_for(2)
    bad.runs[1].start_us = None  # type: ignore[assignment]  # corrupt data from elsewhere
    exporter = OTLPTraceExporter(otlp_receiver.url)
    exporter.export([bad, good])
    assert exporter.stats["mapping_errors"] == 1
    assert {s.trace_id.hex() for s in otlp_receiver.spans()} == {good.trace_id}
    assert len(otlp_receiver.spans()) == 3  # no half-converted spans of the bad trace


@pytest.fixture
def tls_certificate(tmp_path: Path) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_https_endpoint_with_the_certificate_variable(
    tls_certificate: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = OTLPReceiver(tls=tls_certificate).start()
    try:
        untrusted = OTLPTraceExporter(receiver.url, timeout=2)
        with pytest.raises(OTLPExportError, match="CERTIFICATE_VERIFY_FAILED"):
            untrusted.export([trace_for(1)])
        assert untrusted.stats["retries"] == 0  # a bad certificate is not retried
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", tls_certificate[0])
        trusted = OTLPTraceExporter(receiver.url)
        trusted.export([trace_for(2)])
        assert len(receiver.spans()) == 3
    finally:
        receiver.stop()


def test_a_refused_batch_is_resent_without_converting_it_again(
    otlp_receiver: OTLPReceiver,
) -> None:
    trace = trace_for(3)
    otlp_receiver.answer(Answer(400))
    exporter = OTLPTraceExporter(otlp_receiver.url)
    with pytest.raises(OTLPExportError):
        exporter.export([trace])
    trace.tool_records[0].tool_name = "changed-after-first-try"
    exporter.export([trace])  # the writer's retry of the same batch
    first, second = otlp_receiver.received
    assert first.request == second.request  # the same bytes, not a new conversion
