"""Bad OTLP input gets a 4xx with a reason or a partial success, never a 500, and a
request refused whole stores nothing of itself."""

from __future__ import annotations

import gzip
import http.client
import random
from collections.abc import Callable, Iterator

import httpx
from google.rpc.status_pb2 import Status as RpcStatus
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.otlp.conftest import Collector

PROTOBUF = "application/x-protobuf"
T0 = 1_700_000_000_000_000_000
TRACE = bytes.fromhex("5b8efff798038103d269b633813fc60c")


def span(span_id: int, parent: int | None = None, trace: bytes = TRACE, **fields: object) -> Span:
    result = Span(
        trace_id=trace,
        span_id=span_id.to_bytes(8, "big"),
        name=f"span {span_id}",
        start_time_unix_nano=T0 + span_id,
        end_time_unix_nano=T0 + span_id + 1000,
        **fields,  # type: ignore[arg-type]
    )
    if parent is not None:
        result.parent_span_id = parent.to_bytes(8, "big")
    return result


def request_of(spans: list[Span]) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    scope_spans = request.resource_spans.add().scope_spans.add()
    scope_spans.scope.name = "bad.input"
    scope_spans.spans.extend(spans)
    return request


def reason(answer: httpx.Response) -> str:
    """Why a request was refused: the receiver's google.rpc.Status message, or the viewer
    guard's JSON `detail` (content type, cross-origin and size checks run before it)."""
    if answer.headers["content-type"] == PROTOBUF:
        return str(RpcStatus.FromString(answer.content).message)
    return str(answer.json()["detail"])


def assert_nothing_stored(collector: Collector) -> None:
    assert collector.traces() == []
    assert collector.storage.count_runs_sync() == 0


def test_malformed_protobuf_is_400_with_a_reason(collector: Collector) -> None:
    answer = collector.post(b"\x0a\xff\xff\xff\xff\x0fnot protobuf", PROTOBUF)
    assert answer.status_code == 400 and "malformed protobuf" in reason(answer)
    assert_nothing_stored(collector)


def test_a_wrong_content_type_is_415(collector: Collector) -> None:
    body = request_of([span(1)]).SerializeToString()
    for content_type in ("text/plain", "application/grpc", "multipart/form-data", ""):
        answer = collector.post(body, content_type)
        assert answer.status_code == 415, content_type
        assert "application/x-protobuf" in reason(answer)
    assert_nothing_stored(collector)


def test_malformed_json_and_bad_hex_ids_are_400(collector: Collector) -> None:
    answer = collector.post(b'{"resourceSpans": [', "application/json")
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/json"
    assert "malformed JSON" in answer.json()["message"]
    bad_id = b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","spanId":"01"}]}]}]}'
    answer = collector.post(bad_id, "application/json")
    assert answer.status_code == 400 and "is not hex" in answer.json()["message"]
    answer = collector.post(b'{"resourceSpans": 5}', "application/json")
    assert answer.status_code == 400 and "not an OTLP traces request" in answer.json()["message"]
    assert_nothing_stored(collector)


def test_a_100_mb_body_is_413_before_it_is_read(collector: Collector) -> None:
    host, port = collector.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.putrequest("POST", "/v1/traces")
    connection.putheader("content-type", PROTOBUF)
    connection.putheader("content-length", str(100 * 1024 * 1024))
    connection.endheaders()
    connection.send(b"\x00" * 65536)  # the rest never comes: the answer must not wait for it
    answer = connection.getresponse()
    assert answer.status == 413 and b"request body over" in answer.read()
    connection.close()
    assert_nothing_stored(collector)


def test_a_100_mb_streamed_body_without_length_is_413(collector: Collector) -> None:
    def chunks() -> Iterator[bytes]:
        block = b"\x0a" * (1024 * 1024)
        for _ in range(100):
            yield block

    try:
        answer = httpx.post(
            collector.endpoint, content=chunks(), headers={"content-type": PROTOBUF}, timeout=30
        )
        assert answer.status_code == 413
    except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
        pass  # the server answered 413 and closed while the client was still sending
    assert_nothing_stored(collector)


def test_a_gzip_bomb_and_broken_gzip_are_refused(
    collector_factory: Callable[..., Collector],
) -> None:
    collector = collector_factory(max_otlp_bytes=1024 * 1024)
    bomb = gzip.compress(b"\x00" * (50 * 1024 * 1024))  # 50 KB that inflate to 50 MB
    answer = collector.post(bomb, PROTOBUF, **{"content-encoding": "gzip"})
    assert answer.status_code == 413 and "decompressed body over" in reason(answer)
    answer = collector.post(b"\x1f\x8b\x08garbage", PROTOBUF, **{"content-encoding": "gzip"})
    assert answer.status_code == 400 and "not valid gzip" in reason(answer)
    answer = collector.post(b"x", PROTOBUF, **{"content-encoding": "br"})
    assert answer.status_code == 415
    good = gzip.compress(request_of([span(1)]).SerializeToString())
    answer = collector.post(good, PROTOBUF, **{"content-encoding": "gzip"})
    assert answer.status_code == 200
    assert [t.trace_id for t in collector.traces()] == [TRACE.hex()]


