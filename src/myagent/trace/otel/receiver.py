"""The OTLP/HTTP traces receiver: request bodies in, `ExportTraceServiceResponse` out.

`OTLPReceiver.export` takes a `POST /v1/traces` body as it arrived (protobuf or the OTLP
JSON encoding, gzip or not), checks it, maps its spans to our records and hands them to
the `TraceAssembler`, which writes them through the trace manager's writer. It answers
as the OTLP/HTTP spec asks: 200 with an `ExportTraceServiceResponse` (a partial success
names the spans refused and why), 400/413/415 with a `google.rpc.Status` saying why for
a request refused whole (nothing of it is stored), 503 + Retry-After when the writer's
buffer is full. Parsing is opentelemetry-proto's; nothing of the wire format is ours.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from google.rpc.status_pb2 import Status as RpcStatus
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from myagent.trace.foreground import ForegroundGate
from myagent.trace.manager import TraceManager
from myagent.trace.otel.assembly import DEFAULT_IDLE_TIMEOUT, TraceAssembler
from myagent.trace.otel.attributes import value_of
from myagent.trace.otel.span_records import MappedSpan, map_span

logger = logging.getLogger("myagent.trace")

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
CONTENT_TYPES = (PROTOBUF, JSON)
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
"""Largest request body, compressed or not (the decompressed body too)."""
DEFAULT_MAX_SPANS = 20_000
"""Most spans one request may carry; SDK exporters send 512 per request by default."""
YIELD_EVERY = 32
"""Spans mapped between two pauses (about half a millisecond of work): a voluntary GIL
release, or a wait while the viewer answers a request (`ForegroundGate`)."""
STAT_NAMES = ("requests", "refused", "faults", "accepted_spans", "rejected_spans")
"""The receiver's counters (`OTLPReceiver.stats`)."""
_INVALID_ARGUMENT = 3
_RESOURCE_EXHAUSTED = 8
_UNAVAILABLE = 14
_ZERO_TRACE_ID = bytes(16)
_ZERO_SPAN_ID = bytes(8)
_ID_KEYS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


class OTLPRequestError(Exception):
    """A request refused whole: its HTTP status and the reason sent back."""

    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or {}


@dataclass(slots=True)
class Reply:
    """What to answer: status, body bytes, content type and extra headers."""

    status: int
    body: bytes
    content_type: str
    headers: dict[str, str]


