"""The trace data model: a flat trace holding think, tool and step records and log entries.

Records are light slotted dataclasses so the caller's path stays cheap: values are kept
as given and only turned into bounded JSON (`to_dict`) off the hot path, by the writer.
Times are integer microseconds since the epoch (`start_us`); `start_time` and friends
are tz-aware UTC datetimes derived from them.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

import orjson

from myagent.trace.ids import datetime_to_us, new_run_id, new_trace_id, now_us, us_to_datetime
from myagent.trace.serialize import dumps_plain, to_jsonable, to_jsonable_all


class RunType(StrEnum):
    """What a record describes."""

    THINK = "think"
    TOOL = "tool"
    STEP = "step"


class TraceStatus(StrEnum):
    """Outcome of a trace as a whole."""

    RUNNING = "running"
    SUCCESS = "success"
    ERROR = "error"
    CANCELLED = "cancelled"


_last_second: tuple[int, str] = (0, "1970-01-01T00:00:00")


def _iso(us: int | None) -> str | None:
    """ISO 8601 UTC text, as `datetime.isoformat` writes it (the date part cached per second)."""
    global _last_second
    if us is None:
        return None
    seconds, micros = divmod(us, 1_000_000)
    cached = _last_second
    if cached[0] == seconds:
        prefix = cached[1]
    else:
        prefix = us_to_datetime(seconds * 1_000_000).isoformat()[:-6]
        _last_second = (seconds, prefix)
    return f"{prefix}.{micros:06d}+00:00" if micros else f"{prefix}+00:00"


def _parse_time(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return int(value * 1_000_000)
    if isinstance(value, datetime):
        return datetime_to_us(value)
    return datetime_to_us(datetime.fromisoformat(str(value).replace("Z", "+00:00")))


_NONE_DEFAULTS: dict[type, frozenset[str]] = {}


def _none_defaults(cls: type) -> frozenset[str]:
    """Fields of `cls` whose default is None: `from_dict` restores them when left out."""
    found = _NONE_DEFAULTS.get(cls)
    if found is None:
        fields = cls.__dataclass_fields__  # type: ignore[attr-defined]
        found = frozenset(name for name, f in fields.items() if f.default is None)
        _NONE_DEFAULTS[cls] = found
    return found


def _compact(data: dict[str, Any], cls: type, derived: tuple[str, ...]) -> dict[str, Any]:
    """`to_dict` output less derived values and keys `from_dict` restores by default."""
    none_default = _none_defaults(cls)
    out = {
        key: value
        for key, value in data.items()
        if key not in derived and not (value is None and key in none_default)
    }
    for key, default in (("success", True), ("metadata", {}), ("tags", []), ("logs", [])):
        if key in out and out[key] == default:
            del out[key]
    return out


_JsonSpec = tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]], frozenset[str]]
_JSON_SPECS: dict[type, _JsonSpec] = {}


def _json_spec(cls: type) -> _JsonSpec:
    """(kind-specific field names, a getter of all their values, those kept when None)."""
    keys = tuple(cls._plain_fields + cls._payload_fields)  # type: ignore[attr-defined]
    keep_none = frozenset(keys) - _none_defaults(cls)
    spec = (keys, _getter(keys), keep_none)
    _JSON_SPECS[cls] = spec
    return spec


def _exact_times(data: dict[str, Any], start_us: int, end_us: int | None) -> dict[str, Any]:
    """Swap the ISO `start_time`/`end_time` for integer `start_us`/`end_us` (smaller, exact)."""
    data.pop("start_time", None)
    data.pop("end_time", None)
    data["start_us"] = start_us
    if end_us is not None:
        data["end_us"] = end_us
    return data


def _stored_us(data: dict[str, Any], which: str) -> int | None:
    """`start`/`end` time in microseconds from stored (`*_us`) or `to_dict` (`*_time`) data."""
    us = data.get(f"{which}_us")
    if us is not None:
        return int(us)
    return _parse_time(data.get(f"{which}_time"))


_RUN_DERIVED = ("duration",)
_TRACE_DERIVED = ("total_duration", "has_errors", "tokens_used", "cost_usd", "runs")


@dataclass(slots=True, kw_only=True, eq=False)
class RunRecord:
    """Fields every record carries."""

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
            "start_time": _iso(self.start_us),
            "end_time": _iso(self.end_us),
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
        return _record_json(self, None)

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
            start_us=_stored_us(data, "start") or 0,
            end_us=_stored_us(data, "end"),
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


@dataclass(slots=True, kw_only=True, eq=False)
class StepRecord(RunRecord):
    """A custom step: `add_step`, `@trace_run` functions and `manager.run(...)` blocks."""

    inputs: Any = None
    output: Any = None

    _payload_fields = ("inputs", "output")


RECORD_TYPES: dict[str, type[RunRecord]] = {
    RunType.THINK.value: ThinkRecord,
    RunType.TOOL.value: ToolRecord,
    RunType.STEP.value: StepRecord,
}


COLUMN_FIELDS: dict[str, type] = {
    "run_id": str,
    "run_type": str,
    "name": str,
    "parent_id": str,
    "start_us": int,
    "end_us": int,
    "error_type": str,
    "tool_name": str,
    "model": str,
    "tokens_used": int,
    "cost_usd": float,
}
"""Record fields a SQL backend keeps in columns of their own (besides its trace's id),
with the one Python type a value must have to come back from its column unchanged."""


def columns_json(record: RunRecord, trace_id: str) -> bytes:
    """`record.to_json()` less the `COLUMN_FIELDS` whose value has the column's type, and
    less its trace id if it is `trace_id`: what a backend keeping those columns stores as
    the record's data (read back by adding the columns' values for the keys it lacks)."""
    cls = type(record)
    rest, rest_of, keep_none, kind_columns, kind_columns_of = _COLUMN_SPECS.get(
        cls
    ) or _column_spec(cls)
    if (
        type(record.run_id) is str
        and type(record.run_type) is str
        and type(record.name) is str
        and record.trace_id == trace_id
        and type(record.start_us) is int
        and (record.parent_id is None or type(record.parent_id) is str)
        and (record.end_us is None or type(record.end_us) is int)
        and (record.error_type is None or type(record.error_type) is str)
        and all(
            type(value) is kind or (value is None and not must_keep)
            for (kind, must_keep), value in zip(kind_columns, kind_columns_of(record), strict=True)
        )
    ):  # the common case: every column value leaves the data, nothing to test per key
        data: dict[str, Any] = {}
        if not record.success:
            data["success"] = False
        if record.error is not None:
            data["error"] = record.error
        if record.stacktrace is not None:
            data["stacktrace"] = record.stacktrace
        if record.metadata:
            data["metadata"] = record.metadata
        for key, value in zip(rest, rest_of(record), strict=True):
            if value is not None or key in keep_none:
                data[key] = value
        encoded = dumps_plain(data)
        if encoded is not None:
            return encoded
    return _record_json(record, COLUMN_FIELDS, trace_id)


_ColumnSpec = tuple[
    tuple[str, ...],
    Callable[[Any], tuple[Any, ...]],
    frozenset[str],
    tuple[tuple[type, bool], ...],
    Callable[[Any], tuple[Any, ...]],
]
_COLUMN_SPECS: dict[type, _ColumnSpec] = {}


def _getter(keys: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A function returning the values of attributes `keys` of an object, as a tuple."""
    if not keys:
        return lambda record: ()
    get = operator.attrgetter(*keys)
    return get if len(keys) > 1 else (lambda record: (get(record),))


