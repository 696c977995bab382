"""The trace data model: a flat trace holding think, tool and step records and log entries.

Records are light slotted dataclasses so the caller's path stays cheap: values are kept
as given and only turned into bounded JSON (`to_dict`) off the hot path, by the writer.
Times are integer microseconds since the epoch (`start_us`); `start_time` and friends
are tz-aware UTC datetimes derived from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

import orjson

from myagent.trace.ids import datetime_to_us, new_run_id, new_trace_id, now_us, us_to_datetime
from myagent.trace.legacy_names import LegacyRunNames, LegacyTraceNames
from myagent.trace.record_json import (
    TRACE_DERIVED,
    compact_dict,
    encode_record,
    exact_times,
    iso_utc,
    parse_time,
    stored_us,
)
from myagent.trace.serialize import to_jsonable, to_jsonable_all

_SLOTS: dict[type, tuple[str, ...]] = {}


def _slot_names(cls: type) -> tuple[str, ...]:
    """Every slot an instance of `cls` has, base classes first."""
    names: dict[str, None] = {}
    for klass in reversed(cls.__mro__):
        slots = klass.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__"):
                names[name] = None
    _SLOTS[cls] = found = tuple(names)
    return found


def _shallow_copy(obj: Any) -> Any:
    """`copy.copy` for our slotted dataclasses (records, traces), without its generic
    `__reduce_ex__` round trip (about 3x faster; the writer copies every trace)."""
    cls = type(obj)
    out = object.__new__(cls)
    for name in _SLOTS.get(cls) or _slot_names(cls):
        try:
            value = getattr(obj, name)
        except AttributeError:  # a slot never set stays unset
            continue
        setattr(out, name, value)
    extra = getattr(obj, "__dict__", None)  # a subclass without slots of its own
    if extra:
        out.__dict__.update(extra)
    return out


class RunType(StrEnum):
    """What a record describes: an LLM call (think), a tool call, or a step.

    The other members are the earlier API's run types; they are step records that keep
    their type (queryable with `RunFilter(run_types=[...])`).
    """

    THINK = "think"
    TOOL = "tool"
    STEP = "step"
    AGENT = "agent"
    ACT = "act"
    LLM = "llm"
    RETRIEVAL = "retrieval"
    PREPROCESSING = "preprocessing"
    POSTPROCESSING = "postprocessing"
    CHAIN = "chain"
    CUSTOM = "custom"


class TraceStatus(StrEnum):
    """Outcome of a trace as a whole."""

    RUNNING = "running"
    SUCCESS = "success"
    ERROR = "error"
    CANCELLED = "cancelled"


@dataclass(slots=True, kw_only=True, eq=False)
class RunRecord(LegacyRunNames):
    """Fields every record carries (and the earlier API's names for them)."""

    name: str = ""
    run_type: str = RunType.STEP.value
    run_id: str = field(default_factory=new_run_id)
    trace_id: str = ""
    parent_id: str | None = None
    start_us: int = field(default_factory=now_us)
    end_us: int | None = None
    success: bool = True
    error: str | None = None
    error_type: str | None = None
    stacktrace: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    _payload_fields: ClassVar[tuple[str, ...]] = ()
    _plain_fields: ClassVar[tuple[str, ...]] = ()
    _io_fields: ClassVar[tuple[str, str] | None] = None
    """The fields holding the record's input and output (None: it has neither)."""

    __copy__ = _shallow_copy

    @property
    def start_time(self) -> datetime:
        """When the record started (tz-aware UTC)."""
        return us_to_datetime(self.start_us)

    @start_time.setter
    def start_time(self, value: datetime) -> None:
        self.start_us = datetime_to_us(value)

    @property
    def end_time(self) -> datetime | None:
        """When the record ended (tz-aware UTC), or None while it runs."""
        return None if self.end_us is None else us_to_datetime(self.end_us)

    @end_time.setter
    def end_time(self, value: datetime | None) -> None:
        self.end_us = None if value is None else datetime_to_us(value)

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, or None while it runs."""
        return None if self.end_us is None else (self.end_us - self.start_us) / 1_000_000

    @property
    def finished(self) -> bool:
        """True once the record has an end time."""
        return self.end_us is not None

    def to_dict(self) -> dict[str, Any]:
        """Plain, bounded JSON data for this record."""
        payload = self._payload_fields
        name, error, stacktrace, metadata, *values = to_jsonable_all(
            [self.name, self.error, self.stacktrace, self.metadata]
            + [getattr(self, field) for field in payload]
        )
        data: dict[str, Any] = {
            "run_id": self.run_id,
            "trace_id": self.trace_id,
            "parent_id": self.parent_id,
            "run_type": self.run_type,
            "name": name,
            "start_time": iso_utc(self.start_us),
            "end_time": iso_utc(self.end_us),
            "duration": self.duration,
            "success": self.success,
            "error": error,
            "error_type": self.error_type,
            "stacktrace": stacktrace,
            "metadata": metadata,
        }
        for field_name in self._plain_fields:
            data[field_name] = getattr(self, field_name)
        data.update(zip(payload, values, strict=True))
        return data

    def to_json(self) -> bytes:
        """Compact JSON for storage: `to_dict()` less derived values and keys at their
        defaults, times as integer microseconds (`from_dict` rebuilds an equal record).
        One C call in the common case."""
        return encode_record(self, None)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> RunRecord:
        """Rebuild a record of the right kind from `to_dict` output."""
        cls = RECORD_TYPES.get(data.get("run_type", ""), StepRecord)
        record = cls(
            name=data.get("name") or "",
            run_type=data.get("run_type") or cls.run_type_default(),
            run_id=data["run_id"],
            trace_id=data.get("trace_id") or "",
            parent_id=data.get("parent_id"),
            start_us=stored_us(data, "start") or 0,
            end_us=stored_us(data, "end"),
            success=bool(data.get("success", True)),
            error=data.get("error"),
            error_type=data.get("error_type"),
            stacktrace=data.get("stacktrace"),
            metadata=data.get("metadata") or {},
        )
        for name in cls._plain_fields + cls._payload_fields:
            if name in data:
                setattr(record, name, data[name])
        return record

    @classmethod
    def run_type_default(cls) -> str:
        """The run_type a fresh record of this class gets."""
        return str(cls.__dataclass_fields__["run_type"].default)


@dataclass(slots=True, kw_only=True, eq=False)
class ThinkRecord(RunRecord):
    """One LLM call: the prompt sent, the response, the tools it chose, tokens and cost."""

    run_type: str = RunType.THINK.value
    agent_name: str | None = None
    input: Any = None
    system_prompts: list[str] = field(default_factory=list)
    messages: list[Any] = field(default_factory=list)
    llm_response: Any = None
    tool_calls: list[Any] = field(default_factory=list)
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens_used: int = 0
    cost_usd: float | None = None

    _plain_fields = (
        "agent_name",
        "model",
        "prompt_tokens",
        "completion_tokens",
        "tokens_used",
        "cost_usd",
    )
    _payload_fields = ("input", "system_prompts", "messages", "llm_response", "tool_calls")
    _io_fields = ("input", "llm_response")


@dataclass(slots=True, kw_only=True, eq=False)
class ToolRecord(RunRecord):
    """One tool execution; `parent_id` is the think record that chose it."""

    run_type: str = RunType.TOOL.value
    tool_name: str = ""
    tool_call_id: str | None = None
    input_params: Any = None
    output: Any = None

    _plain_fields = ("tool_name", "tool_call_id")
    _payload_fields = ("input_params", "output")
    _io_fields = ("input_params", "output")


@dataclass(slots=True, kw_only=True, eq=False)
class StepRecord(RunRecord):
    """A custom step: `add_step`, `@trace_run` functions and `manager.run(...)` blocks."""

    inputs: Any = None
    output: Any = None

    _payload_fields = ("inputs", "output")
    _io_fields = ("inputs", "output")


ON_TRACE = "on_trace"
"""Metadata key of a record whose input and/or output are its trace's (stored once there):
the list of "input"/"output" it shares."""


def share_io_with_trace(trace: Trace, record: RunRecord) -> None:
    """Keep a record's input and output once, on its trace, when they are the trace's own
    (a `@trace_run` function or `run(...)` block that opened its trace). `Trace.from_dict`
    gives them back to the record."""
    fields = record._io_fields
    if fields is None:
        return
    shared = [
        side
        for side, name, value in (
            ("input", fields[0], trace.input),
            ("output", fields[1], trace.output),
        )
        if value is not None and getattr(record, name) is value
    ]
    if shared:
        for side in shared:
            setattr(record, fields[0] if side == "input" else fields[1], None)
        record.metadata = {**record.metadata, ON_TRACE: shared}


def _take_io_from_trace(trace: Trace) -> None:
    """Give records that share their trace's input/output (`share_io_with_trace`) the values."""
    for record in trace.runs:
        shared = record.metadata.get(ON_TRACE) if record.metadata else None
        if shared and record._io_fields is not None:
            if "input" in shared:
                setattr(record, record._io_fields[0], trace.input)
            if "output" in shared:
                setattr(record, record._io_fields[1], trace.output)


RECORD_TYPES: dict[str, type[RunRecord]] = {
    RunType.THINK.value: ThinkRecord,
    RunType.TOOL.value: ToolRecord,
    RunType.STEP.value: StepRecord,
}


@dataclass(slots=True, kw_only=True, eq=False)
class LogEntry:
    """A log line attached to a trace (and to the record that was current, if any)."""

    level: str
    message: str
    timestamp_us: int = field(default_factory=now_us)
    run_id: str | None = None

    @property
    def timestamp(self) -> datetime:
        """When the line was logged (tz-aware UTC)."""
        return us_to_datetime(self.timestamp_us)

    def to_dict(self) -> dict[str, Any]:
        """Plain, bounded JSON data for this entry."""
        return {
            "level": self.level,
            "message": to_jsonable(self.message),
            "timestamp": iso_utc(self.timestamp_us),
            "run_id": self.run_id,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> LogEntry:
        """Rebuild an entry from `to_dict` output."""
        return LogEntry(
            level=data["level"],
            message=data["message"],
            timestamp_us=parse_time(data.get("timestamp")) or 0,
            run_id=data.get("run_id"),
        )


@dataclass(slots=True, kw_only=True, eq=False)
class Trace(LegacyTraceNames):
    """One agent run (or one `start_trace`): a flat list of records in start order.

    The earlier API's names (`id`, `request`, `response`, `duration_ms`, `total_tokens`,
    `total_cost`) read the same fields."""

    trace_id: str = field(default_factory=new_trace_id)
    name: str = ""
    agent_name: str | None = None
    session_id: str | None = None
    input: Any = None
    output: Any = None
    status: str = TraceStatus.RUNNING.value
    start_us: int = field(default_factory=now_us)
    end_us: int | None = None
    error: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)
    logs: list[LogEntry] = field(default_factory=list)

    __copy__ = _shallow_copy

    @property
    def start_time(self) -> datetime:
        """When the trace started (tz-aware UTC)."""
        return us_to_datetime(self.start_us)

    @start_time.setter
    def start_time(self, value: datetime) -> None:
        self.start_us = datetime_to_us(value)

    @property
    def end_time(self) -> datetime | None:
        """When the trace ended (tz-aware UTC), or None while it runs."""
        return None if self.end_us is None else us_to_datetime(self.end_us)

    @end_time.setter
    def end_time(self, value: datetime | None) -> None:
        self.end_us = None if value is None else datetime_to_us(value)

    @property
    def total_duration(self) -> float | None:
        """Seconds from start to end, or None while it runs."""
        return None if self.end_us is None else (self.end_us - self.start_us) / 1_000_000

    @property
    def duration(self) -> float | None:
        """Alias of `total_duration`."""
        return self.total_duration

    @property
    def think_records(self) -> list[ThinkRecord]:
        """The LLM calls, in start order."""
        return [r for r in self.runs if isinstance(r, ThinkRecord)]

    @property
    def tool_records(self) -> list[ToolRecord]:
        """The tool executions, in start order."""
        return [r for r in self.runs if isinstance(r, ToolRecord)]

    @property
    def error_count(self) -> int:
        """Failed records, plus one when the trace itself failed."""
        failed = sum(1 for r in self.runs if not r.success)
        return failed + (1 if self.status == TraceStatus.ERROR or self.error else 0)

    @property
    def has_errors(self) -> bool:
        """True when the trace or any of its records failed."""
        return self.error_count > 0

    @property
    def tokens_used(self) -> int:
        """Tokens over all LLM calls."""
        return sum(r.tokens_used for r in self.runs if isinstance(r, ThinkRecord))

    @property
    def cost_usd(self) -> float | None:
        """USD over all LLM calls whose price is known, or None when none is."""
        costs = [r.cost_usd for r in self.runs if isinstance(r, ThinkRecord) and r.cost_usd]
        return sum(costs) if costs else None

    def to_dict(self, include_runs: bool = True) -> dict[str, Any]:
        """Plain, bounded JSON data for this trace (records and logs included)."""
        name, agent_name, session_id, input_, output, error, metadata, tags = to_jsonable_all(
            [
                self.name,
                self.agent_name,
                self.session_id,
                self.input,
                self.output,
                self.error,
                self.metadata,
                self.tags,
            ]
        )
        data: dict[str, Any] = {
            "trace_id": self.trace_id,
            "name": name,
            "agent_name": agent_name,
            "session_id": session_id,
            "input": input_,
            "output": output,
            "status": str(self.status),
            "start_time": iso_utc(self.start_us),
            "end_time": iso_utc(self.end_us),
            "total_duration": self.total_duration,
            "has_errors": self.has_errors,
            "error": error,
            "tokens_used": self.tokens_used,
            "cost_usd": self.cost_usd,
            "metadata": metadata,
            "tags": tags,
            "logs": [log.to_dict() for log in self.logs],
        }
        if include_runs:
            data["runs"] = [run.to_dict() for run in self.runs]
        return data

    def to_json(self, data: dict[str, Any] | None = None) -> bytes:
        """Compact JSON for storage, records left out: `to_dict()` less derived values and
        keys at their defaults, times as integer microseconds. Pass
        `to_dict(include_runs=False)` output if already made."""
        full = self.to_dict(include_runs=False) if data is None else data
        compact = compact_dict(full, Trace, TRACE_DERIVED)
        return orjson.dumps(exact_times(compact, self.start_us, self.end_us))

    @staticmethod
    def from_dict(data: dict[str, Any], *, share_io: bool = True) -> Trace:
        """Rebuild a trace, its records and logs from `to_dict` output; `share_io=False`
        leaves the records without their trace's shared input and output (as storage
        keeps them)."""
        trace = Trace(
            trace_id=data["trace_id"],
            name=data.get("name") or "",
            agent_name=data.get("agent_name"),
            session_id=data.get("session_id"),
            input=data.get("input"),
            output=data.get("output"),
            status=data.get("status") or TraceStatus.RUNNING.value,
            start_us=stored_us(data, "start") or 0,
            end_us=stored_us(data, "end"),
            error=data.get("error"),
            metadata=data.get("metadata") or {},
            tags=list(data.get("tags") or []),
            runs=[RunRecord.from_dict(r) for r in data.get("runs") or []],
            logs=[LogEntry.from_dict(entry) for entry in data.get("logs") or []],
        )
        if share_io:
            _take_io_from_trace(trace)
        return trace
