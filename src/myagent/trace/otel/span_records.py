"""OTLP spans in: one span → one of our records, by the conventions its producer followed.

- GenAI semantic conventions (`gen_ai.operation.name`): `chat`/`text_completion`/
  `generate_content` → a think record; `execute_tool` → a tool record;
  `invoke_agent`/`create_agent` → the trace's agent (and the trace itself when root).
- OpenInference (`openinference.span.kind`): LLM → think, TOOL → tool, AGENT → agent,
  CHAIN/RETRIEVER/EMBEDDING/RERANKER/GUARDRAIL/EVALUATOR → a step with its inputs/outputs.
- Our own exporter's spans (`myagent.*` attributes) map back to exactly what they were.
- Anything else → a step keeping the span's name, kind, attributes, events and status.

Ids stay as they are: the OTel trace id is the trace id, each span id a run id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from myagent.trace.otel.attributes import attributes_of, unflatten
from myagent.trace.otel.content import chat_message, openinference_message, parse_arguments
from myagent.trace.pricing import estimate_cost
from myagent.trace.records import (
    RECORD_TYPES,
    LogEntry,
    RunRecord,
    StepRecord,
    ThinkRecord,
    ToolRecord,
    TraceStatus,
)

THINK_OPERATIONS = frozenset({"chat", "text_completion", "generate_content"})
AGENT_OPERATIONS = frozenset({"invoke_agent", "create_agent"})
SERVICE_KEY = "service.name"
"""Trace metadata key holding the producer's resource `service.name` (filterable)."""
SCOPE_KEY = "otel.scope.name"
"""Trace and record metadata key holding the instrumentation scope's name (filterable)."""
ORPHAN_KEY = "otel.parent_span_id"
"""Record metadata key keeping a parent span id that has not arrived (yet)."""

_KIND_NAMES = {value: name.removeprefix("SPAN_KIND_") for name, value in Span.SpanKind.items()}
# Think-record metadata keys our exporter writes as GenAI attributes (mapping.py).
_THINK_METADATA = {
    "gen_ai.provider.name": "provider",
    "gen_ai.system": "provider",  # the older conventions' name
    "gen_ai.response.model": "response_model",
    "gen_ai.response.id": "response_id",
    "gen_ai.request.temperature": "temperature",
    "gen_ai.request.max_tokens": "max_tokens",
    "gen_ai.request.top_p": "top_p",
    "gen_ai.request.seed": "seed",
}
_OI_TOKENS = ("llm.token_count.prompt", "llm.token_count.completion", "llm.token_count.total")
_OUR_ROOT_TOTALS = (
    "myagent.trace.has_errors",
    "myagent.tokens_used",
    "myagent.cost_usd",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "error.type",
)
_CONTENT_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}


@dataclass(slots=True)
class MappedSpan:
    """One span as our data: its record, and what it says about the whole trace."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    record: RunRecord
    is_trace: bool = False
    """True when the span stands for the trace itself (an agent run or our own root):
    as the root it becomes the trace, not a record."""
    trace_fields: dict[str, Any] = field(default_factory=dict)
    """Trace-level values this span carries (name, agent, session, input, output, status...)."""
    logs: list[LogEntry] = field(default_factory=list)
    service: str | None = None
    scope: str | None = None


class _Attrs:
    """A span's attributes; `take` removes and returns a key's value, `rest` is what is left."""

    __slots__ = ("data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def one(self, key: str) -> Any:
        """`key`'s value, consumed (an empty string counts as absent)."""
        value = self.data.pop(key, None)
        return None if value == "" else value

    def take(self, *keys: str) -> Any:
        """The first of `keys` present with a value (all of them are consumed)."""
        pop = self.data.pop
        found = None
        for key in keys:
            value = pop(key, None)
            if found is None and value is not None and value != "":
                found = value
        return found

    def take_prefix(self, prefix: str) -> dict[str, Any]:
        """Every attribute starting with `prefix` (consumed), prefix removed."""
        keys = [k for k in self.data if k.startswith(prefix)]
        return {k[len(prefix) :]: self.data.pop(k) for k in keys}

    def take_list(self, prefix: str) -> list[Any]:
        """A flattened OpenInference list (`prefix.{i}.…`), consumed."""
        items = unflatten(self.data, prefix)
        if items:
            self.take_prefix(prefix + ".")
        return items

    def rest(self) -> dict[str, Any]:
        return self.data


def _json_value(value: Any) -> Any:
    """JSON text as data (structured attributes arrive as JSON strings), else as given."""
    if isinstance(value, str) and value[:1] in ("{", "[", '"'):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _messages(value: Any) -> list[dict[str, Any]]:
    data = _json_value(value)
    if isinstance(data, dict):
        data = [data]
    return [chat_message(m) for m in data] if isinstance(data, list) else []