def _column_spec(cls: type) -> _ColumnSpec:
    """For `columns_json`: the kind-specific fields kept in data and a getter of them,
    those kept when None, and the (type, kept-when-None) of the kind's column fields
    with their getter."""
    keys, _, keep_none = _JSON_SPECS.get(cls) or _json_spec(cls)
    rest = tuple(k for k in keys if k not in COLUMN_FIELDS)
    columns = tuple(k for k in keys if k in COLUMN_FIELDS)
    kinds = tuple((COLUMN_FIELDS[k], k in keep_none) for k in columns)
    spec = (rest, _getter(rest), keep_none, kinds, _getter(columns))
    _COLUMN_SPECS[cls] = spec
    return spec


def _record_json(
    record: RunRecord, apart: dict[str, type] | None, trace_id: str | None = None
) -> bytes:
    """Compact JSON of `record` (see `RunRecord.to_json`), less the `apart` fields whose
    value has the type given there and the trace id when it is `trace_id`."""
    cls = type(record)
    keys, values_of, keep_none = _JSON_SPECS.get(cls) or _json_spec(cls)
    data: dict[str, Any] = {
        "run_id": record.run_id,
        "trace_id": record.trace_id,
        "run_type": record.run_type,
        "name": record.name,
        "start_us": record.start_us,
    }
    if record.parent_id is not None:
        data["parent_id"] = record.parent_id
    if record.end_us is not None:
        data["end_us"] = record.end_us
    if not record.success:
        data["success"] = False
    if record.error is not None:
        data["error"] = record.error
    if record.error_type is not None:
        data["error_type"] = record.error_type
    if record.stacktrace is not None:
        data["stacktrace"] = record.stacktrace
    if record.metadata:
        data["metadata"] = record.metadata
    for key, value in zip(keys, values_of(record), strict=True):
        if value is not None or key in keep_none:
            data[key] = value
    encoded = dumps_plain(data if apart is None else _without(data, apart, trace_id))
    if encoded is None:  # something needs converting: the slow, exact path
        compact = _compact(record.to_dict(), cls, _RUN_DERIVED)
        exact = _exact_times(compact, record.start_us, record.end_us)
        encoded = orjson.dumps(exact if apart is None else _without(exact, apart, trace_id))
    return encoded


