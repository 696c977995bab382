"""OTLP request encoding: one `ExportTraceServiceRequest` from traces.

`build_request` builds the message; `encode_trace` + `RequestEncoder` do the same from
traces encoded once. A repeated protobuf field is just its entries one after another,
so each trace's spans are encoded once and concatenated into any number of requests:
a batch the receiver refused is re-sent without converting its traces again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans

from myagent import __version__
from myagent.trace.otel.mapping import SCOPE_NAME, SpanOptions, add_trace_spans
from myagent.trace.records import Trace


def new_request(
    resource: Resource, scope_version: str = __version__
) -> tuple[ExportTraceServiceRequest, Any]:
    """An empty OTLP export request for one resource and our scope, and its span list."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.CopyFrom(resource)
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = SCOPE_NAME
    scope_spans.scope.version = scope_version
    return request, scope_spans.spans


def build_request(
    traces: Iterable[Trace], resource: Resource, options: SpanOptions | None = None
) -> ExportTraceServiceRequest:
    """One OTLP export request holding the spans of `traces`."""
    request, spans = new_request(resource)
    for trace in traces:
        add_trace_spans(trace, spans, options)
    return request


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (wire type 2)."""
    return _varint((number << 3) | 2) + _varint(len(payload)) + payload


def encode_trace(trace: Trace, options: SpanOptions | None = None) -> tuple[bytes, int]:
    """The spans of `trace` as encoded `ScopeSpans.spans` entries, and how many there are."""
    holder = ScopeSpans()
    count = add_trace_spans(trace, holder.spans, options)
    return holder.SerializeToString(), count


class RequestEncoder:
    """Assembles `ExportTraceServiceRequest` bytes from traces encoded by `encode_trace`."""

    __slots__ = ("_prefix",)

    def __init__(self, resource: Resource, scope_version: str = __version__) -> None:
        scope = InstrumentationScope(name=SCOPE_NAME, version=scope_version)
        self._prefix = (
            _field(1, resource.SerializeToString()),
            _field(1, scope.SerializeToString()),
        )

    def encode(self, encoded_traces: Iterable[bytes]) -> bytes:
        """One request: a resource, our scope, and the spans of every encoded trace."""
        resource_field, scope_field = self._prefix
        scope_spans = scope_field + b"".join(encoded_traces)
        return _field(1, resource_field + _field(2, scope_spans))
