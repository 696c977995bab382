"""SQLite rows of a trace: the `traces` row with its roll-ups, one `runs` row a record
(its columns, and its JSON less what they hold) and the full-text body; and a record's
data read back from its row. Plain data in, tuples out: `SQLiteTraceStorage` writes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from myagent.trace.record_json import COLUMN_FIELDS, columns_json, plain_trace_json
from myagent.trace.records import ThinkRecord, ToolRecord, Trace, TraceStatus
from myagent.trace.serialize import to_jsonable
from myagent.trace.summary import PREVIEW_CHARS, preview

RUN_KEYS = ("trace_id", *COLUMN_FIELDS)
RUN_READ = ", ".join(f"r.{key}" for key in RUN_KEYS) + ", r.data"
"""A record's columns and data, as `run_data` reads them (`r` is the runs table)."""


def run_data(row: Sequence[Any]) -> dict[str, Any]:
    """A record's stored data with the values its columns hold added where left out
    (`columns_json`); rows written before data left them out have every key already."""
    data: dict[str, Any] = orjson.loads(row[-1])
    for key, value in zip(RUN_KEYS, row, strict=False):
        if value is not None and key not in data:
            data[key] = value
    return data


def _trace_fields(trace: Trace) -> tuple[dict[str, Any], bytes]:
    """The trace's JSON-ready field values the row's columns take, and its stored JSON:
    straight from the trace when its values are plain JSON already (one C call encodes
    and checks them), else through `to_dict`, which converts them."""
    encoded = plain_trace_json(trace)
    if encoded is not None:
        data = {
            "name": trace.name,
            "agent_name": trace.agent_name,
            "session_id": trace.session_id,
            "status": str(trace.status),
            "input": trace.input,
            "output": trace.output,
            "error": trace.error,
            "tags": trace.tags,
            "metadata": trace.metadata,
        }
        return data, encoded
    data = trace.to_dict(include_runs=False)
    return data, trace.to_json(data)


def trace_row(trace: Trace) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], str]:
    """The traces row, the runs rows and the full-text body for one trace."""
    data, encoded = _trace_fields(trace)
    runs = trace.runs
    run_rows = []
    tools: list[str] = []
    models: list[str] = []
    think_count = tool_count = failed = tokens = 0
    cost = 0.0
    has_cost = False
    errors = []
    trace_id = trace.trace_id
    agent = data["agent_name"]  # each record row carries its trace's agent (`trace_agent`)
    for run in runs:
        name = run.name
        if type(name) is not str or len(name) > PREVIEW_CHARS or not name.isascii():
            name = to_jsonable(name)
        tool_name = model = None
        run_tokens = 0
        run_cost = None
        if isinstance(run, ThinkRecord):
            think_count += 1
            model = run.model
            run_tokens = run.tokens_used
            tokens += run_tokens
            run_cost = run.cost_usd
            if run_cost:
                cost += run_cost
                has_cost = True
            if model and model not in models:
                models.append(model)
        elif isinstance(run, ToolRecord):
            tool_count += 1
            tool_name = run.tool_name
            if tool_name not in tools:
                tools.append(tool_name)
        if not run.success:
            failed += 1
            error = to_jsonable(run.error)
            if error:
                errors.append(str(error))
        start, end = run.start_us, run.end_us
        run_rows.append(
            (
                trace_id,
                run.run_id,
                run.parent_id,
                run.run_type,
                name,
                tool_name,
                model,
                start,
                end,
                None if end is None else (end - start) / 1_000_000,  # run.duration
                1 if run.success else 0,
                run.error_type,
                run_tokens,
                run_cost,
                columns_json(run, trace_id),  # compact, and less what the columns hold
                agent,
            )
        )
    trace_failed = 1 if (trace.status == TraceStatus.ERROR or trace.error) else 0
    error_count = failed + trace_failed
    row = (
        trace.trace_id,
        data["name"],
        data["agent_name"],
        data["session_id"],
        data["status"],
        trace.start_us,
        trace.end_us,
        trace.total_duration,
        1 if error_count else 0,
        error_count,
        len(runs),
        think_count,
        tool_count,
        tokens,
        cost if has_cost else None,
        preview(data["input"]),
        preview(data["output"]),
        data["error"],
        orjson.dumps(data["tags"]).decode(),
        orjson.dumps(data["metadata"]).decode(),
        orjson.dumps(tools).decode(),
        orjson.dumps(models).decode(),
        encoded,
    )
    body_parts = [data["input"], data["output"], data["error"], *errors]
    body = "\n".join(p if isinstance(p, str) else orjson.dumps(p).decode() for p in body_parts if p)
    return row, run_rows, body
