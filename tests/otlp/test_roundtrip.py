"""Our own OTLP exporter pointed at our receiver reproduces the trace, and a trace sent in
pieces (several requests, out of order, twice, across a restart, late) is one trace."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from myagent.trace import ThinkRecord, ToolRecord, Trace
from myagent.trace.otel import OTLPTraceExporter
from myagent.trace.otel.mapping import SpanOptions, resource_for, root_span_id, trace_to_spans
from myagent.trace.otel.wire import new_request
from tests.otlp.conftest import Collector
from tests.trace.otel.sample import STEP_ID, THINK_ID, TOOL_ID, TRACE_ID, agent_trace

PROTOBUF = "application/x-protobuf"


def body(spans: Sequence[Span], service: str = "checkout") -> bytes:
    """One protobuf export request holding `spans` (from our scope)."""
    request, holder = new_request(resource_for({"service.name": service}))
    holder.extend(spans)
    return bytes(request.SerializeToString())


def spans_of(trace: Trace) -> dict[str, Span]:
    """The spans our exporter makes of `trace` (content included), by record id / 'root'."""
    spans = trace_to_spans(trace, SpanOptions(capture_content=True))
    return {"root" if not s.parent_span_id else s.span_id.hex(): s for s in spans}


def comparable(record: Any) -> dict[str, Any]:
    data = record.to_dict()
    data["metadata"] = {k: v for k, v in data["metadata"].items() if k != "provider"}
    return data


def test_our_exporter_into_our_receiver_reproduces_the_trace(collector: Collector) -> None:
    original = agent_trace(tool_fails=True)
    exporter = OTLPTraceExporter(collector.url, capture_content=True, service_name="weather")
    exporter.export([original])
    assert exporter.stats["rejected_spans"] == 0 and exporter.stats["last_status"] == 200
    got = collector.trace(TRACE_ID)

    # the trace: ids, name, agent, session, times, status, input/output, tags, metadata
    for field in ("trace_id", "name", "agent_name", "session_id", "status", "start_us",
                  "end_us", "input", "output", "error"):  # fmt: skip
        assert getattr(got, field) == getattr(original, field), field
    assert got.tags[:2] == ["prod", "eu"] and "service:weather" in got.tags
    assert got.metadata["user"] == "u1" and got.metadata["flags"] == {"beta": True}
    assert got.metadata["service.name"] == "weather"
    assert got.metadata["otel.scope.name"] == "myagent.trace"
    assert (got.tokens_used, got.cost_usd, got.has_errors) == (150, 0.0021, True)

    # the records: kinds, names, tokens, times, errors, parents, payloads
    assert [r.run_id for r in got.runs] == [THINK_ID, TOOL_ID, STEP_ID]
    assert [type(r) for r in got.runs] == [type(r) for r in original.runs]
    think, tool, step = got.runs
    want_think, want_tool, want_step = (comparable(r) for r in original.runs)
    assert isinstance(think, ThinkRecord) and isinstance(tool, ToolRecord)
    assert comparable(think) == {**want_think, "llm_response": None}  # "" is not exported
    assert comparable(tool) == want_tool  # error, error_type, stacktrace, parent = think
    assert tool.parent_id == THINK_ID and not tool.success
    assert tool.error_type == "TimeoutError" and tool.stacktrace
    # a parent outside the trace hangs under the root, as the exporter sent it
    assert comparable(step) == {**want_step, "parent_id": None}
    assert [(e.level, e.message, e.run_id, e.timestamp_us) for e in got.logs] == [
        (e.level, e.message, e.run_id, e.timestamp_us) for e in original.logs
    ]


def test_spans_across_requests_out_of_order_and_resent_make_one_trace(
    collector: Collector,
) -> None:
    spans = spans_of(agent_trace())
    order = [STEP_ID, TOOL_ID, THINK_ID]
    for run_id in order:  # children first, one request each, the tool before its parent
        answer = collector.post(body([spans[run_id]]), PROTOBUF)
        assert answer.status_code == 200
    running = collector.trace(TRACE_ID, runs=3)
    assert running.status == "running" and running.end_us is None
    tool = next(r for r in running.runs if r.run_id == TOOL_ID)
    assert tool.parent_id == THINK_ID  # linked once its parent arrived
    assert collector.post(body([spans["root"], spans[TOOL_ID]]), PROTOBUF).status_code == 200
    # the whole trace again: idempotent on span id
    assert collector.post(body(list(spans.values())), PROTOBUF).status_code == 200
    traces = collector.traces()
    assert [t.trace_id for t in traces] == [TRACE_ID]
    done = traces[0]
    assert done.status == "success" and done.end_us == agent_trace().end_us
    assert sorted(r.run_id for r in done.runs) == sorted([THINK_ID, TOOL_ID, STEP_ID])
    assert collector.storage.count_runs_sync() == 3


def test_a_parent_that_never_arrives_hangs_under_the_root_and_is_linked_if_it_comes(
    collector: Collector,
) -> None:
    spans = spans_of(agent_trace())
    collector.post(body([spans[TOOL_ID], spans["root"]]), PROTOBUF)
    tool = collector.trace(TRACE_ID).runs[0]
    assert tool.parent_id is None and tool.metadata["otel.parent_span_id"] == THINK_ID
    collector.post(body([spans[THINK_ID]]), PROTOBUF)  # late: after the root ended
    runs = {r.run_id: r for r in collector.trace(TRACE_ID).runs}
    assert runs[TOOL_ID].parent_id == THINK_ID
    assert "otel.parent_span_id" not in runs[TOOL_ID].metadata
    assert collector.receiver.assembler.stats["late_merges"] == 1


def test_spans_before_and_after_a_restart_end_up_in_one_trace(
    collector_factory: Callable[..., Collector],
) -> None:
    spans = spans_of(agent_trace())
    first = collector_factory()
    first.post(body([spans[THINK_ID], spans[TOOL_ID]]), PROTOBUF)
    assert first.trace(TRACE_ID, runs=2).status == "running"
    first.server.stop()  # the receiver goes away with the trace still open
    second = collector_factory(db=first.db)
    second.post(body([spans[STEP_ID], spans["root"]]), PROTOBUF)
    trace = second.trace(TRACE_ID)
    assert trace.status == "success" and trace.name == "weather"
    assert {r.run_id: r.parent_id for r in trace.runs} == {
        THINK_ID: None,
        TOOL_ID: THINK_ID,
        STEP_ID: None,
    }
    assert second.storage.count_traces_sync() == 1


def test_a_trace_without_root_ends_after_the_idle_timeout(
    collector_factory: Callable[..., Collector],
) -> None:
    collector = collector_factory(otlp_idle_timeout=0.3)
    spans = spans_of(agent_trace())
    collector.post(body([spans[THINK_ID], spans[TOOL_ID]]), PROTOBUF)
    assert collector.trace(TRACE_ID, runs=2).status == "running"
    deadline = time.monotonic() + 10
    while collector.receiver.assembler.open_traces and time.monotonic() < deadline:
        time.sleep(0.05)
    trace = collector.trace(TRACE_ID)
    assert trace.status == "success" and trace.end_us == agent_trace().runs[1].end_us
    assert trace.metadata["otel.incomplete"] == "no root span arrived"
    assert trace.name == "think"  # the first top-level record names it


def test_service_and_scope_are_kept_and_filterable_in_the_viewer(collector: Collector) -> None:
    spans = spans_of(agent_trace())
    other = agent_trace()
    other.trace_id = "1" * 32
    collector.post(body(list(spans.values()), service="checkout"), PROTOBUF)
    collector.post(body(list(spans_of(other).values()), service="billing"), PROTOBUF)
    collector.flush()
    client = httpx.Client(base_url=collector.url)
    by_meta = client.get("/api/traces", params={"meta": "service.name=billing"}).json()
    assert [t["trace_id"] for t in by_meta["items"]] == ["1" * 32]
    by_tag = client.get("/api/traces", params={"tag": "service:checkout"}).json()
    assert [t["trace_id"] for t in by_tag["items"]] == [TRACE_ID]
    by_scope = client.get("/api/traces", params={"meta": "otel.scope.name=myagent.trace"}).json()
    assert len(by_scope["items"]) == 2


def test_the_answer_is_an_export_trace_service_response(collector: Collector) -> None:
    spans = spans_of(agent_trace())
    answer = collector.post(body(list(spans.values())), PROTOBUF)
    assert answer.headers["content-type"] == PROTOBUF
    response = ExportTraceServiceResponse.FromString(answer.content)
    assert not response.HasField("partial_success")
    assert root_span_id(agent_trace()) == spans["root"].span_id


def test_a_root_arriving_after_the_idle_timeout_still_names_and_ends_the_trace(
    collector_factory: Callable[..., Collector],
) -> None:
    collector = collector_factory(otlp_idle_timeout=0.2)
    trace_id, t0 = b"\x42" * 16, 1_700_000_000_000_000_000
    root = Span(trace_id=trace_id, span_id=b"\x01" * 8, name="GET /checkout",
                start_time_unix_nano=t0, end_time_unix_nano=t0 + 9_000_000)  # fmt: skip
    child = Span(trace_id=trace_id, span_id=b"\x02" * 8, parent_span_id=b"\x01" * 8,
                 name="db query", start_time_unix_nano=t0 + 1_000,
                 end_time_unix_nano=t0 + 2_000_000)  # fmt: skip
    collector.post(body([child]), PROTOBUF)
    deadline = time.monotonic() + 10
    while collector.receiver.assembler.open_traces and time.monotonic() < deadline:
        time.sleep(0.05)
    timed_out = collector.trace(trace_id.hex())
    assert (timed_out.name, timed_out.status) == ("db query", "success")
    collector.post(body([root]), PROTOBUF)  # late: re-read, merged, rewritten whole
    trace = collector.trace(trace_id.hex())
    assert (trace.name, trace.status) == ("GET /checkout", "success")
    assert trace.end_us == (t0 + 9_000_000) // 1000 and "otel.incomplete" not in trace.metadata
    assert {r.name: r.parent_id for r in trace.runs} == {
        "GET /checkout": None,
        "db query": "01" * 8,
    }


def test_a_received_trace_shows_in_the_live_feed_running_then_finished(
    collector: Collector,
) -> None:
    from tests.viewer.test_live import sse_events

    spans = spans_of(agent_trace())
    statuses: list[tuple[str, int]] = []
    with httpx.Client(base_url=collector.url, timeout=httpx.Timeout(30, read=30)) as client:
        with client.stream("GET", "/api/live") as response:
            collector.post(body([spans[THINK_ID], spans[TOOL_ID]]), PROTOBUF)
            for event, data in sse_events(response):
                if event != "trace" or data["trace_id"] != TRACE_ID:
                    continue
                statuses.append((data["status"], data["run_count"]))
                if data["status"] == "running":
                    collector.post(body([spans[STEP_ID], spans["root"]]), PROTOBUF)
                if data["status"] != "running":
                    break
    assert statuses[0] == ("running", 2) and statuses[-1] == ("success", 3)
