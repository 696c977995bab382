"""SQLite storage: one WAL file, indexed roll-up columns, full-text search, SQL queries.

Writes arrive in batches from the background writer (one transaction per batch,
upserts, so a retried batch never duplicates). Every thread and process gets its own
connection; queries run in a worker thread so an event loop is never blocked.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import orjson

from myagent.trace.filters import RunFilter, TraceFilter
from myagent.trace.ids import datetime_to_us, now_us
from myagent.trace.records import RunRecord, Trace
from myagent.trace.stats import ToolStats
from myagent.trace.storage import budget, sqlite_analytics, sqlite_sql
from myagent.trace.storage.base import converting, skipped
from myagent.trace.storage.health import COLUMNS as HEALTH_COLUMNS
from myagent.trace.storage.health import WriterHealth, health_row
from myagent.trace.storage.sql_filters import order_clause
from myagent.trace.storage.sql_storage import SUMMARY_COLUMNS, Analytics, SQLTraceStorage
from myagent.trace.storage.sqlite_params import register_plain_adapters
from myagent.trace.storage.sqlite_rows import RUN_READ, run_data, trace_row
from myagent.trace.storage.sqlite_schema import BLOCK_BITS, migrate
from myagent.trace.storage.sqlite_sql import fts_query, run_where, trace_where
from myagent.trace.summary import TraceSummary

T = TypeVar("T")

register_plain_adapters()

_STORAGES: weakref.WeakSet[SQLiteTraceStorage] = weakref.WeakSet()
_HELD_FOR_FORK: list[SQLiteTraceStorage] = []
FORK_WAIT_SECONDS = 5.0
"""How long fork() waits for a write in progress to commit."""


def _hold_writes_for_fork() -> None:
    # A child forked inside a write transaction inherits SQLite's in-process lock state
    # and could never write to the file: let writes in progress commit first (bounded).
    deadline = time.monotonic() + FORK_WAIT_SECONDS
    for storage in list(_STORAGES):
        if storage._write_lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            _HELD_FOR_FORK.append(storage)


def _release_writes_after_fork() -> None:
    while _HELD_FOR_FORK:
        _HELD_FOR_FORK.pop()._write_lock.release()


os.register_at_fork(
    before=_hold_writes_for_fork,
    after_in_parent=_release_writes_after_fork,
    after_in_child=_release_writes_after_fork,
)

_TRACE_COLUMNS = f"{SUMMARY_COLUMNS}, data"
_UPSERT_TRACE = (
    f"INSERT INTO traces ({_TRACE_COLUMNS}, updated_us) VALUES ({', '.join('?' * 23)}, "
    # change stamp (viewer live feed): the write time, kept above every earlier stamp
    "(SELECT MAX(?, COALESCE(MAX(updated_us), 0) + 1) FROM traces)) "
    "ON CONFLICT (trace_id) DO UPDATE SET "
    + ", ".join(
        f"{c} = excluded.{c}"
        for c in [*_TRACE_COLUMNS.replace(" ", "").split(",")[1:], "updated_us"]
    )
)
_MARK_BLOCKS = (
    # the start-time range of each block of rowids written (see sqlite_schema, migration 7)
    f"INSERT INTO trace_blocks (block, lo, hi) SELECT rowid >> {BLOCK_BITS}, MIN(start_us), "
    "MAX(start_us) FROM traces WHERE trace_id IN (SELECT value FROM json_each(?)) GROUP BY 1 "
    "ON CONFLICT (block) DO UPDATE SET lo = MIN(lo, excluded.lo), hi = MAX(hi, excluded.hi)"
)
_BATCH = "SELECT value FROM json_each(?1)"
_FACETS_OF_BATCH = (
    # the distinct (field, value) pairs of each stored trace of the batch (ids in ?1), as
    # migration 10's triggers counted them; each trace's row is looked up once (`b`)
    "WITH b AS MATERIALIZED (SELECT rowid AS id, agent_name, models, tools, tags "
    f"FROM traces WHERE trace_id IN ({_BATCH})), "
    "f AS (SELECT id, 'agent' AS field, agent_name AS value FROM b "
    + "".join(
        f"UNION SELECT b.id, '{field}', j.value FROM b, json_each(b.{column}) j "
        for field, column in (("model", "models"), ("tool", "tools"), ("tag", "tags"))
    )
    + ") "
)
UNCOUNT_FACETS = (
    # before the upsert: what the batch's traces stored earlier (a running trace written
    # again, a retried batch) counted is taken back ...
    f"{_FACETS_OF_BATCH}UPDATE trace_facets SET n = n - d.c FROM (SELECT field, value, "
    "COUNT(*) AS c FROM f WHERE value IS NOT NULL GROUP BY field, value) AS d "
    "WHERE trace_facets.field = d.field AND trace_facets.value = d.value"
)
COUNT_FACETS = (
    # ... and after it, what they store now is counted: one grouped change per batch
    f"{_FACETS_OF_BATCH}INSERT INTO trace_facets (field, value, n) SELECT field, value, "
    "COUNT(*) FROM f WHERE value IS NOT NULL GROUP BY field, value "
    "ON CONFLICT (field, value) DO UPDATE SET n = n + excluded.n"
)
_INDEX_TEXT = (
    # the batch's search texts ([trace_id, text] pairs in ?) in one statement, in rowid
    # order: a statement per trace (`SELECT rowid, ? FROM traces WHERE trace_id = ?`)
    # made SQLite stage each insert into the virtual table apart (≈ 30 µs per trace)
    "INSERT OR REPLACE INTO traces_fts (rowid, body) SELECT t.rowid, json_extract(j.value, "
    "'$[1]') FROM json_each(?) j JOIN traces t ON t.trace_id = json_extract(j.value, '$[0]') "
    "ORDER BY t.rowid"
)
_UPSERT_HEALTH = (
    f"INSERT OR REPLACE INTO writer_health ({', '.join(HEALTH_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(HEALTH_COLUMNS))})"
)
_UPSERT_RUN = (
    "INSERT OR REPLACE INTO runs (trace_id, run_id, parent_id, run_type, name, tool_name, model, "
    "start_us, end_us, duration, success, error_type, tokens_used, cost_usd, data, trace_agent) "
    f"VALUES ({', '.join('?' * 16)})"
)


class SQLiteTraceStorage(SQLTraceStorage):
    """Traces in one SQLite file (WAL), queryable with SQL and full-text search."""

    dialect = sqlite_sql.DIALECT
    analytics: ClassVar[Analytics] = sqlite_analytics
    backend = "SQLite"
    run_columns = RUN_READ

    def __init__(self, path: str | os.PathLike[str] = "traces.db") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.options: dict[str, Any] = {"partition_by_time": False}
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._writing: set[sqlite3.Connection] = set()
        self._closing: set[sqlite3.Connection] = set()
        self._write_lock = threading.Lock()
        _STORAGES.add(self)
        migrate(self._conn())

    # -- connections ---------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (a new one in a forked child: never share across fork)."""
        local = self._local
        pid = os.getpid()
        if getattr(local, "pid", None) != pid:
            conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            # 16 KiB pages pack ~1 KB records with less slack (only a new file takes it);
            # a 32 MiB cache keeps the random-key indexes of a large file in memory.
            conn.execute("PRAGMA page_size = 16384")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA cache_size = -32768")
            budget.watch_sqlite(conn)  # a viewer request's time budget stops its query
            local.conn, local.pid = conn, pid
            with self._all_lock:
                self._all.append(conn)
        conn_: sqlite3.Connection = local.conn
        return conn_

    def _writing_conn(self) -> sqlite3.Connection:
        """This thread's connection, marked as writing, so close_sync will not close it
        under the write (closing a connection another thread is using crashes SQLite)."""
        while True:
            conn = self._conn()
            with self._all_lock:
                if any(c is conn for c in self._all):
                    self._writing.add(conn)
                    return conn
            # close_sync took it meanwhile: the next _conn() opens a fresh one

    def _write(self, statements: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        conn = self._writing_conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, rows in statements:
                    if rows:
                        conn.executemany(sql, rows)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        finally:
            with self._all_lock:
                self._writing.discard(conn)
                closing = conn in self._closing
                self._closing.discard(conn)
            if closing:  # close_sync ran meanwhile: closing it there would crash SQLite
                conn.close()

    def _read(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._conn().execute(query, params).fetchall()

    def _write_rows(self, statements: Sequence[tuple[str, Sequence[tuple[Any, ...]]]]) -> None:
        with self._write_lock:
            self._write([(sql, list(rows)) for sql, rows in statements])

    def _aggregate(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        # One read transaction (one WAL snapshot) for the aggregate's several statements:
        # a count and the percentile ranks read from it must agree while writers commit.
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            return fn(conn, *args, **kwargs)
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def _execute_all(self, statements: Sequence[str]) -> None:
        conn = self._conn()
        for statement in statements:
            conn.execute(statement)

    def _trace_where(self, f: TraceFilter | None) -> tuple[str, list[Any]]:
        return trace_where(f, self._conn())

    @staticmethod
    def _json(value: Any) -> Any:
        return orjson.loads(value)

    @staticmethod
    def _record(row: Sequence[Any]) -> RunRecord:
        return RunRecord.from_dict(run_data(row))

    # -- writes --------------------------------------------------------------------

    async def store_trace(self, trace: Trace) -> None:
        self.write_traces([trace], final=True)

    async def store_traces(self, traces: Sequence[Trace]) -> None:
        self.write_traces(traces, final=True)

    async def store_partial(self, traces: Sequence[Trace]) -> None:
        self.write_traces(traces, final=False)

    def write_traces(self, traces: Sequence[Trace], *, final: bool = True) -> None:
        """Upsert traces and their records in one transaction (sync; the writer calls it)."""
        stamp = now_us()
        trace_rows = []
        run_rows: list[tuple[Any, ...]] = []
        bodies = []
        for trace in traces:
            converting(trace)  # the watchdog knows whose values hang, if any do
            try:
                row, runs, body = trace_row(trace)
            except Exception as exc:  # corrupt data: this trace alone, not its batch
                if not skipped(trace, "convert_failed", exc):
                    raise
                continue
            trace_rows.append((*row, stamp))
            run_rows.extend(runs)
            bodies.append((trace.trace_id, body))
        converting(None)
        if not traces:
            return
        batch = [(orjson.dumps([trace.trace_id for trace in traces]).decode(),)]
        statements = [
            (UNCOUNT_FACETS, batch),
            (_UPSERT_TRACE, trace_rows),
            (COUNT_FACETS, batch),
            (_UPSERT_RUN, run_rows),
            (_MARK_BLOCKS, batch),
        ]
        if final:
            texts = dict(bodies)  # a trace twice in the batch: its last text, as its row
            statements.append((_INDEX_TEXT, [(orjson.dumps(list(texts.items())).decode(),)]))
        with self._write_lock:  # a fork waits for it (see _hold_writes_for_fork)
            self._write(statements)

    def store_writer_stats_sync(self, health: WriterHealth) -> None:
        """Upsert one writer's counters in a transaction of its own (sync)."""
        with self._write_lock:
            self._write([(_UPSERT_HEALTH, [health_row(health)])])

    # -- reads ---------------------------------------------------------------------

    def _load(self, conn: sqlite3.Connection, trace_ids: list[str]) -> list[Trace]:
        """Whole traces in the order of `trace_ids` (missing ones skipped), two queries
        per 500 ids."""
        found: dict[str, Any] = {}
        runs: dict[str, list[Any]] = {}
        for at in range(0, len(trace_ids), 500):
            chunk = trace_ids[at : at + 500]
            marks = ", ".join("?" * len(chunk))
            for trace_id, data in conn.execute(
                f"SELECT trace_id, data FROM traces WHERE trace_id IN ({marks})", chunk
            ):
                found[trace_id] = data
            for row in conn.execute(
                f"SELECT {RUN_READ} FROM runs r WHERE trace_id IN ({marks}) "
                "ORDER BY trace_id, start_us, rowid",
                chunk,
            ):
                runs.setdefault(row[0], []).append(run_data(row))
        out = []
        for trace_id in trace_ids:
            if trace_id in found:
                data = orjson.loads(found[trace_id])
                data["runs"] = runs.get(trace_id, [])
                out.append(Trace.from_dict(data))
        return out

    def get_trace_sync(self, trace_id: str) -> Trace | None:
        """One whole trace, or None (sync)."""
        found = self._load(self._conn(), [trace_id])
        return found[0] if found else None

    def query_trace_ids(
        self,
        filter: TraceFilter | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        order_by: str = "-start_time",
    ) -> list[str]:
        """Ids of matching traces in order, computed in SQL (sync)."""
        column, direction, _ = order_clause(order_by)
        conn = self._conn()
        if filter is not None and filter.text and limit is not None:
            page = sqlite_sql.search_page(
                conn, filter, offset + limit, None, column, direction == "DESC"
            )
            if page is not None:
                return [trace_id for _, trace_id in page[offset : offset + limit]]
        where, params = trace_where(filter, conn)
        sql = self._limit(
            f"SELECT trace_id FROM traces WHERE {where} "
            f"ORDER BY {column} {direction}, trace_id {direction}",
            params,
            limit,
            offset,
        )
        return [r[0] for r in conn.execute(sql, params)]

    def _query_traces(
        self, f: TraceFilter | None, limit: int | None, offset: int, order_by: str
    ) -> list[Trace]:
        ids = self.query_trace_ids(f, limit=limit, offset=offset, order_by=order_by)
        return self._load(self._conn(), ids)

    def count_traces_sync(self, filter: TraceFilter | None = None) -> int:
        """How many traces match (sync)."""
        conn = self._conn()
        if filter is not None and filter.text and replace(filter, text=None) == TraceFilter():
            query = fts_query(filter.text, conn)  # a search alone: count in the search index
            if query:
                sql = "SELECT COUNT(*) FROM traces_fts WHERE traces_fts MATCH ?"
                return int(conn.execute(sql, (query,)).fetchone()[0])
        return super().count_traces_sync(filter)

    def tool_stats_sync(self, filter: RunFilter | None = None) -> dict[str, ToolStats]:
        """`ToolStats` per tool over the tool records matching `filter` (sync)."""
        f = filter or RunFilter()
        if f.tool_names == []:
            return {}
        if f.run_types is not None:  # only tool records count: drop the redundant test
            if "tool" not in f.run_types:
                return {}
            f = replace(f, run_types=None)
        where, params = run_where(f)
        plan = "all"
        if f.trace_ids is None and f.agent_names is not None and len(f.agent_names) == 1:
            plan = "agent"  # one agent: its ranges of ix_runs_agent_tool, in duration order
        elif f.agent_names is not None or f.trace_ids is not None:
            plan = "traces"
        elif f.start_time is not None or f.end_time is not None:
            low = None if f.start_time is None else datetime_to_us(f.start_time)
            high = None if f.end_time is None else datetime_to_us(f.end_time)
            share = sqlite_analytics.window_share(self._conn(), low, high)
            plan = "window" if share <= sqlite_analytics.NARROW_WINDOW else "all"
        return self._aggregate(sqlite_analytics.tool_stats, where, params, plan=plan)

    # -- deletion and retention ----------------------------------------------------

    def delete_traces_sync(self, trace_ids: Sequence[str]) -> int:
        """Delete traces, their records and their search entries (sync)."""
        ids = [(tid,) for tid in trace_ids]
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                "DELETE FROM traces_fts "
                "WHERE rowid = (SELECT rowid FROM traces WHERE trace_id = ?)",
                ids,
            )
            conn.executemany("DELETE FROM runs WHERE trace_id = ?", ids)
            conn.executemany("DELETE FROM scores WHERE trace_id = ?", ids)
            # rowcount, not total_changes: the facet triggers' changes are not deletions.
            deleted = conn.executemany("DELETE FROM traces WHERE trace_id = ?", ids).rowcount
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return deleted

    def close_sync(self) -> None:
        """Close every connection this storage opened in this process."""
        with self._all_lock:  # held while closing: a writer cannot pick up a closing conn
            conns, self._all = self._all, []
            busy = self._writing & set(conns)
            self._closing |= busy
            self._local = threading.local()
            for conn in conns:
                with contextlib.suppress(sqlite3.Error):
                    if conn in busy:
                        conn.interrupt()  # a write in progress (e.g. on a lock): abort it
                    else:
                        conn.close()

    # -- viewer support: summaries, keyset pages (issue #7) ---------------------------

    def _search_page(
        self, f: TraceFilter, limit: int, after: tuple[Any, str] | None, column: str, desc: bool
    ) -> list[TraceSummary] | None:
        conn = self._conn()
        page = sqlite_sql.search_page(conn, f, limit, after, column, desc)
        if page is None:
            return None
        rowids = [rowid for rowid, _ in page]
        if not rowids:
            return []
        rows = conn.execute(
            f"SELECT rowid, {SUMMARY_COLUMNS} FROM traces "
            f"WHERE rowid IN ({', '.join('?' * len(rowids))})",
            rowids,
        ).fetchall()
        by_rowid = {row[0]: self._summary(row[1:]) for row in rows}
        return [by_rowid[r] for r in rowids if r in by_rowid]

    def agent_names_sync(self, limit: int = 200) -> list[str]:
        """Distinct agent names, sorted, from the agent index (sync)."""
        sql = (
            "SELECT DISTINCT agent_name FROM traces WHERE agent_name IS NOT NULL "
            "ORDER BY agent_name LIMIT ?"
        )
        return [r[0] for r in self._conn().execute(sql, (limit,))]

    def query_sessions_sync(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """Sessions by latest activity, summed from trace roll-ups on the session index."""
        sql = (
            "SELECT session_id, COUNT(*), MIN(start_us), MAX(start_us), SUM(has_errors), "
            "SUM(tokens_used), COALESCE(SUM(cost_usd), 0) FROM traces "
            "WHERE session_id IS NOT NULL GROUP BY session_id "
            "ORDER BY MAX(start_us) DESC, session_id DESC LIMIT ?"
        )
        keys = (
            "session_id",
            "trace_count",
            "first_us",
            "last_us",
            "error_traces",
            "tokens_used",
            "cost_usd",
        )
        return [dict(zip(keys, row, strict=True)) for row in self._conn().execute(sql, (limit,))]
