"""Where a replay's trace comes from (a Trace, its JSON, an exported file, a storage) and
whether it can be replayed at all (a clear reason when not)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from myagent.trace.records import ThinkRecord, Trace, TraceStatus
from myagent.trace.storage.base import TraceStorage

TraceSource = Trace | dict[str, Any] | str | Path
"""A Trace, its `to_dict()` data, or the path of a JSON/JSONL trace file (viewer export,
`myagent export`, or a cassette written by the pytest plugin)."""

_INGESTED_MARKERS = ("otlp", "otel", "opentelemetry")


class NotReplayable(ValueError):
    """The trace lacks what a replay needs; the message says what and why."""


def read_traces(path: str | Path) -> list[Trace]:
    """Every trace in a JSON file (one trace, a list, or `{"traces": [...]}`) or JSONL file."""
    text = Path(path).read_text(encoding="utf-8").strip()
    if not text:
        return []
    items: list[Any]
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        items = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        if isinstance(data, list):
            items = data
        elif isinstance(data, dict) and isinstance(data.get("traces"), list):
            items = data["traces"]
        else:
            items = [data]
    return [Trace.from_dict(item) for item in items]


def write_traces(path: str | Path, traces: Sequence[Trace]) -> Path:
    """Write traces as the viewer's JSON export does (a file `read_traces` and the viewer's
    import both accept)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(traces_json(traces), encoding="utf-8")
    return target


def traces_json(traces: Sequence[Trace]) -> str:
    """Traces in the viewer's JSON export format (`{"format": "myagent-traces", ...}`)."""
    data = {"format": "myagent-traces", "version": 1, "traces": [t.to_dict() for t in traces]}
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def load_trace(source: TraceSource, trace_id: str | None = None) -> Trace:
    """One trace from `source`; a file holding several needs `trace_id` (or holds one)."""
    if isinstance(source, Trace):
        return source
    if isinstance(source, dict):
        traces = [Trace.from_dict(t) for t in source["traces"]] if "traces" in source else []
        if not traces:
            return Trace.from_dict(source)
    else:
        traces = read_traces(source)
    if trace_id is not None:
        for trace in traces:
            if trace.trace_id == trace_id:
                return trace
        raise LookupError(
            f"no trace {trace_id!r} in {source if not isinstance(source, dict) else 'the data'}"
        )
    if len(traces) != 1:
        raise ValueError(
            f"{source} holds {len(traces)} traces; pass trace_id= or use replay_file()"
        )
    return traces[0]


async def fetch_trace(storage: TraceStorage, trace_id: str) -> Trace:
    """A stored trace by id; LookupError when there is none."""
    trace = await storage.get_trace(trace_id)
    if trace is None:
        raise LookupError(f"no trace {trace_id!r} in the storage")
    return trace


def _origin(trace: Trace) -> str:
    """Where a trace came from, for refusal messages: OTLP ingest marks its records'
    metadata with `otel.*` keys (span kind, attributes, events)."""
    source = str(trace.metadata.get("source") or "")
    ingested = any(marker in source.lower() for marker in _INGESTED_MARKERS) or any(
        key.startswith("otel.") for key in trace.metadata
    )
    if ingested or any(k.startswith("otel.") for r in trace.runs for k in r.metadata):
        service = trace.metadata.get("service.name")
        named = f" ({service})" if isinstance(service, str) and service else ""
        return f"an agent traced elsewhere{named} and ingested over OTLP"
    return ""


def check_replayable(trace: Trace) -> None:
    """Raise NotReplayable, naming the reason, unless the trace holds a finished agent run
    whose every LLM call has its prompt messages and its answer recorded."""
    origin = _origin(trace)
    where = f" (it was written by {origin})" if origin else ""
    if trace.status == TraceStatus.RUNNING or trace.end_us is None:
        raise NotReplayable(f"trace {trace.trace_id} is still running; replay a finished run")
    thinks = trace.think_records
    if not thinks:
        kinds = sorted({r.run_type for r in trace.runs}) or ["none"]
        raise NotReplayable(
            f"trace {trace.trace_id} recorded no LLM calls (record kinds: {', '.join(kinds)}) - "
            f"it was written by custom trace points (start_trace/add_step/@trace_run) or another "
            f"kind of agent{where}, so there is no model conversation to replay"
        )
    for index, think in enumerate(thinks, 1):
        problem = _think_problem(think)
        if problem:
            raise NotReplayable(
                f"trace {trace.trace_id}: LLM call {index} ({think.run_id}) {problem}{where}; "
                "a replay needs the full prompt and answer of every call"
            )
    if recorded_input(trace) is None:
        raise NotReplayable(f"trace {trace.trace_id} has no recorded input text{where}")


def _think_problem(think: ThinkRecord) -> str:
    """What a think record lacks for replay, or ''."""
    if not isinstance(think.messages, list) or not think.messages:
        return "has no recorded prompt messages"
    if not all(isinstance(m, dict) and "role" in m for m in think.messages):
        return "has prompt messages that are not OpenAI-format chat messages"
    if not isinstance(think.tool_calls, list):
        return "has tool calls that are not a list"
    for call in think.tool_calls:
        if not isinstance(call, dict) or not {"name", "arguments"} <= call.keys():
            return "has tool calls without name and arguments"
    if think.success and think.llm_response is None and not think.tool_calls:
        return "has neither an answer nor tool calls recorded"
    return ""


def recorded_input(trace: Trace) -> str | None:
    """The text the agent was asked: the trace's input, else the first LLM call's."""
    for value in (trace.input, *(t.input for t in trace.think_records[:1])):
        if isinstance(value, str) and value.strip():
            return value
    return None
