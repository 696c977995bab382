"""PostgreSQL dialect: TraceFilter/RunFilter to SQL, full-text vectors and queries.

Semantics follow the in-memory reference (`memory.trace_matches`) and SQLite: JSONB
containment for tools, models and tags, typed equality for metadata, and full-text
search where every search word must start some word of the input, output or errors.
Words are cut exactly as the other backends cut them (`memory.search_words`) and
stored as a `tsvector`, so a prefix query (`'word':*`) on a GIN index matches the
same traces as SQLite's FTS5 prefix query.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from myagent.trace.filters import TRACE_ORDERS, RunFilter, TraceFilter
from myagent.trace.ids import datetime_to_us
from myagent.trace.serialize import to_jsonable
from myagent.trace.storage.memory import search_words

ORDER_SQL = {
    "start_time": "start_us",
    "duration": "COALESCE(duration, 0)",
    "tokens": "tokens_used",
    "cost": "COALESCE(cost_usd, 0)",
}
"""The SQL expression each `order_by` key (without '-') sorts on."""

MAX_LEXEME_BYTES = 2046
"""PostgreSQL refuses lexemes of 2 KiB or more; longer words are left out of the index."""
MAX_VECTOR_BYTES = 1_000_000
"""PostgreSQL caps a tsvector at 1 MiB of lexemes; words past this budget are left out."""


def order_clause(order_by: str) -> tuple[str, str, str]:
    """(sort expression, ASC/DESC, keyset comparison operator) for a `TRACE_ORDERS` value."""
    if order_by not in TRACE_ORDERS:
        raise ValueError(f"order_by must be one of {TRACE_ORDERS}, not {order_by!r}")
    descending = order_by.startswith("-")
    return (
        ORDER_SQL[order_by.lstrip("-")],
        "DESC" if descending else "ASC",
        ("<" if descending else ">"),
    )


def clean_text(value: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL characters: they become U+FFFD in indexed columns
    (the stored payload keeps them)."""
    return value if value is None or "\x00" not in value else value.replace("\x00", "\ufffd")


def clean_json(value: Any) -> Any:
    """`value` with NUL characters replaced in every string (JSONB refuses them)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(k): clean_json(v) for k, v in value.items()}
    return value


def jsonb_bytes(value: Any) -> bytes:
    """A JSON-safe value in JSONB's binary wire format (version byte, then JSON text)."""
    text = orjson.dumps(value)
    if b"\\u0000" in text:
        text = orjson.dumps(clean_json(value))
    return b"\x01" + text


def lexemes(words: Iterable[str]) -> list[bytes]:
    """The distinct words as UTF-8 lexemes in byte order (the order tsvector keeps),
    leaving out words too long for a lexeme and those past the size budget."""
    out = []
    total = 0
    for lexeme in sorted({w.encode() for w in words if "\x00" not in w}):
        if len(lexeme) > MAX_LEXEME_BYTES:
            continue
        total += len(lexeme)
        if total > MAX_VECTOR_BYTES:
            break
        out.append(lexeme)
    return out


def tsvector_bytes(words: Iterable[str]) -> bytes:
    """A tsvector of `words` (no positions) in PostgreSQL's binary wire format."""
    found = lexemes(words)
    # per lexeme: NUL-terminated text, then a 16-bit count of positions (0)
    return struct.pack("!i", len(found)) + b"".join(lex + b"\x00\x00\x00" for lex in found)


def tsquery_text(text: str) -> str | None:
    """A tsquery where every search word must start some lexeme; None for no words, and
    "" when a word is longer than any lexeme can be (nothing can match)."""
    words = search_words(text)
    if not words:
        return None
    if any(len(w.encode()) > MAX_LEXEME_BYTES for w in words):
        return ""
    return " & ".join(f"'{w}':*" for w in words)


def _in(column: str, values: Sequence[Any], params: list[Any]) -> str:
    params.append([clean_text(v) if isinstance(v, str) else v for v in values])
    return f"{column} = ANY(%s::text[])"


