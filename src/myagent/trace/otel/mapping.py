"""Turn finished traces into OTLP spans that follow the OpenTelemetry GenAI conventions.

A trace becomes a root span (`invoke_agent {agent}`), each think record a `chat {model}`
client span, each tool record an `execute_tool {tool}` span and each step an internal
span, linked through `parent_id`. Ids map directly: our 32-hex trace ids and 16-hex run
ids are OTel trace and span ids. Prompts, outputs and tool arguments are content and are
only exported when `capture_content` is on, as the GenAI conventions require.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans, Span, Status

from myagent.trace.otel.content import input_messages, output_messages, text_part
from myagent.trace.records import (
    LogEntry,
    RunRecord,
    StepRecord,
    ThinkRecord,
    ToolRecord,
    Trace,
    TraceStatus,
)
from myagent.trace.serialize import to_jsonable, truncate_text

SCOPE_NAME = "myagent.trace"
DEFAULT_MAX_ATTRIBUTE_LENGTH = 32 * 1024

# Record metadata keys that have a GenAI attribute of their own (think records).
_THINK_METADATA_ATTRIBUTES = {
    "provider": "gen_ai.provider.name",
    "response_model": "gen_ai.response.model",
    "response_id": "gen_ai.response.id",
    "temperature": "gen_ai.request.temperature",
    "max_tokens": "gen_ai.request.max_tokens",
    "top_p": "gen_ai.request.top_p",
    "seed": "gen_ai.request.seed",
}
_ERROR_TYPE_RE = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")


@dataclass(frozen=True, slots=True)
class SpanOptions:
    """How records become spans: content capture, provider name and attribute bounds."""

    capture_content: bool = False
    """Export prompts, responses, tool arguments/results and step values (opt-in)."""
    provider_name: str | None = "openai"
    """`gen_ai.provider.name` for chat spans whose record names no provider."""
    max_attribute_length: int = DEFAULT_MAX_ATTRIBUTE_LENGTH
    """Longest string attribute, in characters; longer ones are cut with a marker."""


def _id_bytes(value: str | None, width: int) -> bytes:
    """`width` bytes from a hex id; anything else (or all zeros) is hashed to that width."""
    text = value or ""
    if len(text) == width * 2:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = b""
        if raw and any(raw):
            return raw
    return hashlib.blake2b(text.encode(), digest_size=width).digest()


def trace_id_bytes(trace_id: str) -> bytes:
    """The 16-byte OTel trace id of a trace."""
    return _id_bytes(trace_id, 16)


def span_id_bytes(run_id: str) -> bytes:
    """The 8-byte OTel span id of a record."""
    return _id_bytes(run_id, 8)


def root_span_id(trace: Trace) -> bytes:
    """The span id of a trace's root span: derived from the trace id, so re-sends match."""
    return hashlib.blake2b(("root:" + trace.trace_id).encode(), digest_size=8).digest()


def _set_value(target: AnyValue, value: Any, limit: int) -> None:
    """Write `value` into an AnyValue in place (scalars, flat arrays, else bounded JSON)."""
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int) and -(2**63) <= value < 2**63:
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, str):
        target.string_value = truncate_text(value, limit)
    elif isinstance(value, list | tuple) and all(
        isinstance(v, str | bool | int | float) for v in value
    ):
        values = target.array_value.values
        for item in value:
            _set_value(values.add(), item, limit)
    else:
        target.string_value = _json(value, limit)


def _json(value: Any, limit: int) -> str:
    """Bounded JSON text for a structured value (a string stays as it is)."""
    data = to_jsonable(value)
    text = data if isinstance(data, str) else orjson.dumps(data).decode()
    return truncate_text(text, limit)


