"""OTLP request encoding: the built request and the one assembled from encoded traces."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from myagent.trace.otel.mapping import resource_for, trace_to_spans
from myagent.trace.otel.wire import RequestEncoder, build_request, encode_trace
from tests.trace.otel.sample import agent_trace, attrs


def test_request_groups_spans_under_resource_and_scope() -> None:
    request = build_request([agent_trace()], resource_for({"service.name": "svc"}))
    (resource_spans,) = request.resource_spans
    assert attrs(resource_spans.resource)["service.name"] == "svc"
    (scope_spans,) = resource_spans.scope_spans
    assert scope_spans.scope.name == "myagent.trace"
    assert [span.name for span in scope_spans.spans] == [
        span.name for span in trace_to_spans(agent_trace())
    ]


def test_request_assembled_from_encoded_traces_equals_the_built_request() -> None:
    first, second = agent_trace(), agent_trace(tool_fails=True)
    second.trace_id = "1" * 32
    resource = resource_for({"service.name": "svc", "big": "x" * 300})
    parts = [encode_trace(first)[0], encode_trace(second)[0]]
    assembled = ExportTraceServiceRequest.FromString(RequestEncoder(resource).encode(parts))
    assert assembled == build_request([first, second], resource)
    assert encode_trace(first)[1] == 4