def trace_where(f: TraceFilter | None) -> tuple[str, list[Any]]:
    """SQL WHERE clause and parameters for a TraceFilter over the `traces` table."""
    params: list[Any] = []
    if f is None:
        return "TRUE", params
    clauses: list[str] = []
    for column, values in (
        ("agent_name", f.agent_names),
        ("session_id", f.session_ids),
        ("trace_id", f.trace_ids),
        ("status", f.statuses),
    ):
        if values is not None:
            clauses.append(_in(column, values, params))
    if f.start_time is not None:
        clauses.append("start_us >= %s")
        params.append(datetime_to_us(f.start_time))
    if f.end_time is not None:
        clauses.append("start_us <= %s")
        params.append(datetime_to_us(f.end_time))
    if f.has_errors is not None:
        clauses.append("has_errors = %s")
        params.append(bool(f.has_errors))
    for column, op, value in (
        ("COALESCE(duration, 0)", ">=", f.min_duration),
        ("COALESCE(duration, 0)", "<=", f.max_duration),
        ("tokens_used", ">=", f.min_tokens),
        ("tokens_used", "<=", f.max_tokens),
        ("COALESCE(cost_usd, 0)", ">=", f.min_cost),
    ):
        if value is not None:
            clauses.append(f"{column} {op} %s")
            params.append(value)
    if f.tools_used:
        clauses.append("tools ?& %s::text[]" if f.tools_match == "all" else "tools ?| %s::text[]")
        params.append([clean_text(t) for t in f.tools_used])
    if f.models:
        clauses.append("models ?| %s::text[]")
        params.append([clean_text(m) for m in f.models])
    if f.tags:
        clauses.append("tags ?& %s::text[]")
        params.append([clean_text(t) for t in f.tags])
    for key, value in (f.metadata or {}).items():
        clauses.append(_metadata_clause(key, value, params))
    if f.text:
        query = tsquery_text(f.text)
        if query == "":
            clauses.append("FALSE")
        elif query is not None:
            clauses.append("search @@ %s::tsquery")
            params.append(query)
    return (" AND ".join(clauses) or "TRUE"), params


def _metadata_clause(key: str, value: Any, params: list[Any]) -> str:
    """One top-level metadata value equal to `value`, as `memory._same_value` defines:
    scalars by value (True == 1 == 1.0), strings only to strings, objects and arrays by
    their JSON text."""
    key = clean_text(key) or ""
    if value is None:
        params.append(key)
        return "jsonb_typeof(metadata -> %s) = 'null'"
    if isinstance(value, bool | int | float):
        params.extend([key, key, key, float(value) if isinstance(value, float) else int(value)])
        return (
            "(CASE jsonb_typeof(metadata -> %s) "
            "WHEN 'number' THEN (metadata ->> %s)::numeric "
            "WHEN 'boolean' THEN ((metadata ->> %s)::boolean)::int::numeric END) = %s::numeric"
        )
    if isinstance(value, str):
        # containment of {key: "text"} is string equality, and uses the GIN index
        params.append(orjson.dumps({key: clean_text(value)}).decode())
        return "metadata @> %s::jsonb"
    # objects and arrays: equal JSON text, key order included (as memory and SQLite)
    params.extend([key, orjson.dumps(to_jsonable(value)).decode()])
    return "metadata_json ->> %s = %s"


def run_where(f: RunFilter | None) -> tuple[str, list[Any]]:
    """SQL WHERE clause and parameters for a RunFilter over `runs r`."""
    params: list[Any] = []
    if f is None:
        return "TRUE", params
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
        clauses.append("r.duration >= %s")
        params.append(f.min_duration)
    if f.max_duration is not None:
        clauses.append("r.duration <= %s")
        params.append(f.max_duration)
    if f.success_only:
        clauses.append("r.success")
    if f.errors_only:
        clauses.append("NOT r.success")
    if f.start_time is not None:
        clauses.append("r.start_us >= %s")
        params.append(datetime_to_us(f.start_time))
    if f.end_time is not None:
        clauses.append("r.start_us <= %s")
        params.append(datetime_to_us(f.end_time))
    return (" AND ".join(clauses) or "TRUE"), params
