"""PostgreSQL dialect for the shared filter compiler (`sql_filters`), full-text vectors
and queries.

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

from myagent.trace.filters import RunFilter, TraceFilter
from myagent.trace.serialize import to_jsonable
from myagent.trace.storage import sql_filters
from myagent.trace.storage.memory import search_words
from myagent.trace.storage.sql_filters import Dialect

MAX_LEXEME_BYTES = 2046
"""PostgreSQL refuses lexemes of 2 KiB or more; longer words are left out of the index."""
MAX_VECTOR_BYTES = 1_000_000
"""PostgreSQL caps a tsvector at 1 MiB of lexemes; words past this budget are left out."""


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


class PostgresDialect(Dialect):
    """PostgreSQL's spelling: `%s` marks, real booleans, text arrays, JSONB containment
    and a prefix `tsquery` over the `search` tsvector."""

    mark = "%s"
    true = "TRUE"
    no_limit = None

    def flag(self, value: bool) -> Any:
        return value

    def is_true(self, column: str) -> str:
        return column

    def is_false(self, column: str) -> str:
        return f"NOT {column}"

    def in_list(self, column: str, values: Sequence[Any], params: list[Any]) -> str:
        texts = [clean_text(v) if isinstance(v, str) else v for v in values]
        if len(texts) == 1:  # an equality: an ordered index scan on it stays ordered
            params.append(texts[0])
            return f"{column} = %s::text"
        params.append(texts)
        return f"{column} = ANY(%s::text[])"

    def tools(self, tools: Sequence[str], match_all: bool, params: list[Any]) -> str:
        params.append([clean_text(t) for t in tools])
        return "tools ?& %s::text[]" if match_all else "tools ?| %s::text[]"

    def models(self, models: Sequence[str], params: list[Any]) -> str:
        params.append([clean_text(m) for m in models])
        return "models ?| %s::text[]"

    def tags(self, tags: Sequence[str], params: list[Any]) -> str:
        params.append([clean_text(t) for t in tags])
        return "tags ?& %s::text[]"

    def metadata(self, key: str, value: Any, params: list[Any]) -> str:
        """Scalars by value (True == 1 == 1.0), strings only to strings, objects and
        arrays by their JSON text."""
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

    def text(self, text: str, params: list[Any]) -> str | None:
        query = tsquery_text(text)
        if query == "":
            return "FALSE"
        if query is None:
            return None
        params.append(query)
        return "search @@ %s::tsquery"


DIALECT = PostgresDialect()


def trace_where(f: TraceFilter | None) -> tuple[str, list[Any]]:
    """SQL WHERE clause and parameters for a TraceFilter over the `traces` table."""
    return sql_filters.trace_where(f, DIALECT)


def run_where(f: RunFilter | None) -> tuple[str, list[Any]]:
    """SQL WHERE clause and parameters for a RunFilter over `runs r`."""
    return sql_filters.run_where(f, DIALECT)
