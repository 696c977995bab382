"""Read trace files (JSON or JSONL, as exported) with bounded memory, validated like live traces.

A trace file is checked before anything is stored: every trace and record has a valid
id, records a known run type, lists and mappings where the data model has them, and
integers within 64 bits; anything else is an `ImportFault` naming the trace and field.
JSONL is read one line (one trace) at a time, so memory is bounded by the largest trace,
not the file; a JSON document (a list, or `{"traces": [...]}`) is parsed whole and so has
a smaller size limit. Files nested deeper than the JSON parser allows are refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Annotated, Any, Literal, NamedTuple

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError

from myagent.trace.records import Trace
from myagent.trace.scores import MAX_LABEL, NAME_PATTERN, Score

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$"
"""Trace and record ids: what the viewer's routes accept."""
MAX_JSON_BYTES = 32 * 1024 * 1024
"""A JSON document is parsed whole: larger trace files must be JSONL."""
MAX_TRACE_BYTES = 64 * 1024 * 1024
"""The longest JSONL line (one trace) read."""

_Int64 = Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]
_Count = Annotated[StrictInt, Field(ge=0, le=2**63 - 1)]
_Id = Annotated[str, Field(pattern=ID_PATTERN)]
_Time = str | _Int64 | None


class ImportFault(Exception):
    """A trace file that cannot be imported; `status` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class _LogIn(_Shape):
    level: str = "INFO"
    message: str = ""
    timestamp: _Time = None
    run_id: _Id | None = None


class _RunIn(_Shape):
    run_id: _Id
    run_type: Literal["think", "tool", "step"]
    trace_id: str | None = None
    parent_id: _Id | None = None
    name: str | None = None
    start_time: _Time = None
    end_time: _Time = None
    start_us: _Int64 | None = None
    end_us: _Int64 | None = None
    duration: float | int | None = None
    success: StrictBool = True
    error: str | None = None
    error_type: str | None = None
    stacktrace: str | None = None
    metadata: dict[str, Any] | None = None
    agent_name: str | None = None
    model: str | None = None
    tool_name: str | None = None
    tool_call_id: str | None = None
    system_prompts: list[Any] | None = None
    messages: list[Any] | None = None
    tool_calls: list[Any] | None = None
    prompt_tokens: _Count = 0
    completion_tokens: _Count = 0
    tokens_used: _Count = 0
    cost_usd: float | int | None = None


class _TraceIn(_Shape):
    trace_id: _Id
    name: str | None = None
    agent_name: str | None = None
    session_id: str | None = None
    status: Literal["running", "success", "error", "cancelled"] = "success"
    start_time: _Time = None
    end_time: _Time = None
    start_us: _Int64 | None = None
    end_us: _Int64 | None = None
    error: str | None = None
    metadata: dict[str, Any] | None = None
    tags: list[str] | None = None
    runs: list[_RunIn] = []
    logs: list[_LogIn] = []


class ImportedTrace(NamedTuple):
    """One trace of a file and the scores exported with it (`"scores"`, see eval)."""

    trace: Trace
    scores: list[Score]


class _ScoreIn(_Shape):
    trace_id: str
    name: Annotated[str, Field(pattern=NAME_PATTERN.pattern)]
    data_type: Literal["numeric", "boolean", "categorical", "error"] = "numeric"
    value: Annotated[float, Field(allow_inf_nan=False)] | StrictInt | None = None
    label: Annotated[str, Field(max_length=MAX_LABEL)] | None = None
    run_id: _Id | None = None
    comment: str | None = None
    source: Literal["human", "api", "eval"] = "api"
    author: str | None = None
    error: str | None = None
    metadata: dict[str, Any] | None = None
    score_id: _Id | None = None
    created_us: _Int64 | None = None


def _scores(data: dict[str, Any], where: str) -> list[Score]:
    raw = data.get("scores") or []
    if not isinstance(raw, list):
        raise ImportFault(f"{where}: scores: a list of scores")
    for number, item in enumerate(raw):
        try:
            _ScoreIn.model_validate(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"])
            raise ImportFault(f"{where}: scores.{number}.{field}: {first['msg']}") from None
    scores = [Score.from_dict({k: v for k, v in item.items() if v is not None}) for item in raw]
    trace_id = data.get("trace_id")
    return [score for score in scores if score.trace_id == trace_id]


def _imported(data: Any, where: str) -> ImportedTrace:
    trace = validate(data, where)
    return ImportedTrace(trace, _scores(data, where))


def validate(data: Any, where: str) -> Trace:
    """A `Trace` from one exported trace's data, or `ImportFault` saying what is wrong."""
    if not isinstance(data, dict):
        raise ImportFault(f"{where}: a trace must be a JSON object, not {type(data).__name__}")
    try:
        _TraceIn.model_validate(data)
        trace = Trace.from_dict(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise ImportFault(f"{where}: {field}: {first['msg']}") from None
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ImportFault(f"{where}: {type(exc).__name__}: {exc}") from None
    for run in trace.runs:  # a record belongs to the trace it is imported with
        run.trace_id = trace.trace_id
    return trace


def _loads(data: bytes, where: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        # orjson refuses nesting past 1024 levels: a 10,000-deep file ends up here
        raise ImportFault(f"{where}: not valid JSON ({exc})") from None


def _is_jsonl(file: IO[bytes]) -> bool:
    """JSONL when the first line is one whole JSON object (an export's first trace)."""
    file.seek(0)
    first = file.readline(MAX_TRACE_BYTES + 1).strip()
    file.seek(0)
    if not first.startswith(b"{"):
        return False
    try:
        data = orjson.loads(first)
    except orjson.JSONDecodeError:
        return False
    return isinstance(data, dict) and "trace_id" in data


def read_batches(file: IO[bytes], size: int, batch: int = 200) -> Iterator[list[ImportedTrace]]:
    """Validated traces of a trace file, `batch` at a time (the file must be seekable:
    callers check every batch before storing the first)."""
    if size == 0:
        return
    if _is_jsonl(file):
        yield from _jsonl_batches(file, batch)
        return
    if size > MAX_JSON_BYTES:
        raise ImportFault(
            f"a JSON document over {MAX_JSON_BYTES // (1024 * 1024)} MiB; "
            "send large imports as JSONL (one trace per line, as /api/export?format=jsonl)",
            413,
        )
    data = _loads(file.read(), "the file")
    if isinstance(data, dict):
        items = data.get("traces") if "traces" in data else [data]
        if not isinstance(items, list):
            raise ImportFault('"traces" must be a list of traces')
    elif isinstance(data, list):
        items = data
    else:
        raise ImportFault("a trace file is a JSON list, {'traces': [...]} or JSONL")
    for start in range(0, len(items), batch):
        chunk = items[start : start + batch]
        yield [_imported(item, f"trace {start + i + 1}") for i, item in enumerate(chunk)]


def _jsonl_batches(file: IO[bytes], batch: int) -> Iterator[list[ImportedTrace]]:
    out: list[ImportedTrace] = []
    number = 0
    while True:
        line = file.readline(MAX_TRACE_BYTES + 1)
        if not line:
            break
        number += 1
        if len(line) > MAX_TRACE_BYTES:
            raise ImportFault(
                f"line {number}: a trace over {MAX_TRACE_BYTES // (1024 * 1024)} MiB", 413
            )
        if not line.strip():
            continue
        out.append(_imported(_loads(line, f"line {number}"), f"line {number}"))
        if len(out) >= batch:
            yield out
            out = []
    if out:
        yield out
