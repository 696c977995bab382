"""SQLite's SQL dialect for the shared filter compiler (`sql_filters`), and the
full-text search planner (prefix indexes, vocabulary expansion, newest-first walks).

Kept apart from the storage class so the dialect lives in one place (PostgreSQL's twin
is `postgres_sql.py`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import orjson

from myagent.trace.filters import RunFilter, TraceFilter
from myagent.trace.serialize import to_jsonable
from myagent.trace.storage import sql_filters
from myagent.trace.storage.memory import search_words
from myagent.trace.storage.sql_filters import Dialect
from myagent.trace.storage.sqlite_schema import BLOCK_BITS, PREFIX_LENGTHS

VOCAB_CAP = 16
"""A search word (of a length with no prefix index) that begins at most this many terms
is matched as those exact terms; one that begins more as an FTS5 prefix query."""

FTS_DIRECT_LIMIT = 1000
"""A search matching at most this many traces reads those rows directly; a commoner one
is walked (see `search_page`), or tested for membership along the query's order index."""


def fts_query(text: str, conn: sqlite3.Connection) -> str:
    """A safe FTS5 query meaning: every word must begin some word of the trace.

    A word of 2-4 characters reads its prefix index; a longer one is expanded through the
    vocabulary to the terms it begins (exact terms stream in rowid order, where a prefix
    query without an index merges every term's whole doclist first)."""
    return " AND ".join(_word_query(word, conn) for word in search_words(text))


def _word_query(word: str, conn: sqlite3.Connection) -> str:
    if len(word) in PREFIX_LENGTHS:
        return f'"{word}"*'
    terms: list[str] = []
    at = word
    while len(terms) <= VOCAB_CAP:
        row = conn.execute(
            "SELECT term FROM traces_fts_terms WHERE term >= ? LIMIT 1", (at,)
        ).fetchone()
        if row is None or not row[0].startswith(word):
            break
        terms.append(row[0])
        at = row[0] + "\x01"  # the next term: terms hold no control characters
    if len(terms) > VOCAB_CAP:
        return f'"{word}"*'
    if not terms:
        return f'"{word}"'  # begins no term: matches nothing, and says so at once
    if len(terms) == 1:
        return f'"{terms[0]}"'
    return "(" + " OR ".join(f'"{term}"' for term in terms) + ")"


def _match_count(conn: sqlite3.Connection, match: str, cap: int) -> int:
    """How many traces `match` finds, counting no further than `cap`."""
    sql = "SELECT COUNT(*) FROM (SELECT 1 FROM traces_fts WHERE traces_fts MATCH ? LIMIT ?)"
    return int(conn.execute(sql, (match, cap)).fetchone()[0])


def _text_clause(text: str, conn: sqlite3.Connection, params: list[Any]) -> str | None:
    """The full-text condition, planned by how many traces the words match."""
    query = fts_query(text, conn)
    if not query:
        return None
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


# -- pages of a common search: walks that stop once the page is settled -------------

WALK_BATCHES = (256, 512, 1024, 2048)
"""Search matches read per step of the newest-first walk; past them it gives up."""

FTS_CHUNK = 4000
FTS_MAX_CHUNKS = 8
FTS_WIDE_CHUNKS = 2
"""The list-order walk: rows of the order index per chunk, and chunks before giving up
(two when a chunk's rowids spread far: its range check then reads most matches)."""

Page = list[tuple[int, str]]
"""(rowid, trace_id) of a page's traces, in the page's order."""


def search_page(
    conn: sqlite3.Connection,
    f: TraceFilter,
    wanted: int,
    after: tuple[Any, str] | None,
    column: str,
    descending: bool,
) -> Page | None:
    """The first `wanted` traces matching `f` (whose text is set) after keyset `after`,
    ordered by `column` then trace_id; None when the set-based plan of `trace_where` is
    the cheaper one (few matches, or walks that did not settle)."""
    match = fts_query(f.text or "", conn)
    if not match or _match_count(conn, match, FTS_DIRECT_LIMIT + 1) <= FTS_DIRECT_LIMIT:
        return None
    where, params = trace_where(replace(f, text=None), conn)
    if after is not None:
        where += f" AND ({column}, trace_id) {'<' if descending else '>'} (?, ?)"
        params += [after[0], after[1]]
    if column == "start_us":
        page = _walk_by_rowid(conn, match, where, params, wanted, descending)
        if page is not None:
            return page
    return _walk_list_order(conn, match, where, params, wanted, column, descending)


