"""Records as stored JSON: compact (derived values and defaults left out, times as
integer microseconds) and, for SQL backends, less what the row's own columns hold.

`records.py` holds the data model; this module holds how a record or trace becomes the
bytes a backend stores and how stored times read back. Its helpers take any record.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

import orjson

from myagent.trace.ids import datetime_to_us, us_to_datetime
from myagent.trace.serialize import dumps_plain


class EncodableRecord(Protocol):
    """The fields of a record this module encodes (records.py's classes have them; this
    module imports nothing of records.py)."""

    run_id: str
    trace_id: str
    run_type: str
    name: str
    parent_id: str | None
    start_us: int
    end_us: int | None
    success: bool
    error: str | None
    error_type: str | None
    stacktrace: str | None
    metadata: dict[str, Any]

    def to_dict(self) -> dict[str, Any]: ...


class EncodableTrace(Protocol):
    """The fields of a trace this module encodes (records.py's Trace has them)."""

    trace_id: str
    name: str
    agent_name: str | None
    session_id: str | None
    input: Any
    output: Any
    status: str
    error: str | None
    metadata: dict[str, Any]
    tags: list[str]
    logs: list[Any]
    start_us: int
    end_us: int | None


_last_second: tuple[int, str] = (0, "1970-01-01T00:00:00")


def iso_utc(us: int | None) -> str | None:
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


def parse_time(value: Any) -> int | None:
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


def compact_dict(data: dict[str, Any], cls: type, derived: tuple[str, ...]) -> dict[str, Any]:
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


def exact_times(data: dict[str, Any], start_us: int, end_us: int | None) -> dict[str, Any]:
    """Swap the ISO `start_time`/`end_time` for integer `start_us`/`end_us` (smaller, exact)."""
    data.pop("start_time", None)
    data.pop("end_time", None)
    data["start_us"] = start_us
    if end_us is not None:
        data["end_us"] = end_us
    return data


def stored_us(data: dict[str, Any], which: str) -> int | None:
    """`start`/`end` time in microseconds from stored (`*_us`) or `to_dict` (`*_time`) data."""
    us = data.get(f"{which}_us")
    if us is not None:
        return int(us)
    return parse_time(data.get(f"{which}_time"))


RUN_DERIVED = ("duration",)
TRACE_DERIVED = ("total_duration", "has_errors", "tokens_used", "cost_usd", "runs")


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


def columns_json(record: EncodableRecord, trace_id: str) -> bytes:
    """`record.to_json()` less the `COLUMN_FIELDS` whose value has the column's type, and
    less its trace id if it is `trace_id`: what a backend keeping those columns stores as
    the record's data (read back by adding the columns' values for the keys it lacks)."""
    cls = type(record)
    rest, rest_of, keep_none, columns_of, fitting = _COLUMN_SPECS.get(cls) or _column_spec(cls)
    # The common case: every column value has its column's type (or is a None the data
    # need not keep), so every one leaves the data and nothing is tested per key. The
    # types are compared all at once, against every combination that fits.
    if record.trace_id == trace_id and tuple(map(type, columns_of(record))) in fitting:
        encoded = dumps_plain(_with_outcome_and_kind({}, record, rest, rest_of, keep_none))
        if encoded is not None:
            return encoded
    return encode_record(record, COLUMN_FIELDS, trace_id)


def plain_trace_json(trace: EncodableTrace) -> bytes | None:
    """`trace.to_json()` in one C call when every value is already plain JSON (the common
    case: no logs, nothing to convert), else None (then use `to_json`). Same keys, same
    order, same bytes; it skips `to_dict`'s copy of every value and its derived fields."""
    if trace.logs or type(trace.metadata) is not dict or type(trace.tags) is not list:
        return None
    data: dict[str, Any] = {"trace_id": trace.trace_id, "name": trace.name}
    if trace.agent_name is not None:
        data["agent_name"] = trace.agent_name
    if trace.session_id is not None:
        data["session_id"] = trace.session_id
    if trace.input is not None:
        data["input"] = trace.input
    if trace.output is not None:
        data["output"] = trace.output
    data["status"] = str(trace.status)
    if trace.error is not None:
        data["error"] = trace.error
    if trace.metadata:
        data["metadata"] = trace.metadata
    if trace.tags:
        data["tags"] = trace.tags
    data["start_us"] = trace.start_us
    if trace.end_us is not None:
        data["end_us"] = trace.end_us
    return dumps_plain(data)


_ColumnSpec = tuple[
    tuple[str, ...],
    Callable[[Any], tuple[Any, ...]],
    frozenset[str],
    Callable[[Any], tuple[Any, ...]],
    frozenset[tuple[type, ...]],
]
_COLUMN_SPECS: dict[type, _ColumnSpec] = {}
_NONE = type(None)
_BASE_COLUMNS: tuple[tuple[str, tuple[type, ...]], ...] = (
    ("run_id", (str,)),
    ("run_type", (str,)),
    ("name", (str,)),
    ("start_us", (int,)),
    ("parent_id", (str, _NONE)),
    ("end_us", (int, _NONE)),
    ("error_type", (str, _NONE)),
)
"""The columns every record has, with the types a value may have to leave the data."""


def _getter(keys: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A function returning the values of attributes `keys` of an object, as a tuple."""
    if not keys:
        return lambda record: ()
    get = operator.attrgetter(*keys)
    return get if len(keys) > 1 else (lambda record: (get(record),))


def _column_spec(cls: type) -> _ColumnSpec:
    """For `columns_json`: the kind-specific fields kept in data and a getter of them,
    those kept when None, a getter of every column value (the common ones, then the
    kind's) and every combination of their types that lets all of them leave the data."""
    keys, _, keep_none = _JSON_SPECS.get(cls) or _json_spec(cls)
    rest = tuple(k for k in keys if k not in COLUMN_FIELDS)
    kind_columns = tuple(k for k in keys if k in COLUMN_FIELDS)
    allowed = [types for _, types in _BASE_COLUMNS] + [
        (COLUMN_FIELDS[k],) if k in keep_none else (COLUMN_FIELDS[k], _NONE) for k in kind_columns
    ]
    columns = tuple(name for name, _ in _BASE_COLUMNS) + kind_columns
    spec = (
        rest,
        _getter(rest),
        keep_none,
        _getter(columns),
        frozenset(itertools.product(*allowed)),
    )
    _COLUMN_SPECS[cls] = spec
    return spec


def _with_outcome_and_kind(
    data: dict[str, Any],
    record: EncodableRecord,
    keys: tuple[str, ...],
    values_of: Callable[[Any], tuple[Any, ...]],
    keep_none: frozenset[str],
) -> dict[str, Any]:
    """`data` plus the record's outcome fields that differ from their defaults, then its
    kind-specific `keys` (a None kept only for those in `keep_none`)."""
    if not record.success:
        data["success"] = False
    if record.error is not None:
        data["error"] = record.error
    if record.stacktrace is not None:
        data["stacktrace"] = record.stacktrace
    if record.metadata:
        data["metadata"] = record.metadata
    for key, value in zip(keys, values_of(record), strict=True):
        if value is not None or key in keep_none:
            data[key] = value
    return data


def encode_record(
    record: EncodableRecord, apart: dict[str, type] | None, trace_id: str | None = None
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
    if record.error_type is not None:
        data["error_type"] = record.error_type
    _with_outcome_and_kind(data, record, keys, values_of, keep_none)
    encoded = dumps_plain(data if apart is None else _without(data, apart, trace_id))
    if encoded is None:  # something needs converting: the slow, exact path
        compact = compact_dict(record.to_dict(), cls, RUN_DERIVED)
        exact = exact_times(compact, record.start_us, record.end_us)
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