def media_type(content_type: str | None) -> str:
    """`application/json; charset=utf-8` → `application/json`."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _inflate(body: bytes, encoding: str | None, limit: int) -> bytes:
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise OTLPRequestError(415, f"content-encoding {encoding!r} unsupported (gzip, identity)")
    inflater = zlib.decompressobj(zlib.MAX_WBITS | (16 if encoding == "gzip" else 0))
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise OTLPRequestError(400, f"body is not valid {encoding}: {exc}") from None
    if len(data) > limit:
        raise OTLPRequestError(413, f"decompressed body over {limit} bytes")
    if not inflater.eof:
        raise OTLPRequestError(400, f"body is truncated {encoding}")
    return data


def _hex_ids_to_base64(node: Any, depth: int = 0) -> None:
    """The OTLP JSON encoding writes ids as hex, protobuf JSON as base64: convert in place."""
    if depth > 12:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                try:
                    node[key] = base64.b64encode(bytes.fromhex(value)).decode()
                except ValueError:
                    raise OTLPRequestError(400, f"{key} {value[:40]!r} is not hex") from None
            elif isinstance(value, dict | list):
                _hex_ids_to_base64(value, depth + 1)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, dict | list):
                _hex_ids_to_base64(item, depth + 1)


def decode_request(
    body: bytes,
    content_type: str | None,
    content_encoding: str | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> ExportTraceServiceRequest:
    """An `ExportTraceServiceRequest` from a body; raises `OTLPRequestError` (4xx) else."""
    kind = media_type(content_type)
    if kind not in CONTENT_TYPES:
        raise OTLPRequestError(415, f"content-type must be {PROTOBUF} or {JSON}, not {kind!r}")
    if len(body) > max_bytes:
        raise OTLPRequestError(413, f"request body over {max_bytes} bytes")
    data = _inflate(body, content_encoding, max_bytes)
    request = ExportTraceServiceRequest()
    if kind == PROTOBUF:
        try:
            request.ParseFromString(data)
        except (DecodeError, RecursionError, ValueError) as exc:
            raise OTLPRequestError(400, f"malformed protobuf: {exc}") from None
        return request
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise OTLPRequestError(400, f"malformed JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise OTLPRequestError(400, "the JSON body must be an object")
    _hex_ids_to_base64(parsed)
    try:
        json_format.ParseDict(parsed, request, ignore_unknown_fields=True)
    except (json_format.ParseError, RecursionError, ValueError, TypeError) as exc:
        raise OTLPRequestError(400, f"JSON is not an OTLP traces request: {exc}") from None
    return request


def _body(message: Message, kind: str) -> bytes:
    if kind == JSON:
        text: str = json_format.MessageToJson(message, indent=None)
        return text.encode()
    data: bytes = message.SerializeToString()
    return data


def error_reply(error: OTLPRequestError, content_type: str | None) -> Reply:
    """A refused request's answer: its status and a `google.rpc.Status` saying why."""
    kind = JSON if media_type(content_type) == JSON else PROTOBUF
    code = {413: _RESOURCE_EXHAUSTED, 503: _UNAVAILABLE}.get(error.status, _INVALID_ARGUMENT)
    status = RpcStatus(code=code, message=error.reason)
    return Reply(error.status, _body(status, kind), kind, error.headers)


def _spans(request: ExportTraceServiceRequest) -> Iterator[tuple[Any, str | None, str | None]]:
    # Slices, not the repeated fields themselves: see attributes.SEQUENCE_NOTE.
    for resource_spans in request.resource_spans[:]:
        service = None
        for kv in resource_spans.resource.attributes[:]:
            if kv.key == "service.name":
                service = str(value_of(kv.value))
        for scope_spans in resource_spans.scope_spans[:]:
            scope = scope_spans.scope.name or None
            for span in scope_spans.spans[:]:
                yield span, service, scope


def _release() -> None:
    time.sleep(0)  # let the other threads have the GIL now and then


def map_request(
    request: ExportTraceServiceRequest, pause: Callable[[], None] = _release
) -> tuple[list[MappedSpan], int, str]:
    """The request's spans as records, how many were refused and why (invalid ids);
    `pause` is called every `YIELD_EVERY` spans."""
    mapped: list[MappedSpan] = []
    rejected = 0
    reasons: dict[str, int] = {}
    for count, (span, service, scope) in enumerate(_spans(request), 1):
        if not count % YIELD_EVERY:
            pause()
        reason = None
        ids = trace_id, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
        if len(trace_id) != 16 or trace_id == _ZERO_TRACE_ID:
            reason = "invalid trace_id (must be 16 bytes, not all zero)"
        elif len(span_id) != 8 or span_id == _ZERO_SPAN_ID:
            reason = "invalid span_id (must be 8 bytes, not all zero)"
        elif parent and len(parent) != 8:
            reason = "invalid parent_span_id (must be empty or 8 bytes)"
        elif parent == span_id:
            reason = "span is its own parent"
        if reason is None:
            try:
                mapped.append(map_span(span, service, scope, ids))
                continue
            except Exception as exc:  # a span we cannot read is refused, never a 500
                reason = f"unreadable span ({type(exc).__name__})"
        rejected += 1
        reasons[reason] = reasons.get(reason, 0) + 1
    message = "; ".join(f"{count} span(s): {why}" for why, count in reasons.items())
    return mapped, rejected, message