def _single_text(messages: list[dict[str, Any]]) -> Any:
    """A one-message list's text (how our exporter writes a trace's input/output)."""
    if len(messages) == 1 and set(messages[0]) <= {"role", "content", "finish_reason"}:
        return messages[0].get("content")
    return messages or None


def _events(
    events: Iterable[Any], attrs: _Attrs, record: RunRecord
) -> tuple[list[LogEntry], list[Any]]:
    """Exception events → the record's error; `log` events → log entries; GenAI content
    events → messages (think records); the others are returned to keep in metadata."""
    logs: list[LogEntry] = []
    kept: list[Any] = []
    content: list[dict[str, Any]] = []
    choices: list[Any] = []
    for event in events:
        data = attributes_of(event.attributes)
        name = event.name
        if name == "exception":
            record.error_type = str(data.get("exception.type") or "") or record.error_type
            record.stacktrace = data.get("exception.stacktrace") or record.stacktrace
            message = data.get("exception.message")
            if message and not record.error:
                record.error = str(message)
        elif name == "log" and "log.message" in data:
            logs.append(
                LogEntry(
                    level=str(data.get("log.severity") or "INFO"),
                    message=str(data.get("log.message")),
                    timestamp_us=event.time_unix_nano // 1000,
                    run_id=record.run_id,
                )
            )
        elif name in _CONTENT_EVENTS:
            message = {"role": data.get("role") or _CONTENT_EVENTS[name]}
            for key in ("content", "tool_calls", "id", "tool_call_id", "name"):
                if key in data:
                    message[key] = _json_value(data[key])
            if name == "gen_ai.tool.message" and "id" in message:
                message["tool_call_id"] = message.pop("id")
            content.append(message)
        elif name == "gen_ai.choice":
            choices.append(_json_value(data.get("message")) or data)
        else:
            kept.append({"name": name, "time_us": event.time_unix_nano // 1000, **data})
    if isinstance(record, ThinkRecord):
        if content and not record.messages:
            record.messages = content
        if choices and record.llm_response is None:
            choice = choices[0]
            if isinstance(choice, dict):
                record.llm_response = choice.get("content")
                record.tool_calls = record.tool_calls or list(choice.get("tool_calls") or [])
    else:
        kept.extend({"name": f"gen_ai.{m['role']}.message", **m} for m in content)
    return logs, kept


def _first(pop: Any, first: str, second: str) -> Any:
    """The first of two keys present with a value (both consumed): `_Attrs.take` for two
    keys without building an argument tuple (the hot mapping path calls it ~10 times)."""
    value = pop(first, None)
    other = pop(second, None)
    if value is None or value == "":
        return None if other == "" else other
    return value


def _fill_think(record: ThinkRecord, attrs: _Attrs, openinference: bool) -> None:
    data = attrs.data
    pop = data.pop
    record.model = model = attrs.take(
        "gen_ai.request.model", "gen_ai.response.model", "llm.model_name"
    )
    agent = pop("gen_ai.agent.name", None)
    record.agent_name = None if agent == "" else agent
    if openinference:
        prompt, completion, total = (_int(attrs.one(k)) for k in _OI_TOKENS)
    else:
        prompt = _int(_first(pop, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"))
        completion = _int(
            _first(pop, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
        )
        total = _int(_first(pop, "myagent.tokens_used", "llm.usage.total_tokens"))
    record.prompt_tokens, record.completion_tokens = prompt, completion
    record.tokens_used = total or prompt + completion
    cost = _first(pop, "myagent.cost_usd", "gen_ai.usage.cost")
    if cost is None and model and (prompt or completion):
        cost = estimate_cost(str(model), prompt, completion)
    record.cost_usd = float(cost) if isinstance(cost, int | float) else None
    metadata = record.metadata
    for key in _THINK_METADATA.keys() & data.keys():  # few of them are ever there
        value = pop(key)
        name = _THINK_METADATA[key]
        if value is not None and value != "" and name not in metadata:
            metadata[name] = value
    finish = pop("gen_ai.response.finish_reasons", None)
    if isinstance(finish, list) and finish:
        metadata["finish_reason"] = finish[0] if len(finish) == 1 else finish
    pop("myagent.tool_calls", None)  # our exporter's names of record.tool_calls
    system = _json_value(pop("gen_ai.system_instructions", None))
    if isinstance(system, list):
        prompts = (p.get("content") if isinstance(p, dict) else p for p in system)
        record.system_prompts = [str(p) for p in prompts if p is not None]
    messages = _messages(pop("gen_ai.input.messages", None))
    outputs = _messages(pop("gen_ai.output.messages", None))
    if openinference:
        messages = messages or [
            openinference_message(m) for m in attrs.take_list("llm.input_messages")
        ]
        outputs = outputs or [
            openinference_message(m) for m in attrs.take_list("llm.output_messages")
        ]
        raw_input = _json_value(attrs.one("input.value"))
        raw_output = _json_value(attrs.one("output.value"))
        if not messages:
            record.input = raw_input
        if not outputs:
            record.llm_response = raw_output
        attrs.take("input.mime_type", "output.mime_type")
        invocation = _json_value(attrs.one("llm.invocation_parameters"))
        if isinstance(invocation, dict):
            metadata.update({k: v for k, v in invocation.items() if k != "tools"})
        metadata.setdefault("provider", attrs.take("llm.provider", "llm.system"))
        if metadata["provider"] is None:
            del metadata["provider"]
    record.messages = messages
    if not record.system_prompts:
        record.system_prompts = [
            str(m["content"]) for m in messages if m.get("role") == "system" and m.get("content")
        ]
    if outputs:
        reply = outputs[0]
        record.llm_response = reply.get("content")
        record.tool_calls = list(reply.get("tool_calls") or [])
        reason = reply.get("finish_reason")
        if reason and "finish_reason" not in metadata:
            metadata["finish_reason"] = reason


def _fill_tool(record: ToolRecord, attrs: _Attrs, span_name: str) -> None:
    name = attrs.take("gen_ai.tool.name", "tool.name")
    if name is None and span_name.startswith("execute_tool "):
        name = span_name.removeprefix("execute_tool ")
    record.tool_name = str(name or span_name)
    call_id = attrs.take("gen_ai.tool.call.id", "tool_call.id", "tool.id")
    record.tool_call_id = None if call_id is None else str(call_id)
    attrs.one("gen_ai.tool.type")
    arguments = attrs.take("gen_ai.tool.call.arguments", "input.value", "tool.parameters")
    record.input_params = parse_arguments(arguments)
    record.output = _json_value(attrs.take("gen_ai.tool.call.result", "output.value"))
    pop = attrs.data.pop
    for key in ("tool.description", "input.mime_type", "output.mime_type"):
        pop(key, None)


def _fill_step(record: StepRecord, attrs: _Attrs, kind: str | None) -> None:
    inputs = _json_value(attrs.take("myagent.step.inputs", "input.value"))
    output = _json_value(attrs.take("myagent.step.output", "output.value"))
    for key in ("input.mime_type", "output.mime_type"):
        attrs.data.pop(key, None)
    if kind == "RETRIEVER":
        output = attrs.take_list("retrieval.documents") or output
    elif kind == "RERANKER":
        inputs = attrs.take_list("reranker.input_documents") or inputs
        output = attrs.take_list("reranker.output_documents") or output
    elif kind == "EMBEDDING":
        output = attrs.take_list("embedding.embeddings") or output
    record.inputs, record.output = inputs, output


def _trace_fields(attrs: _Attrs, span: Span, ours: bool) -> dict[str, Any]:
    """What a root span says about the trace: name, status, error, input, output..."""
    fields: dict[str, Any] = {}
    if ours:
        fields["name"] = attrs.one("myagent.trace.name")
        fields["status"] = attrs.one("myagent.trace.status")
        pop = attrs.data.pop
        for key in _OUR_ROOT_TOTALS:  # the trace's totals: recomputed from its records
            pop(key, None)
        tags = attrs.one("myagent.tags")
        fields["tags"] = list(tags) if isinstance(tags, list) else []
        inputs = _messages(attrs.one("gen_ai.input.messages"))
        outputs = _messages(attrs.one("gen_ai.output.messages"))
        fields["input"] = _single_text(inputs)
        fields["output"] = _single_text(outputs)
    else:
        fields["input"] = _json_value(attrs.one("input.value"))
        fields["output"] = _json_value(attrs.one("output.value"))
        tags = attrs.one("tag.tags")
        fields["tags"] = [str(t) for t in tags] if isinstance(tags, list) else []
        meta = _json_value(attrs.one("metadata"))
        if isinstance(meta, dict):
            fields["metadata"] = dict(meta)
    if span.status.code == Status.STATUS_CODE_ERROR:
        message = span.status.message
        if not (ours and message == fields.get("status")):  # ours: status name, no error
            fields["error"] = message or "error"
    return fields


def map_span(
    span: Span,
    service: str | None,
    scope: str | None,
    ids: tuple[bytes, bytes, bytes] | None = None,
) -> MappedSpan:
    """One OTLP span (ids already checked) as a record and its trace-level facts;
    `ids`: its trace, span and parent span ids when the caller has read them already."""
    trace_id, span_id, parent = ids or (span.trace_id, span.span_id, span.parent_span_id)
    # Every read of a protobuf field builds a Python object: each is read once here.
    data = attributes_of(span.attributes)
    attrs = _Attrs(data)
    pop = data.pop
    our_root = "myagent.trace.status" in data
    ours = our_root or "myagent.run_type" in data
    operation = pop("gen_ai.operation.name", None)
    oi_kind = pop("openinference.span.kind", None)
    oi_kind = str(oi_kind).upper() if oi_kind else None
    run_type = pop("myagent.run_type", None)
    span_name = span.name
    start_ns = span.start_time_unix_nano
    failed = span.status.code == Status.STATUS_CODE_ERROR
    is_agent = operation in AGENT_OPERATIONS or oi_kind == "AGENT"
    if run_type not in RECORD_TYPES:
        if operation in THINK_OPERATIONS or oi_kind == "LLM":
            run_type = "think"
        elif operation == "execute_tool" or oi_kind == "TOOL":
            run_type = "tool"
        else:
            run_type = "step"
    cls = RECORD_TYPES[str(run_type)]
    record = cls(
        name=str(pop("myagent.run.name", None) or span_name),
        run_id=span_id.hex(),
        trace_id=trace_id.hex(),
        parent_id=parent.hex() or None,
        start_us=start_ns // 1000,
        end_us=max(span.end_time_unix_nano, start_ns) // 1000,
    )
    if isinstance(record, ThinkRecord):
        _fill_think(record, attrs, oi_kind == "LLM")
    elif isinstance(record, ToolRecord):
        _fill_tool(record, attrs, span_name)
    elif isinstance(record, StepRecord):
        _fill_step(record, attrs, oi_kind)
    agent = _first(pop, "gen_ai.agent.name", "agent.name")
    trace_fields: dict[str, Any] = {"agent_name": agent if is_agent else None}
    if is_agent and agent is None:  # named after its span: an agent span's own name wins
        agent = span_name.removeprefix("invoke_agent ").removeprefix("create_agent ")
        trace_fields["agent_hint"] = agent
    session = _first(pop, "gen_ai.conversation.id", "session.id")
    if session is not None:
        trace_fields["session_id"] = str(session)
    is_root = not parent
    is_trace = is_root and (is_agent or our_root)
    if is_root:
        trace_fields.update(_trace_fields(attrs, span, ours))
        if is_trace and not ours:
            name = span_name.removeprefix("invoke_agent ").removeprefix("create_agent ")
            trace_fields["name"] = agent if name in AGENT_OPERATIONS else name
    if failed:
        record.success = False
        record.error = span.status.message or None
    events = span.events
    logs, kept = _events(events, attrs, record) if events else ([], [])
    if failed:
        record.error_type = record.error_type or attrs.one("error.type")
        record.error = record.error or record.error_type or "error"
    elif ours:
        pop("error.type", None)
    metadata = record.metadata
    extra = attrs.take_prefix("myagent.metadata.")
    if extra:
        metadata.update({k: _json_value(v) for k, v in extra.items()} if ours else extra)
    if not ours:
        metadata["otel.span_kind"] = _KIND_NAMES.get(span.kind, "UNSPECIFIED")
        if scope:
            metadata[SCOPE_KEY] = scope
        if oi_kind:
            metadata["openinference.span.kind"] = oi_kind
        if is_agent and agent:
            metadata["agent_name"] = agent
        rest = attrs.rest()
        if rest:
            metadata["otel.attributes"] = rest
        if kept:
            metadata["otel.events"] = kept
        links = span.links
        if links:
            metadata["otel.links"] = [
                {"trace_id": link.trace_id.hex(), "span_id": link.span_id.hex()} for link in links
            ]
    elif kept:
        metadata["otel.events"] = kept
    if is_trace:  # no record: the span's logs and metadata belong to the trace
        for entry in logs:
            entry.run_id = None
        trace_fields["metadata"] = {**trace_fields.get("metadata", {}), **metadata}
    if is_root and not is_trace:
        trace_fields.setdefault("status", TraceStatus.ERROR if not record.success else None)
    return MappedSpan(
        trace_id=record.trace_id,
        span_id=record.run_id,
        parent_span_id=record.parent_id,
        record=record,
        is_trace=is_trace,
        trace_fields=trace_fields,
        logs=logs,
        service=service,
        scope=scope,
    )
