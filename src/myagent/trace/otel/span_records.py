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
from dataclasses import dataclass
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

_STATUS_ERROR = Status.STATUS_CODE_ERROR
_NO_EVENTS: list[Any] = []
"""The kept events of the usual span, which has none (shared: never appended to)."""
_DROPPED = frozenset({"myagent.tool_calls"})
"""A list attribute our exporter writes that the mapping drops (the record's tool calls
say it all): not decoded."""
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
    is_trace: bool
    """True when the span stands for the trace itself (an agent run or our own root):
    as the root it becomes the trace, not a record."""
    trace_fields: dict[str, Any]
    """Trace-level values this span carries (name, agent, session, input, output, status...)."""
    logs: list[LogEntry]
    service: str | None
    scope: str | None


def _one(data: dict[str, Any], key: str) -> Any:
    """`key`'s value, consumed (an empty string counts as absent)."""
    value = data.pop(key, None)
    return None if value == "" else value


def _take_prefix(data: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Every attribute starting with `prefix` (consumed), prefix removed."""
    if not data:  # our own spans: every attribute taken by now
        return {}
    keys = [k for k in data if k.startswith(prefix)]
    return {k[len(prefix) :]: data.pop(k) for k in keys}


def _take_list(data: dict[str, Any], prefix: str) -> list[Any]:
    """A flattened OpenInference list (`prefix.{i}.…`), consumed."""
    items = unflatten(data, prefix)
    if items:
        _take_prefix(data, prefix + ".")
    return items


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


def _events(events: Iterable[Any], record: RunRecord) -> tuple[list[LogEntry], list[Any]]:
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
    """The first of two keys present with a value, an empty string counting as absent
    (both consumed; `pop` is the attribute dict's)."""
    value = pop(first, None)
    other = pop(second, None)
    if value is None or value == "":
        return None if other == "" else other
    return value


def _first3(pop: Any, first: str, second: str, third: str) -> Any:
    """`_first` for three keys."""
    value = _first(pop, first, second)
    last = pop(third, None)
    if value is None:
        return None if last == "" else last
    return value


def _count(pop: Any, first: str, second: str) -> int:
    """A token count from the first of two keys present (both consumed), 0 when absent
    or not a number: `_int(_first(...))` in one call, an int attribute as it is."""
    value = pop(first, None)
    other = pop(second, None)
    if type(value) is int:
        return value
    return _int(other if value is None or value == "" else value)


def _fill_think(record: ThinkRecord, data: dict[str, Any], openinference: bool) -> None:
    pop = data.pop
    record.model = model = _first3(
        pop, "gen_ai.request.model", "gen_ai.response.model", "llm.model_name"
    )
    agent = pop("gen_ai.agent.name", None)
    record.agent_name = None if agent == "" else agent
    if openinference:
        prompt, completion, total = (_int(_one(data, k)) for k in _OI_TOKENS)
    else:
        prompt = _count(pop, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
        completion = _count(pop, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
        total = _count(pop, "myagent.tokens_used", "llm.usage.total_tokens")
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
        record.system_prompts = [
            str(p)
            for p in (p.get("content") if isinstance(p, dict) else p for p in system)
            if p is not None
        ]
    messages = _messages(pop("gen_ai.input.messages", None))
    outputs = _messages(pop("gen_ai.output.messages", None))
    if openinference:
        messages = messages or [
            openinference_message(m) for m in _take_list(data, "llm.input_messages")
        ]
        outputs = outputs or [
            openinference_message(m) for m in _take_list(data, "llm.output_messages")
        ]
        raw_input = _json_value(_one(data, "input.value"))
        raw_output = _json_value(_one(data, "output.value"))
        if not messages:
            record.input = raw_input
        if not outputs:
            record.llm_response = raw_output
        _first(pop, "input.mime_type", "output.mime_type")
        invocation = _json_value(_one(data, "llm.invocation_parameters"))
        if isinstance(invocation, dict):
            metadata.update({k: v for k, v in invocation.items() if k != "tools"})
        metadata.setdefault("provider", _first(pop, "llm.provider", "llm.system"))
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


def _fill_tool(record: ToolRecord, data: dict[str, Any], span_name: str) -> None:
    pop = data.pop
    name = _first(pop, "gen_ai.tool.name", "tool.name")
    if name is None and span_name.startswith("execute_tool "):
        name = span_name.removeprefix("execute_tool ")
    record.tool_name = str(name or span_name)
    call_id = _first3(pop, "gen_ai.tool.call.id", "tool_call.id", "tool.id")
    record.tool_call_id = None if call_id is None else str(call_id)
    pop("gen_ai.tool.type", None)
    arguments = _first3(pop, "gen_ai.tool.call.arguments", "input.value", "tool.parameters")
    record.input_params = parse_arguments(arguments)
    record.output = _json_value(_first(pop, "gen_ai.tool.call.result", "output.value"))
    if data:
        for key in ("tool.description", "input.mime_type", "output.mime_type"):
            pop(key, None)


def _fill_step(record: StepRecord, data: dict[str, Any], kind: str | None) -> None:
    pop = data.pop
    inputs = _json_value(_first(pop, "myagent.step.inputs", "input.value"))
    output = _json_value(_first(pop, "myagent.step.output", "output.value"))
    for key in ("input.mime_type", "output.mime_type"):
        pop(key, None)
    if kind == "RETRIEVER":
        output = _take_list(data, "retrieval.documents") or output
    elif kind == "RERANKER":
        inputs = _take_list(data, "reranker.input_documents") or inputs
        output = _take_list(data, "reranker.output_documents") or output
    elif kind == "EMBEDDING":
        output = _take_list(data, "embedding.embeddings") or output
    record.inputs, record.output = inputs, output


def _trace_fields(data: dict[str, Any], span: Span, failed: bool, ours: bool) -> dict[str, Any]:
    """What a root span says about the trace: name, status, error, input, output..."""
    fields: dict[str, Any] = {}
    if ours:
        fields["name"] = _one(data, "myagent.trace.name")
        fields["status"] = _one(data, "myagent.trace.status")
        pop = data.pop
        for key in _OUR_ROOT_TOTALS:  # the trace's totals: recomputed from its records
            pop(key, None)
        tags = _one(data, "myagent.tags")
        fields["tags"] = list(tags) if isinstance(tags, list) else []
        inputs = _messages(_one(data, "gen_ai.input.messages"))
        outputs = _messages(_one(data, "gen_ai.output.messages"))
        fields["input"] = _single_text(inputs)
        fields["output"] = _single_text(outputs)
    else:
        fields["input"] = _json_value(_one(data, "input.value"))
        fields["output"] = _json_value(_one(data, "output.value"))
        tags = _one(data, "tag.tags")
        fields["tags"] = [str(t) for t in tags] if isinstance(tags, list) else []
        meta = _json_value(_one(data, "metadata"))
        if isinstance(meta, dict):
            fields["metadata"] = dict(meta)
    if failed:
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
    data = attributes_of(span.attributes, _DROPPED)
    pop = data.pop
    our_root = "myagent.trace.status" in data
    ours = our_root or "myagent.run_type" in data
    operation = pop("gen_ai.operation.name", None)
    oi_kind = pop("openinference.span.kind", None)
    oi_kind = str(oi_kind).upper() if oi_kind else None
    run_type = pop("myagent.run_type", None)
    span_name = span.name
    start_ns = span.start_time_unix_nano
    failed = span.status.code == _STATUS_ERROR
    is_agent = operation in AGENT_OPERATIONS or oi_kind == "AGENT"
    if run_type not in RECORD_TYPES:
        if operation in THINK_OPERATIONS or oi_kind == "LLM":
            run_type = "think"
        elif operation == "execute_tool" or oi_kind == "TOOL":
            run_type = "tool"
        else:
            run_type = "step"
    cls = RECORD_TYPES[str(run_type)]
    run_id = span_id.hex()
    parent_id = parent.hex() or None
    record = cls(
        name=str(pop("myagent.run.name", None) or span_name),
        run_id=run_id,
        trace_id=trace_id.hex(),
        parent_id=parent_id,
        start_us=start_ns // 1000,
        end_us=max(span.end_time_unix_nano, start_ns) // 1000,
    )
    if isinstance(record, ThinkRecord):
        _fill_think(record, data, oi_kind == "LLM")
    elif isinstance(record, ToolRecord):
        _fill_tool(record, data, span_name)
    elif isinstance(record, StepRecord):
        _fill_step(record, data, oi_kind)
    # Our own spans have usually given every attribute to the record by now.
    agent = _first(pop, "gen_ai.agent.name", "agent.name") if data else None
    trace_fields: dict[str, Any] = {"agent_name": agent if is_agent else None}
    if is_agent and agent is None:  # named after its span: an agent span's own name wins
        agent = span_name.removeprefix("invoke_agent ").removeprefix("create_agent ")
        trace_fields["agent_hint"] = agent
    session = _first(pop, "gen_ai.conversation.id", "session.id") if data else None
    if session is not None:
        trace_fields["session_id"] = str(session)
    is_root = parent_id is None
    is_trace = is_root and (is_agent or our_root)
    if is_root:
        trace_fields.update(_trace_fields(data, span, failed, ours))
        if is_trace and not ours:
            name = span_name.removeprefix("invoke_agent ").removeprefix("create_agent ")
            trace_fields["name"] = agent if name in AGENT_OPERATIONS else name
    if failed:
        record.success = False
        record.error = span.status.message or None
    events = span.events
    logs, kept = _events(events[:], record) if events else ([], _NO_EVENTS)
    if failed:
        record.error_type = record.error_type or _one(data, "error.type")
        record.error = record.error or record.error_type or "error"
    elif ours and data:
        pop("error.type", None)
    metadata = record.metadata
    extra = _take_prefix(data, "myagent.metadata.")
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
        if data:
            metadata["otel.attributes"] = data
        if kept:
            metadata["otel.events"] = kept
        links = span.links
        if links:
            metadata["otel.links"] = [
                {"trace_id": link.trace_id.hex(), "span_id": link.span_id.hex()}
                for link in links[:]  # a list: see attributes.SEQUENCE_NOTE
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
        record.trace_id,
        run_id,
        parent_id,
        record,
        is_trace,
        trace_fields,
        logs,
        service,
        scope,
    )
