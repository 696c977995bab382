"""Trace → PostgreSQL rows: roll-up columns, record rows and search words, in one pass.

The roll-ups are the ones `TraceSummary.from_trace` computes (and SQLite stores), so
lists and dashboards read them without touching records. Rows are built once and
encoded either for binary COPY (`copy_*` helpers) or as statement parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from myagent.trace.records import ThinkRecord, ToolRecord, Trace, TraceStatus
from myagent.trace.serialize import to_jsonable
from myagent.trace.storage.memory import search_body, search_words
from myagent.trace.storage.postgres_sql import clean_text, jsonb_bytes, lexemes, tsvector_bytes
from myagent.trace.summary import preview

TRACE_COLUMNS = (
    "trace_id",
    "name",
    "agent_name",
    "session_id",
    "status",
    "start_us",
    "end_us",
    "duration",
    "has_errors",
    "error_count",
    "run_count",
    "think_count",
    "tool_count",
    "tokens_used",
    "cost_usd",
    "input_preview",
    "output_preview",
    "error",
    "tags",
    "metadata",
    "tools",
    "models",
    "metadata_json",
    "search",
    "updated_us",
    "data",
)
# Binary COPY sends each field in its type's wire format; JSONB and tsvector fields are
# encoded here (postgres_sql) and sent as raw bytes, which COPY hands to the column type.
TRACE_COPY_TYPES = (
    *["text"] * 5,
    "int8",
    "int8",
    "float8",
    "bool",
    *["int4"] * 4,
    "int8",
    "numeric",
    *["text"] * 3,
    *["bytea"] * 6,
    "int8",
    "bytea",
)
RUN_COLUMNS = (
    "trace_id",
    "run_id",
    "ord",
    "parent_id",
    "run_type",
    "name",
    "tool_name",
    "model",
    "start_us",
    "end_us",
    "duration",
    "success",
    "error_type",
    "error",
    "tokens_used",
    "cost_usd",
    "data",
    "trace_agent",
)
RUN_COPY_TYPES = (
    "text",
    "text",
    "int4",
    *["text"] * 5,
    "int8",
    "int8",
    "float8",
    "bool",
    "text",
    "text",
    "int8",
    "numeric",
    "bytea",
    "text",
)

_JSON_SLOTS = tuple(
    TRACE_COLUMNS.index(c) for c in ("tags", "metadata", "tools", "models", "metadata_json")
)
_SEARCH_SLOT = TRACE_COLUMNS.index("search")
STAMP_SLOT = TRACE_COLUMNS.index("updated_us")
"""Where the change stamp goes in a trace row (set under the clock lock, last)."""


def _text(value: Any) -> str | None:
    """A text column value: strings without NULs; other JSON values as JSON text."""
    if value is None:
        return None
    return clean_text(value if isinstance(value, str) else orjson.dumps(value).decode())


def _exact(value: Any) -> Decimal | None:
    """A cost as the exact decimal value of its float (for a NUMERIC column)."""
    return None if value is None else Decimal(float(value))


@dataclass(slots=True)
class TraceRows:
    """One trace as rows: the traces row (JSON columns as JSON bytes, search as words,
    stamp unset) and its record rows."""

    trace_id: str
    trace: list[Any]
    runs: list[tuple[Any, ...]]


def build_rows(trace: Trace) -> TraceRows:
    """The rows of one trace (record rows deduplicated by run id, last one kept)."""
    data = trace.to_dict(include_runs=False)
    runs: dict[str, tuple[Any, ...]] = {}
    tools: list[str] = []
    models: list[str] = []
    think_count = tool_count = failed = tokens = 0
    cost = 0.0
    has_cost = False
    records = list(trace.runs)
    agent = _text(data["agent_name"])  # each record row carries its trace's agent
    for ord_, run in enumerate(records):
        tool_name = model = error = None
        run_tokens = 0
        run_cost = None
        if isinstance(run, ThinkRecord):
            think_count += 1
            model = run.model
            run_tokens = run.tokens_used or 0
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
            error = to_jsonable(run.error)  # the message error analysis groups by
        runs[run.run_id] = (
            trace.trace_id,
            run.run_id,
            ord_,
            run.parent_id,
            run.run_type,
            _text(to_jsonable(run.name)),
            _text(tool_name),
            _text(model),
            run.start_us,
            run.end_us,
            run.duration,
            bool(run.success),
            _text(run.error_type),
            _text(error),
            run_tokens,
            _exact(run_cost),
            run.to_json(),  # compact: derived values and defaults left out
            agent,
        )
    error_count = failed + (1 if (trace.status == TraceStatus.ERROR or trace.error) else 0)
    words = search_words(search_body(trace))  # the words the other backends index
    metadata = data["metadata"]
    nested = {
        k: orjson.dumps(v).decode() for k, v in metadata.items() if isinstance(v, dict | list)
    }
    row = [
        trace.trace_id,
        _text(data["name"]),
        agent,
        _text(data["session_id"]),
        data["status"],
        trace.start_us,
        trace.end_us,
        data["total_duration"],
        error_count > 0,
        error_count,
        len(records),
        think_count,
        tool_count,
        tokens,
        _exact(cost) if has_cost else None,
        clean_text(preview(data["input"])),
        clean_text(preview(data["output"])),
        _text(data["error"]),
        data["tags"],
        metadata,
        tools,
        models,
        nested,
        words,
        None,
        trace.to_json(data),  # compact, records left out
    ]
    return TraceRows(trace.trace_id, row, list(runs.values()))


def latest(traces: Sequence[Trace]) -> list[Trace]:
    """`traces` with repeats of a trace id removed (the last one wins), order kept."""
    by_id = {t.trace_id: t for t in traces}
    return list(by_id.values()) if len(by_id) != len(traces) else list(traces)


def copy_trace_row(rows: TraceRows) -> list[Any]:
    """The traces row for binary COPY: JSON columns in JSONB wire format, search as a
    binary tsvector (the change stamp still unset)."""
    row = list(rows.trace)
    for slot in _JSON_SLOTS:
        row[slot] = jsonb_bytes(row[slot])
    row[_SEARCH_SLOT] = tsvector_bytes(row[_SEARCH_SLOT])
    return row


def param_trace_row(rows: TraceRows) -> list[Any]:
    """The traces row as statement parameters (JSON as text for `::jsonb`, search words
    as a text array for `array_to_tsvector`; the change stamp still unset)."""
    row = list(rows.trace)
    for slot in _JSON_SLOTS:
        row[slot] = jsonb_bytes(row[slot])[1:].decode()
    row[_SEARCH_SLOT] = [lexeme.decode() for lexeme in lexemes(row[_SEARCH_SLOT])]
    return row