def _without(data: dict[str, Any], apart: dict[str, type], trace_id: str | None) -> dict[str, Any]:
    """`data` less the keys of `apart` whose value has exactly the type given there, and
    less "trace_id" when it is `trace_id`."""
    for key, kind in apart.items():
        if type(data.get(key)) is kind:
            del data[key]
    if trace_id is not None and data.get("trace_id") == trace_id:
        del data["trace_id"]
    return data


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
            "timestamp": _iso(self.timestamp_us),
            "run_id": self.run_id,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> LogEntry:
        """Rebuild an entry from `to_dict` output."""
        return LogEntry(
            level=data["level"],
            message=data["message"],
            timestamp_us=_parse_time(data.get("timestamp")) or 0,
            run_id=data.get("run_id"),
        )


@dataclass(slots=True, kw_only=True, eq=False)
class Trace:
    """One agent run (or one `start_trace`): a flat list of records in start order."""

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
            "start_time": _iso(self.start_us),
            "end_time": _iso(self.end_us),
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
        compact = _compact(full, Trace, _TRACE_DERIVED)
        return orjson.dumps(_exact_times(compact, self.start_us, self.end_us))

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Trace:
        """Rebuild a trace, its records and logs from `to_dict` output."""
        return Trace(
            trace_id=data["trace_id"],
            name=data.get("name") or "",
            agent_name=data.get("agent_name"),
            session_id=data.get("session_id"),
            input=data.get("input"),
            output=data.get("output"),
            status=data.get("status") or TraceStatus.RUNNING.value,
            start_us=_stored_us(data, "start") or 0,
            end_us=_stored_us(data, "end"),
            error=data.get("error"),
            metadata=data.get("metadata") or {},
            tags=list(data.get("tags") or []),
            runs=[RunRecord.from_dict(r) for r in data.get("runs") or []],
            logs=[LogEntry.from_dict(entry) for entry in data.get("logs") or []],
        )