def test_100_000_spans_in_one_request_are_refused_whole(collector: Collector) -> None:
    request = request_of([])
    spans = request.resource_spans[0].scope_spans[0].spans
    template = span(1)
    for i in range(1, 100_001):
        item = spans.add()
        item.CopyFrom(template)
        item.span_id = i.to_bytes(8, "big")
    body = request.SerializeToString()
    answer = collector.post(body, PROTOBUF)
    assert answer.status_code == 413
    assert reason(answer) == "100000 spans in one request, over the limit of 20000"
    assert_nothing_stored(collector)


def test_invalid_ids_are_a_partial_success_naming_them(collector: Collector) -> None:
    spans = [
        span(1),
        span(2, parent=1),
        Span(trace_id=b"\x00" * 16, span_id=b"\x01" * 8, name="zero trace id"),
        Span(trace_id=TRACE[:8], span_id=b"\x01" * 8, name="short trace id"),
        Span(trace_id=TRACE, span_id=b"", name="no span id"),
        Span(trace_id=TRACE, span_id=b"\x03" * 8, parent_span_id=b"\x01", name="short parent"),
    ]
    answer = collector.post(request_of(spans).SerializeToString(), PROTOBUF)
    assert answer.status_code == 200
    response = ExportTraceServiceResponse.FromString(answer.content)
    assert response.partial_success.rejected_spans == 4
    message = response.partial_success.error_message
    assert "2 span(s): invalid trace_id" in message
    assert "1 span(s): invalid span_id" in message
    assert "1 span(s): invalid parent_span_id" in message
    [trace] = collector.traces()
    assert trace.name == "span 1" and [r.name for r in trace.runs] == ["span 1", "span 2"]


def _value(**kind: object) -> AnyValue:
    return AnyValue(**kind)  # type: ignore[arg-type]


def test_attribute_values_of_every_otlp_type_are_kept_faithfully(collector: Collector) -> None:
    nested = _value(string_value="leaf")
    for _ in range(40):  # deeper than our bound (32): cut there, not a crash
        nested = _value(array_value={"values": [nested]})
    attributes = {
        "s": _value(string_value="text é ✓"),
        "b": _value(bool_value=True),
        "i": _value(int_value=-(2**63)),
        "d": _value(double_value=2.5),
        "nan": _value(double_value=float("nan")),
        "bytes": _value(bytes_value=b"\x00\xffraw"),
        "array": _value(array_value={"values": [_value(int_value=1), _value(string_value="two")]}),
        "kvlist": _value(
            kvlist_value={
                "values": [
                    KeyValue(key="k", value=_value(bool_value=False)),
                    KeyValue(key="inner", value=_value(kvlist_value={"values": []})),
                ]
            }
        ),
        "empty": AnyValue(),
        "deep": nested,
    }
    root = span(1)
    for key, value in attributes.items():
        root.attributes.add(key=key, value=value)
    answer = collector.post(request_of([root, span(2, parent=1)]).SerializeToString(), PROTOBUF)
    assert answer.status_code == 200
    assert not ExportTraceServiceResponse.FromString(answer.content).HasField("partial_success")
    record = collector.traces()[0].runs[0]
    kept = record.metadata["otel.attributes"]
    assert kept["s"] == "text é ✓" and kept["b"] is True and kept["i"] == -(2**63)
    assert kept["d"] == 2.5 and kept["bytes"] == "AP9yYXc="  # base64, as OTLP JSON writes it
    assert kept["array"] == [1, "two"]
    assert kept["kvlist"] == {"k": False, "inner": {}}
    assert kept["empty"] is None
    assert kept["nan"] != kept["nan"] or kept["nan"] is None or isinstance(kept["nan"], str)
    depth, node = 0, kept["deep"]
    while isinstance(node, list):
        depth, node = depth + 1, node[0]
    assert depth <= 32 and node == "…"


def test_mangled_bodies_never_get_a_500(collector: Collector) -> None:
    valid = request_of([span(i, parent=1 if i > 1 else None) for i in range(1, 20)])
    body = bytearray(valid.SerializeToString())
    rng = random.Random(16)
    for _ in range(150):
        mangled = bytearray(body)
        for _ in range(rng.randint(1, 8)):
            mangled[rng.randrange(len(mangled))] = rng.randrange(256)
        cut = mangled[: rng.randrange(len(mangled) + 1)]
        answer = collector.post(bytes(cut), PROTOBUF)
        assert answer.status_code in (200, 400), answer.status_code


def test_the_token_guards_the_receiver_but_no_write_header_is_needed(
    collector_factory: Callable[..., Collector],
) -> None:
    collector = collector_factory(token="s3cret-token")
    body = request_of([span(1)]).SerializeToString()
    assert collector.post(body, PROTOBUF).status_code == 401
    assert collector.post(body, PROTOBUF, authorization="Bearer wrong").status_code == 401
    ok = collector.post(body, PROTOBUF, authorization="Bearer s3cret-token")
    assert ok.status_code == 200  # an SDK exporter's headers only: no X-Myagent-Request
    cross = collector.post(
        body, PROTOBUF, authorization="Bearer s3cret-token", **{"sec-fetch-site": "cross-site"}
    )
    assert cross.status_code == 403 and "cross-" in reason(cross)
    assert len(collector.traces()) == 1
