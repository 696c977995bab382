"""Finished traces as bytes for the writer process, and back: one orjson call per batch.

In the common case the traced program's process pays one C call for the whole batch:
each trace and record goes out as an array of its dataclass fields (`_Tally` hands
orjson a tuple from one `attrgetter` call; a record's kind is told by the array's
length) and the child rebuilds the same objects with the same values, so its redaction
and storage see what they would have seen here. Orjson is trusted only where it cannot
change a value: datetimes, subclasses of built-in types and other dataclasses are
refused, and JSON holding more nulls than its fields' Nones (a None or NaN inside a
value, or "null" inside a text) is not used. Such a trace goes as `to_dict` data,
whose values are converted exactly as storage converts them.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from myagent.trace.record_json import stored_us
from myagent.trace.records import (
    LogEntry,
    RunRecord,
    StepRecord,
    ThinkRecord,
    ToolRecord,
    Trace,
    TraceStatus,
)

_RECORDS: tuple[type[RunRecord], ...] = (ThinkRecord, ToolRecord, StepRecord, RunRecord)
_FIELDS = {
    cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in (Trace, LogEntry, *_RECORDS)
}
_GETTERS: dict[type[Any], Callable[[Any], tuple[Any, ...]]] = {
    cls: operator.attrgetter(*names) for cls, names in _FIELDS.items()
}
_BY_LENGTH = {len(_FIELDS[cls]): cls for cls in _RECORDS}
"""A record's kind from its array's length (the kinds' field counts differ)."""
assert len(_BY_LENGTH) == len(_RECORDS)
_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


class _Tally:
    """`default` of one orjson call: our dataclasses as tuples of their field values
    (anything else raises: the slow path), counting the Nones among them."""

    __slots__ = ("nones",)

    def __init__(self) -> None:
        self.nones = 0

    def __call__(self, obj: Any, getters: Any = _GETTERS) -> tuple[Any, ...]:
        values: tuple[Any, ...] = getters[type(obj)](obj)  # KeyError is a TypeError here
        self.nones += values.count(None)
        return values


def encode(traces: Sequence[Trace]) -> bytes:
    """A JSON array with one item per trace: a tagged field array (the common case) or,
    for a batch holding a value orjson might change, `to_dict` data per trace."""
    encoded = _fast(traces)
    if encoded is not None:
        return encoded
    items = (_fast(trace) or orjson.dumps(trace.to_dict()) for trace in traces)
    return b"[" + b",".join(items) + b"]"


def _fast(value: Any) -> bytes | None:
    """JSON of a trace or a list of them as tagged field arrays, or None when orjson
    could change a value (see the module's docstring)."""
    tally = _Tally()
    try:
        encoded = orjson.dumps(value, default=tally, option=_OPTIONS)
    except (TypeError, KeyError):
        return None
    return encoded if encoded.count(b"null") == tally.nones else None


def decode(data: bytes) -> list[Trace]:
    """The traces `encode` wrote."""
    items = orjson.loads(data)
    return [_rebuild(item) if type(item) is list else _from_dict(item) for item in items]


def _rebuild(item: list[Any]) -> Trace:
    values = dict(zip(_FIELDS[Trace], item, strict=True))
    values["runs"] = [_record(run) for run in values["runs"]]
    values["logs"] = [
        LogEntry(**dict(zip(_FIELDS[LogEntry], log, strict=True))) for log in values["logs"]
    ]
    if values["status"] in _STATUSES:
        values["status"] = TraceStatus(values["status"])
    return Trace(**values)


def _record(item: list[Any]) -> RunRecord:
    cls = _BY_LENGTH[len(item)]
    return cls(**dict(zip(_FIELDS[cls], item, strict=True)))


_STATUSES = frozenset(s.value for s in TraceStatus)


def _from_dict(data: dict[str, Any]) -> Trace:
    """`Trace.from_dict` without giving records their trace's shared input and output
    (storage keeps them shared, as in this process)."""
    return Trace(
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