class _Attributes:
    """Collects attributes as plain values, skipping empty ones; `write` fills a message."""

    __slots__ = ("items", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: list[tuple[str, Any]] = []

    def add(self, key: str, value: Any) -> None:
        if value is None or value == "":
            return
        self.items.append((key, value))

    def add_json(self, key: str, value: Any) -> None:
        if value is None:
            return
        self.items.append((key, _json(value, self.limit)))

    def add_metadata(self, metadata: Mapping[str, Any], skip: Iterable[str] = ()) -> None:
        skipped = set(skip)
        for key, value in metadata.items():
            if key not in skipped:
                self.add(f"myagent.metadata.{key}", value)

    def write(self, container: Any) -> None:
        """Append the attributes to a repeated KeyValue field, in place (no copies)."""
        limit = self.limit
        for key, value in self.items:
            kv = container.add()
            kv.key = key
            _set_value(kv.value, value, limit)


def _error_type(message: str | None, declared: str | None) -> str:
    if declared:
        return declared
    match = _ERROR_TYPE_RE.match(message or "")
    return match.group(1) if match else "_OTHER"


def _set_status(span: Span, failed: bool, message: str | None, limit: int) -> None:
    if failed:
        span.status.code = Status.STATUS_CODE_ERROR
        span.status.message = truncate_text(message or "", limit)


def _add_exception_event(span: Span, record: RunRecord, end_ns: int, limit: int) -> None:
    attrs = _Attributes(limit)
    attrs.add("exception.type", record.error_type or _error_type(record.error, None))
    attrs.add("exception.message", record.error)
    attrs.add("exception.stacktrace", record.stacktrace)
    event = span.events.add()
    event.time_unix_nano, event.name = end_ns, "exception"
    attrs.write(event.attributes)


def _add_log_events(span: Span, entries: Sequence[LogEntry], limit: int) -> None:
    for entry in entries:
        attrs = _Attributes(limit)
        attrs.add("log.severity", entry.level)
        attrs.add("log.message", entry.message)
        event = span.events.add()
        event.time_unix_nano, event.name = entry.timestamp_us * 1000, "log"
        attrs.write(event.attributes)


# -- spans ----------------------------------------------------------------------------


def _fill_root_span(span: Span, trace: Trace, options: SpanOptions, end_ns: int) -> None:
    limit = options.max_attribute_length
    attrs = _Attributes(limit)
    think = [r for r in trace.runs if isinstance(r, ThinkRecord)]
    if trace.agent_name:
        name = f"invoke_agent {trace.agent_name}"
        attrs.add("gen_ai.operation.name", "invoke_agent")
        attrs.add("gen_ai.agent.name", trace.agent_name)
    else:
        name = trace.name or "trace"
    attrs.add("gen_ai.conversation.id", trace.session_id)
    if think:
        attrs.add("gen_ai.usage.input_tokens", sum(r.prompt_tokens for r in think))
        attrs.add("gen_ai.usage.output_tokens", sum(r.completion_tokens for r in think))
    status = str(trace.status)
    failed = status in (TraceStatus.ERROR, TraceStatus.CANCELLED) or bool(trace.error)
    if failed:
        cancelled = status == TraceStatus.CANCELLED
        attrs.add("error.type", "cancelled" if cancelled else _error_type(trace.error, None))
    attrs.add("myagent.trace.name", trace.name)
    attrs.add("myagent.trace.status", status)
    attrs.add("myagent.trace.has_errors", trace.has_errors)
    attrs.add("myagent.tokens_used", sum(r.tokens_used for r in think) or None)
    costs = [r.cost_usd for r in think if r.cost_usd]
    attrs.add("myagent.cost_usd", sum(costs) if costs else None)
    attrs.add("myagent.tags", list(trace.tags) or None)
    attrs.add_metadata(trace.metadata)
    if options.capture_content:
        if trace.input is not None:
            attrs.add_json("gen_ai.input.messages", input_messages([trace.input]))
        if trace.output is not None:
            attrs.add_json("gen_ai.output.messages", output_messages(trace.output, [], None))
    span.span_id = root_span_id(trace)
    span.name = name
    span.kind = Span.SPAN_KIND_INTERNAL
    span.start_time_unix_nano = trace.start_us * 1000
    span.end_time_unix_nano = end_ns
    attrs.write(span.attributes)
    _set_status(span, failed, trace.error or status, limit)


def _think_attributes(record: ThinkRecord, options: SpanOptions, attrs: _Attributes) -> str:
    model = record.model
    attrs.add("gen_ai.operation.name", "chat")
    meta = record.metadata
    attrs.add("gen_ai.provider.name", meta.get("provider") or options.provider_name)
    attrs.add("gen_ai.request.model", model)
    attrs.add("gen_ai.agent.name", record.agent_name)
    attrs.add("gen_ai.usage.input_tokens", record.prompt_tokens)
    attrs.add("gen_ai.usage.output_tokens", record.completion_tokens)
    for key, attribute in _THINK_METADATA_ATTRIBUTES.items():
        if key != "provider":
            attrs.add(attribute, meta.get(key))
    finish = meta.get("finish_reason")
    attrs.add("gen_ai.response.finish_reasons", [str(finish)] if finish else None)
    attrs.add("myagent.tokens_used", record.tokens_used)
    attrs.add("myagent.cost_usd", record.cost_usd)
    names = [c.get("name") for c in record.tool_calls if isinstance(c, Mapping)]
    attrs.add("myagent.tool_calls", [str(n) for n in names if n] or None)
    attrs.add_metadata(meta, skip=(*_THINK_METADATA_ATTRIBUTES, "finish_reason"))
    if options.capture_content:
        if record.system_prompts:
            attrs.add_json(
                "gen_ai.system_instructions", [text_part(p) for p in record.system_prompts]
            )
        messages = record.messages or ([record.input] if record.input is not None else [])
        if messages:
            attrs.add_json("gen_ai.input.messages", input_messages(messages))
        if record.llm_response is not None or record.tool_calls:
            output = output_messages(record.llm_response, record.tool_calls, finish)
            attrs.add_json("gen_ai.output.messages", output)
    return f"chat {model}" if model else "chat"


def _tool_attributes(record: ToolRecord, options: SpanOptions, attrs: _Attributes) -> str:
    tool = record.tool_name or record.name
    attrs.add("gen_ai.operation.name", "execute_tool")
    attrs.add("gen_ai.tool.name", tool)
    attrs.add("gen_ai.tool.call.id", record.tool_call_id)
    attrs.add("gen_ai.tool.type", "function")
    attrs.add_metadata(record.metadata)
    if options.capture_content:
        attrs.add_json("gen_ai.tool.call.arguments", record.input_params)
        attrs.add_json("gen_ai.tool.call.result", record.output)
    return f"execute_tool {tool}" if tool else "execute_tool"


def _fill_record_span(
    span: Span, record: RunRecord, parent: bytes, end_default: int, options: SpanOptions
) -> None:
    limit = options.max_attribute_length
    attrs = _Attributes(limit)
    kind = Span.SPAN_KIND_INTERNAL
    if isinstance(record, ThinkRecord):
        name = _think_attributes(record, options, attrs)
        kind = Span.SPAN_KIND_CLIENT
    elif isinstance(record, ToolRecord):
        name = _tool_attributes(record, options, attrs)
    else:
        name = record.name or record.run_type
        attrs.add_metadata(record.metadata)
        if options.capture_content and isinstance(record, StepRecord):
            attrs.add_json("myagent.step.inputs", record.inputs)
            attrs.add_json("myagent.step.output", record.output)
    attrs.add("myagent.run_type", record.run_type)
    if record.name and record.name != name:
        attrs.add("myagent.run.name", record.name)
    end_ns = (record.end_us if record.end_us is not None else end_default) * 1000
    if not record.success:
        attrs.add("error.type", _error_type(record.error, record.error_type))
    span.span_id = span_id_bytes(record.run_id)
    span.parent_span_id = parent
    span.name = name
    span.kind = kind
    span.start_time_unix_nano = record.start_us * 1000
    span.end_time_unix_nano = end_ns
    attrs.write(span.attributes)
    if not record.success:
        _add_exception_event(span, record, end_ns, limit)
    _set_status(span, not record.success, record.error, limit)


def add_trace_spans(trace: Trace, spans: Any, options: SpanOptions | None = None) -> int:
    """Append the spans of `trace` to a repeated Span field in place; returns how many.

    The root span comes first, then one span per record with its parent linked;
    records whose parent is not in the trace hang under the root span. Log entries
    become `log` events on the span of the record that was current (else the root).
    """
    options = options or SpanOptions()
    limit = options.max_attribute_length
    runs = list(trace.runs)
    end_us = trace.end_us
    if end_us is None:
        end_us = max([trace.start_us, *(r.end_us or r.start_us for r in runs)])
    logs: dict[str | None, list[LogEntry]] = {}
    known = {r.run_id for r in runs}
    for entry in list(trace.logs):
        logs.setdefault(entry.run_id if entry.run_id in known else None, []).append(entry)
    trace_id = trace_id_bytes(trace.trace_id)
    root = spans.add()
    root.trace_id = trace_id
    _fill_root_span(root, trace, options, end_us * 1000)
    _add_log_events(root, logs.get(None, ()), limit)
    root_id = root.span_id
    for record in runs:
        parent = span_id_bytes(record.parent_id) if record.parent_id in known else root_id
        span = spans.add()
        span.trace_id = trace_id
        _fill_record_span(span, record, parent, end_us, options)
        _add_log_events(span, logs.get(record.run_id, ()), limit)
    return 1 + len(runs)


def trace_to_spans(trace: Trace, options: SpanOptions | None = None) -> list[Span]:
    """The root span of `trace` followed by one span per record, parents linked."""
    scope = ScopeSpans()
    add_trace_spans(trace, scope.spans, options)
    return list(scope.spans)


def resource_for(
    attributes: Mapping[str, Any], limit: int = DEFAULT_MAX_ATTRIBUTE_LENGTH
) -> Resource:
    """An OTLP resource (service.name and friends) from plain attributes."""
    attrs = _Attributes(limit)
    for key, value in attributes.items():
        attrs.add(key, value)
    resource = Resource()
    attrs.write(resource.attributes)
    return resource