def _walk_by_rowid(
    conn: sqlite3.Connection,
    match: str,
    where: str,
    params: list[Any],
    wanted: int,
    descending: bool,
) -> Page | None:
    """Walk the search index from its newest rowid (oldest when ascending), keep the best
    `wanted` rows passing `where` by start time, and stop once `trace_blocks` proves that
    no unread match can start before the last kept one. Rowids follow insertion, which
    follows start time closely, so this settles within a batch or two."""
    order, op = ("DESC", "<") if descending else ("ASC", ">")
    kept: list[tuple[int, str, int]] = []  # (start_us, trace_id, rowid), best first
    position: int | None = None
    read, budget = 0, sum(WALK_BATCHES)
    for batch in WALK_BATCHES:
        bound = "" if position is None else f" AND rowid {op} ?"
        rowids = [
            r[0]
            for r in conn.execute(
                f"SELECT rowid FROM traces_fts WHERE traces_fts MATCH ?{bound} "
                f"ORDER BY rowid {order} LIMIT ?",
                (match, batch) if position is None else (match, position, batch),
            )
        ]
        if rowids:
            position = rowids[-1]
            marks = ", ".join("?" * len(rowids))
            kept += conn.execute(
                f"SELECT start_us, trace_id, rowid FROM traces "
                f"WHERE rowid IN ({marks}) AND {where}",
                [*rowids, *params],
            ).fetchall()
            kept.sort(reverse=descending)
            del kept[wanted:]
        if len(rowids) < batch or (
            position is not None
            and len(kept) == wanted
            and _settled(conn, position, kept[-1][0], descending)
        ):
            return [(rowid, trace_id) for _, trace_id, rowid in kept]
        read += len(rowids)
        if len(kept) < wanted and len(kept) * budget < wanted * read:
            return None  # at this rate of kept matches the budget would not fill the page
    return None


def _settled(conn: sqlite3.Connection, position: int, start_us: int, descending: bool) -> bool:
    """True when every trace beyond `position` in the walk's direction (not read yet)
    starts strictly after `start_us` (before it, when descending)."""
    block = position >> BLOCK_BITS
    if descending:
        sql = "SELECT MAX(hi) FROM trace_blocks WHERE block <= ?"
    else:
        sql = "SELECT MIN(lo) FROM trace_blocks WHERE block >= ?"
    edge = conn.execute(sql, (block,)).fetchone()[0]
    return edge is None or (edge < start_us if descending else edge > start_us)


def _walk_list_order(
    conn: sqlite3.Connection,
    match: str,
    where: str,
    params: list[Any],
    wanted: int,
    column: str,
    descending: bool,
) -> Page | None:
    """Walk the page's order index a chunk at a time, asking the search index only about
    each chunk's rowid range. None when the chunks did not fill the page."""
    direction, op = ("DESC", "<") if descending else ("ASC", ">")
    found: Page = []
    cursor: list[Any] = []
    for number in range(FTS_MAX_CHUNKS):
        clause = where + (f" AND ({column}, trace_id) {op} (?, ?)" if cursor else "")
        chunk = conn.execute(
            f"SELECT rowid, {column}, trace_id FROM traces WHERE {clause} "
            f"ORDER BY {column} {direction}, trace_id {direction} LIMIT ?",
            [*params, *cursor, FTS_CHUNK],
        ).fetchall()
        if not chunk:
            return found
        rowids = [r[0] for r in chunk]
        low, high = min(rowids), max(rowids)
        if high - low > 16 * FTS_CHUNK and number >= FTS_WIDE_CHUNKS:
            return None  # this order is not the storage order
        hits = {
            r[0]
            for r in conn.execute(
                "SELECT rowid FROM traces_fts WHERE traces_fts MATCH ? AND rowid BETWEEN ? AND ?",
                (match, low, high),
            )
        }
        found += [(r[0], r[2]) for r in chunk if r[0] in hits]
        if len(found) >= wanted or len(chunk) < FTS_CHUNK:
            return found[:wanted]
        cursor = [chunk[-1][1], chunk[-1][2]]
    return None


class SQLiteDialect(Dialect):
    """SQLite's spelling: `?` marks, 1/0 booleans, `json_each` over JSON text columns, and
    a full-text search planned on `conn` by how many traces its words match."""

    def __init__(self, conn: sqlite3.Connection | None = None) -> None:
        self.conn = conn

    def in_list(self, column: str, values: Sequence[Any], params: list[Any]) -> str:
        params.extend(values)
        return f"{column} IN ({', '.join('?' * len(values))})" if values else "0"

    def tools(self, tools: Sequence[str], match_all: bool, params: list[Any]) -> str:
        exists = "EXISTS (SELECT 1 FROM json_each(traces.tools) WHERE value = ?)"
        params.extend(tools)
        return "(" + (" AND " if match_all else " OR ").join([exists] * len(tools)) + ")"

    def models(self, models: Sequence[str], params: list[Any]) -> str:
        return (
            "EXISTS (SELECT 1 FROM json_each(traces.models) WHERE "
            + self.in_list("value", models, params)
            + ")"
        )

    def tags(self, tags: Sequence[str], params: list[Any]) -> str:
        params.extend(tags)
        exists = "EXISTS (SELECT 1 FROM json_each(traces.tags) WHERE value = ?)"
        return " AND ".join([exists] * len(tags))

    def metadata(self, key: str, value: Any, params: list[Any]) -> str:
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

    def text(self, text: str, params: list[Any]) -> str | None:
        assert self.conn is not None, "a text search is planned on a connection"
        return _text_clause(text, self.conn, params)


def trace_where(f: TraceFilter | None, conn: sqlite3.Connection) -> tuple[str, list[Any]]:
    """SQL WHERE clause and parameters for a TraceFilter over the `traces` table (a text
    search is planned on `conn` by how many traces its words match)."""
    return sql_filters.trace_where(f, SQLiteDialect(conn))


def run_where(f: RunFilter | None) -> tuple[str, list[Any]]:
    """SQL WHERE clause and parameters for a RunFilter over `runs r`."""
    return sql_filters.run_where(f, DIALECT)


DIALECT = SQLiteDialect()
"""The dialect for clauses that need no connection (record filters)."""
