"""Finished traces as bytes for the writer process, and back: one `marshal` call per batch.

In the common case the traced program's process pays one `attrgetter` call per trace,
record and log entry, and one `marshal.dumps` over the batch (both C). `marshal`
writes only values of the built-in types themselves (no subclass, no other object:
it refuses them) and keeps everything it writes exactly: NaN stays NaN, a tuple a
tuple, a set a set, an int key an int key. So the child rebuilds traces holding the
same values, and its redaction and storage do what they would have done here. A trace
holding anything else (a datetime, a pydantic model, a str subclass...) goes as
`to_dict` data instead, whose values are converted as storage converts them. Both
ends run the same interpreter (`sys.executable`), so the format always matches.
"""

from __future__ import annotations

import dataclasses
import marshal
import operator
from collections.abc import Callable, Sequence
from typing import Any

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
_KINDS: tuple[type[Any], ...] = (LogEntry, *_RECORDS)
_FIELDS: dict[type[Any], tuple[str, ...]] = {
    cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in _KINDS
}
_GETTERS: dict[type[Any], Callable[[Any], tuple[Any, ...]]] = {
    cls: operator.attrgetter(*names) for cls, names in _FIELDS.items()
}
_BY_LENGTH = {len(_FIELDS[cls]): cls for cls in _RECORDS}
"""A record's kind from its tuple's length (the kinds' field counts differ)."""
assert len(_BY_LENGTH) == len(_RECORDS)
_TRACE_FIELDS = tuple(
    f.name for f in dataclasses.fields(Trace) if f.name not in ("status", "runs", "logs")
)
_trace_values = operator.attrgetter(*_TRACE_FIELDS)
_log_values = _GETTERS[LogEntry]
_STATUSES = {s.value: s for s in TraceStatus}


def encode(traces: Sequence[Trace]) -> bytes | None:
    """The batch as one `marshal` payload of field-value tuples, or None when a trace
    holds a value `marshal` refuses (then build it with `item` and `pack`)."""
    try:
        return marshal.dumps([_values(trace) for trace in traces])
    except (ValueError, KeyError):
        return None


def item(trace: Trace) -> Any:
    """One trace's part of a payload: its field values, or its `to_dict` data when
    `marshal` refuses one of them (this runs the program's `__repr__`, `model_dump`...
    like storage's conversion does, and may raise as it does)."""
    if type(trace) is Trace:
        values = _values(trace)
        try:
            marshal.dumps(values)
        except (ValueError, KeyError):
            pass
        else:
            return values
    return trace.to_dict()


def pack(items: list[Any]) -> bytes:
    """The payload of `item`s."""
    return marshal.dumps(items)


def _values(trace: Trace, getters: Any = _GETTERS) -> tuple[Any, ...]:
    """The trace's fields, its status as text, and its records' and logs' fields."""
    return (
        _trace_values(trace),
        str(trace.status),
        [getters[type(run)](run) for run in trace.runs],
        [_log_values(log) for log in trace.logs] if trace.logs else [],
    )


def decode(data: bytes) -> list[Trace]:
    """The traces `encode` wrote."""
    items = marshal.loads(data)
    return [
        Trace.from_dict(item, share_io=False) if type(item) is dict else _rebuild(item)
        for item in items
    ]


def _rebuild(item: tuple[Any, ...]) -> Trace:
    fields, status, runs, logs = item
    trace = Trace(**dict(zip(_TRACE_FIELDS, fields, strict=True)))
    trace.status = _STATUSES.get(status, status)
    trace.runs = [_record(run) for run in runs]
    trace.logs = [LogEntry(**dict(zip(_FIELDS[LogEntry], log, strict=True))) for log in logs]
    return trace


def _record(values: tuple[Any, ...]) -> RunRecord:
    cls = _BY_LENGTH[len(values)]
    return cls(**dict(zip(_FIELDS[cls], values, strict=True)))
