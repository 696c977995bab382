"""TraceFilter and RunFilter compiled to SQLite SQL, and the full-text search planner.

Kept apart from the storage class so the dialect lives in one place (PostgreSQL's twin
is `postgres_sql.py`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from myagent.trace.filters import RunFilter, TraceFilter
from myagent.trace.ids import datetime_to_us
from myagent.trace.serialize import to_jsonable
from myagent.trace.storage.memory import search_words


def fts_query(text: str) -> str:
    """A safe FTS5 query: every word must appear, matched as a word prefix."""
    return " ".join(f'"{word}"*' for word in search_words(text))


FTS_DIRECT_LIMIT = 1000
"""A search matching at most this many traces reads those rows directly; a commoner one
walks the query's order index and tests membership, stopping at the page's end."""

FTS_COMMON = 20_000
"""A page of a search matching more traces than this walks the list order a chunk of
`FTS_CHUNK` rows at a time, asking the search index only about each chunk's rowid range
(listing every match of a very common word costs more than the page)."""
FTS_CHUNK = 4000
FTS_MAX_CHUNKS = 8


def _text_clause(text: str, conn: sqlite3.Connection | None, params: list[Any]) -> str | None:
    """The full-text condition, planned by how many traces the words match (given `conn`)."""
    query = fts_query(text)
    if not query:
        return None
    if conn is not None:
        rowids = [
            r[0]
            for r in conn.execute(
                "SELECT rowid FROM traces_fts WHERE traces_fts MATCH ? LIMIT ?",
                (query, FTS_DIRECT_LIMIT + 1),
            )
        ]
        if len(rowids) <= FTS_DIRECT_LIMIT:
            params.append(orjson.dumps(rowids).decode())
            return "rowid IN (SELECT value FROM json_each(?))"
        params.append(query)
        # unary + keeps the planner from driving the query off this (large) list
        return "+rowid IN (SELECT rowid FROM traces_fts WHERE traces_fts MATCH ?)"
    params.append(query)
    return "rowid IN (SELECT rowid FROM traces_fts WHERE traces_fts MATCH ?)"


def _in(column: str, values: Sequence[Any], params: list[Any]) -> str:
    params.extend(values)
    return f"{column} IN ({', '.join('?' * len(values))})" if values else "0"


def trace_where(
    f: TraceFilter | None, conn: sqlite3.Connection | None = None
) -> tuple[str, list[Any]]:
    """SQL WHERE clause and parameters for a TraceFilter over the `traces` table.

    With `conn`, a text search is planned by how many traces its words match.
    """
    params: list[Any] = []
    if f is None:
        return "1", params
    clauses: list[str] = []
    if f.agent_names is not None:
        clauses.append(_in("agent_name", f.agent_names, params))
    if f.session_ids is not None:
        clauses.append(_in("session_id", f.session_ids, params))
    if f.trace_ids is not None:
        clauses.append(_in("trace_id", f.trace_ids, params))
    if f.statuses is not None:
        clauses.append(_in("status", f.statuses, params))
    if f.start_time is not None:
        clauses.append("start_us >= ?")
        params.append(datetime_to_us(f.start_time))
    if f.end_time is not None:
        clauses.append("start_us <= ?")
        params.append(datetime_to_us(f.end_time))
    if f.has_errors is not None:
        clauses.append("has_errors = ?")
        params.append(1 if f.has_errors else 0)
    for column, op, value in (
        ("COALESCE(duration, 0)", ">=", f.min_duration),
        ("COALESCE(duration, 0)", "<=", f.max_duration),
        ("tokens_used", ">=", f.min_tokens),
        ("tokens_used", "<=", f.max_tokens),
        ("COALESCE(cost_usd, 0)", ">=", f.min_cost),
    ):
        if value is not None:
            clauses.append(f"{column} {op} ?")
            params.append(value)
    if f.tools_used:
        exists = "EXISTS (SELECT 1 FROM json_each(traces.tools) WHERE value = ?)"
        joiner = " AND " if f.tools_match == "all" else " OR "
        clauses.append("(" + joiner.join([exists] * len(f.tools_used)) + ")")
        params.extend(f.tools_used)
    if f.models:
        clauses.append(
            "EXISTS (SELECT 1 FROM json_each(traces.models) WHERE "
            + _in("value", f.models, params)
            + ")"
        )
    for tag in f.tags or []:
        clauses.append("EXISTS (SELECT 1 FROM json_each(traces.tags) WHERE value = ?)")
        params.append(tag)
    for key, value in (f.metadata or {}).items():
        clauses.append(_metadata_clause(key, value, params))
    if f.text:
        text = _text_clause(f.text, conn, params)
        if text is not None:
            clauses.append(text)
    return (" AND ".join(clauses) or "1"), params


def _metadata_clause(key: str, value: Any, params: list[Any]) -> str:
    base = "EXISTS (SELECT 1 FROM json_each(traces.metadata) WHERE key = ? AND "
    params.append(key)
    if value is None:
        return base + "type = 'null')"
    if isinstance(value, bool | int | float):
        params.append(int(value) if isinstance(value, bool) else value)
        return base + "type IN ('integer', 'real', 'true', 'false') AND value = ?)"
    if isinstance(value, str):
        params.append(value)
        return base + "type = 'text' AND value = ?)"
    params.append(orjson.dumps(to_jsonable(value)).decode())
    return base + "type IN ('object', 'array') AND value = json(?))"


def run_where(f: RunFilter | None) -> tuple[str, list[Any]]:
    """SQL WHERE clause and parameters for a RunFilter over `runs r`."""
    params: list[Any] = []
    if f is None:
        return "1", params
    clauses: list[str] = []
    if f.tool_names is not None:
        clauses.append(_in("r.tool_name", f.tool_names, params))
    if f.run_types is not None:
        clauses.append(_in("r.run_type", f.run_types, params))
    if f.trace_ids is not None:
        clauses.append(_in("r.trace_id", f.trace_ids, params))
    if f.agent_names is not None:
        clauses.append(
            "r.trace_id IN (SELECT trace_id FROM traces WHERE "
            + _in("agent_name", f.agent_names, params)
            + ")"
        )
    if f.min_duration is not None:
        clauses.append("r.duration >= ?")
        params.append(f.min_duration)
    if f.max_duration is not None:
        clauses.append("r.duration <= ?")
        params.append(f.max_duration)
    if f.success_only:
        clauses.append("r.success = 1")
    if f.errors_only:
        clauses.append("r.success = 0")
    if f.start_time is not None:
        clauses.append("r.start_us >= ?")
        params.append(datetime_to_us(f.start_time))
    if f.end_time is not None:
        clauses.append("r.start_us <= ?")
        params.append(datetime_to_us(f.end_time))
    return (" AND ".join(clauses) or "1"), params