class OTLPReceiver:
    """Receives OTLP/HTTP trace exports into a `TraceManager` (its storage and viewer)."""

    def __init__(
        self,
        manager: TraceManager,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_spans: int = DEFAULT_MAX_SPANS,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        gate: ForegroundGate | None = None,
    ) -> None:
        """`gate`: the server's `ForegroundGate`; mapping and the writer then wait while
        it answers a request, so receiving never slows its pages."""
        self.manager = manager
        self._pause: Callable[[], None] = _release
        if gate is not None:
            self._pause = gate.pause
            manager.yield_to(gate.pause)
        self.max_body_bytes = max_body_bytes
        self.max_spans = max_spans
        self.assembler = TraceAssembler(manager, idle_timeout=idle_timeout)
        self.stats = dict.fromkeys(STAT_NAMES, 0)
        self._logged: set[str] = set()
        self._sweeper: asyncio.Task[None] | None = None

    def _decode_and_map(
        self, body: bytes, content_type: str | None, encoding: str | None
    ) -> tuple[list[MappedSpan], int, str]:
        request = decode_request(body, content_type, encoding, max_bytes=self.max_body_bytes)
        count = sum(len(s.spans) for rs in request.resource_spans for s in rs.scope_spans)
        if count > self.max_spans:
            raise OTLPRequestError(
                413, f"{count} spans in one request, over the limit of {self.max_spans}"
            )
        return map_request(request, self._pause)

    def _check_capacity(self) -> None:
        writer = self.manager.stats["writer"]
        if writer["buffer_depth"] >= self.manager.config.buffer_size * 0.9:
            raise OTLPRequestError(
                503, "the trace writer's buffer is full; retry later", {"Retry-After": "1"}
            )

    async def export(
        self, body: bytes, content_type: str | None, content_encoding: str | None = None
    ) -> Reply:
        """Handle one export request; never raises (a fault inside is a 4xx/5xx answer)."""
        self.stats["requests"] += 1
        kind = JSON if media_type(content_type) == JSON else PROTOBUF
        try:
            self._check_capacity()
            mapped, rejected, message = await asyncio.to_thread(
                self._decode_and_map, body, content_type, content_encoding
            )
            await self.assembler.add(mapped)
        except OTLPRequestError as exc:
            self.stats["refused"] += 1
            return error_reply(exc, content_type)
        except Exception as exc:  # storage unreachable while resuming a trace, ...
            self.stats["refused"] += 1
            self.stats["faults"] += 1
            if type(exc).__name__ not in self._logged:  # counted always, logged once a kind
                self._logged.add(type(exc).__name__)
                logger.warning(
                    "OTLP receiver: export failed (%s: %s); answered 503, counted in "
                    "stats['faults'], logged once",
                    type(exc).__name__,
                    exc,
                )
            reason = f"could not take the spans now ({type(exc).__name__}); retry later"
            return error_reply(OTLPRequestError(503, reason, {"Retry-After": "1"}), content_type)
        self.stats["accepted_spans"] += len(mapped)
        self.stats["rejected_spans"] += rejected
        self._start_sweeper()
        response = ExportTraceServiceResponse()
        if rejected:
            response.partial_success.rejected_spans = rejected
            response.partial_success.error_message = message
        return Reply(200, _body(response, kind), kind, {})

    def _start_sweeper(self) -> None:
        if self.assembler.open_traces and (self._sweeper is None or self._sweeper.done()):
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_loop())

    async def _sweep_loop(self) -> None:
        interval = max(0.05, min(self.assembler.idle_timeout / 4, 5.0))
        while self.assembler.open_traces:
            await asyncio.sleep(interval)
            await self.assembler.sweep()

    async def close(self) -> None:
        """Stop the idle sweeper and flush what was written (open traces stay as running)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        await self.assembler.close()
        await asyncio.to_thread(self.manager.flush, self.manager.config.shutdown_timeout)
