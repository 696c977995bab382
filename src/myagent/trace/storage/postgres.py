"""PostgreSQL storage: many agent hosts write, one viewer reads.

A psycopg 3 connection pool per process (a forked child opens its own and never
touches its parent's sockets). Each batch is one transaction: the records are
replaced by binary COPY, then the trace rows, under a change-clock row lock that
hands out stamps in commit order, and a NOTIFY carries the trace ids to listening
viewers. Queries are SQL over indexed roll-up columns, JSONB and a tsvector, run in
a worker thread so no event loop is ever blocked; writes run on the background
writer's own thread.

Needs the optional extra: `pip install myagent[postgres]`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, ClassVar, Literal, TypeVar

import orjson

try:
    import psycopg
    from psycopg import sql
    from psycopg_pool import ConnectionPool
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "PostgresTraceStorage needs psycopg 3 and psycopg-pool: pip install 'myagent[postgres]'"
    ) from exc

from myagent.trace.filters import RunFilter, TraceFilter
from myagent.trace.ids import datetime_to_us
from myagent.trace.records import RunRecord, Trace
from myagent.trace.stats import ToolStats
from myagent.trace.storage import budget, postgres_analytics, postgres_sql
from myagent.trace.storage.base import converting, skipped
from myagent.trace.storage.health import COLUMNS as HEALTH_COLUMNS
from myagent.trace.storage.health import WriterHealth, health_row
from myagent.trace.storage.postgres_rows import (
    RUN_COLUMNS,
    RUN_COPY_TYPES,
    STAMP_SLOT,
    TRACE_COLUMNS,
    TRACE_COPY_TYPES,
    build_rows,
    copy_trace_row,
    latest,
    param_trace_row,
)
from myagent.trace.storage.postgres_schema import migrate
from myagent.trace.storage.postgres_sql import run_where, trace_where
from myagent.trace.storage.sql_filters import order_clause
from myagent.trace.storage.sql_storage import Analytics, SQLTraceStorage

WriteMethod = Literal["copy", "insert"]
T = TypeVar("T")

NOTIFY_PAYLOAD_BYTES = 7900
"""PostgreSQL caps a NOTIFY payload below 8000 bytes; longer id lists are split."""

_TAKE_STAMPS = (
    "UPDATE change_clock SET stamp = GREATEST(stamp + %s, "
    "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint) WHERE id = 1 RETURNING stamp"
)
_INSERT_TRACE = (
    f"INSERT INTO traces ({', '.join(TRACE_COLUMNS)}) VALUES ("
    + ", ".join(
        "%s::jsonb"
        if c in ("tags", "metadata", "tools", "models", "metadata_json")
        else "array_to_tsvector(%s::text[])"
        if c == "search"
        else "%s"
        for c in TRACE_COLUMNS
    )
    + ")"
)
_INSERT_RUN = (
    f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({', '.join(['%s'] * len(RUN_COLUMNS))})"
)

_UPSERT_HEALTH = (
    f"INSERT INTO writer_health ({', '.join(HEALTH_COLUMNS)}) VALUES ("
    + ", ".join("%s::jsonb" if c == "dropped" else "%s" for c in HEALTH_COLUMNS)
    + ") ON CONFLICT (writer_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in HEALTH_COLUMNS if c != "writer_id")
)

_INHERITED: list[Any] = []
"""Pools inherited across fork(). Kept referenced and never closed in the child: closing
would end the parent's server sessions, whose sockets the child shares."""


def _copy(
    cur: psycopg.Cursor[Any],
    table: str,
    columns: Sequence[str],
    types: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> None:
    """Binary COPY of `rows` into `table`."""
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(list(types))
        for row in rows:
            copy.write_row(row)


def delete_batch(cur: Any, ids: list[str]) -> int:
    """Delete these traces with their records and scores in the cursor's transaction;
    returns how many traces existed. A batch is a few hundred keys, so always by index:
    in a table never analyzed (a fresh or just-imported schema) the planner has no
    statistics and takes `= ANY(array)` for every row, a whole-table scan per batch that
    made retention of 1,000,000 traces quadratic (≈ 0.5 s a batch of 250)."""
    cur.execute("SET LOCAL enable_seqscan = off")
    cur.execute("DELETE FROM runs WHERE trace_id = ANY(%s::text[])", (ids,))
    cur.execute("DELETE FROM scores WHERE trace_id = ANY(%s::text[])", (ids,))
    cur.execute("DELETE FROM traces WHERE trace_id = ANY(%s::text[])", (ids,))
    count: int = cur.rowcount
    cur.execute("SET LOCAL enable_seqscan = on")
    return count


def _chunks(ids: Iterable[str], limit: int = NOTIFY_PAYLOAD_BYTES) -> list[str]:
    """Comma-joined ids, split so that each payload stays under `limit` bytes."""
    out: list[str] = []
    current: list[str] = []
    size = 0
    for trace_id in ids:
        if current and size + len(trace_id) + 1 > limit:
            out.append(",".join(current))
            current, size = [], 0
        current.append(trace_id)
        size += len(trace_id) + 1
    if current:
        out.append(",".join(current))
    return out


class PostgresTraceStorage(SQLTraceStorage):
    """Traces in PostgreSQL: pooled, batched binary COPY, SQL queries, LISTEN/NOTIFY.

    `url` is a libpq connection string or `postgresql://` URL. Tables live in `schema`
    (created on first use, with versioned migrations). Nothing connects until the
    first read or write, so constructing the storage never fails or blocks.
    `write_method` "copy" (binary COPY, the faster) or "insert" (executemany INSERT).
    """

    dialect = postgres_sql.DIALECT
    analytics: ClassVar[Analytics] = postgres_analytics
    backend = "PostgreSQL"
    run_columns = "r.data"

    def __init__(
        self,
        url: str = "postgresql://localhost/postgres",
        *,
        schema: str = "myagent",
        min_connections: int = 1,
        max_connections: int = 4,
        connect_timeout: float = 10.0,
        write_method: WriteMethod = "copy",
        channel: str | None = None,
        connect_kwargs: dict[str, Any] | None = None,
        read_url: str | None = None,
    ) -> None:
        if write_method not in ("copy", "insert"):
            raise ValueError(f"write_method must be 'copy' or 'insert', not {write_method!r}")
        self.url = url
        self.read_url = read_url or None
        """A streaming replica of `url` for the reads of lists, searches, traces and
        aggregates (writes, retention and writer health stay on `url`); None: `url`."""
        self.schema = schema
        self.channel = channel or f"{schema}_traces"
        """The NOTIFY channel; each payload is comma-separated trace ids."""
        self.min_connections = min_connections
        self.max_connections = max_connections
        self.connect_timeout = connect_timeout
        self.write_method: WriteMethod = write_method
        self.connect_kwargs = dict(connect_kwargs or {})
        """Extra `psycopg.connect` arguments, e.g. `{"prepare_threshold": None}` behind
        PgBouncer in transaction mode."""
        self.options: dict[str, Any] = {"partition_by_time": False}
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = None
        self._pid = 0
        self._read_pool: ConnectionPool[psycopg.Connection[Any]] | None = None
        self._read_pid = 0
        self._lock = threading.Lock()
        self._lock_pid = os.getpid()
        self._migrated = False

    # -- connections ---------------------------------------------------------------

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
        # JIT compiles a plan the planner costs high (any aggregate over 1M rows): that
        # took longer than the short index walks our queries are, so it is off here.
        conn.execute("SET jit = off")
        conn.commit()

    def _connect_args(self) -> dict[str, Any]:
        return {"connect_timeout": max(2, round(self.connect_timeout)), **self.connect_kwargs}

    def _process_lock(self) -> threading.Lock:
        """This process's lock: one copied by fork() may be held by a thread that the
        child does not have."""
        pid = os.getpid()
        if self._lock_pid != pid:
            self._lock, self._lock_pid = threading.Lock(), pid
        return self._lock

    def _new_pool(self, url: str, name: str) -> ConnectionPool[psycopg.Connection[Any]]:
        pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            min_size=self.min_connections,
            max_size=self.max_connections,
            timeout=self.connect_timeout,
            kwargs=self._connect_args(),
            configure=self._configure,
            check=ConnectionPool.check_connection,
            name=name,
            open=False,
        )
        pool.open(wait=True, timeout=self.connect_timeout)
        return pool

    def pool(self) -> ConnectionPool[psycopg.Connection[Any]]:
        """This process's pool, opened (and the schema migrated) on first use."""
        pid = os.getpid()
        pool = self._pool
        if pool is not None and self._pid == pid:
            return pool
        with self._process_lock():
            if self._pool is not None and self._pid == pid:
                return self._pool
            if self._pool is not None:
                _INHERITED.append(self._pool)
                self._pool = None
            # One plain connection first: an unreachable server fails here, fast and
            # with libpq's own message, before a pool exists to log retries.
            with psycopg.connect(self.url, **self._connect_args()) as conn:
                if not self._migrated:
                    migrate(conn, self.schema)
                    self._migrated = True
            self._pool, self._pid = self._new_pool(self.url, f"myagent-{self.schema}"), pid
            return self._pool

    def read_pool(self) -> ConnectionPool[psycopg.Connection[Any]]:
        """This process's pool for reads: on `read_url` when one is set (the primary's
        schema migrated first), else the primary's pool."""
        if self.read_url is None:
            return self.pool()
        pid = os.getpid()
        pool = self._read_pool
        if pool is not None and self._read_pid == pid:
            return pool
        primary = self.pool()  # the replica follows the primary's schema: migrate it first
        with self._process_lock():
            if self._read_pool is not None and self._read_pid == pid:
                return self._read_pool
            if self._read_pool is not None:
                _INHERITED.append(self._read_pool)
            read = self._new_pool(self.read_url, f"myagent-{self.schema}-read")
            self._await_replay(primary, read)
            self._read_pool, self._read_pid = read, pid
            return read

    def _await_replay(
        self,
        primary: ConnectionPool[psycopg.Connection[Any]],
        replica: ConnectionPool[psycopg.Connection[Any]],
    ) -> None:
        """Wait (up to `connect_timeout`) until the replica has replayed what the primary
        has written so far, the schema's migrations included, so the first reads find
        the tables."""
        with primary.connection() as conn:
            row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        target = None if row is None else row[0]
        deadline = time.monotonic() + self.connect_timeout
        with replica.connection() as conn:
            while target is not None and time.monotonic() < deadline:
                done = conn.execute(
                    "SELECT COALESCE(pg_last_wal_replay_lsn() >= %s::pg_lsn, TRUE)", (target,)
                ).fetchone()
                conn.rollback()
                if done is None or done[0]:
                    return
                time.sleep(0.02)

    # -- writes --------------------------------------------------------------------

    # Writes run inline, as SQLite's do: the background writer awaits them on its own
    # private loop, and at interpreter exit no new worker thread can be started.

    async def store_trace(self, trace: Trace) -> None:
        self.write_traces([trace])

    async def store_traces(self, traces: Sequence[Trace]) -> None:
        self.write_traces(traces)

    async def store_partial(self, traces: Sequence[Trace]) -> None:
        self.write_traces(traces)

    def write_traces(self, traces: Sequence[Trace]) -> None:
        """Replace these traces and their records in one transaction, then NOTIFY (sync).

        Writing a trace again (a running trace's progress, then its final state, or a
        retried batch) replaces it, so nothing is ever stored twice.
        """
        if not traces:
            return
        # Everything is built and encoded before the transaction, so the clock row is
        # held only for the trace rows' COPY and the commit.
        built = []
        for trace in latest(traces):
            converting(trace)  # the watchdog knows whose values hang, if any do
            try:
                built.append(build_rows(trace))
            except Exception as exc:  # corrupt data: this trace alone, not its batch
                if not skipped(trace, "convert_failed", exc):
                    raise
        converting(None)
        if not built:
            return
        ids = [b.trace_id for b in built]
        copy = self.write_method == "copy"
        rows = [copy_trace_row(b) if copy else param_trace_row(b) for b in built]
        with self.pool().connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute("DELETE FROM runs WHERE trace_id = ANY(%s::text[])", (ids,))
            runs = [r for b in built for r in b.runs]
            if copy:
                _copy(cur, "runs", RUN_COLUMNS, RUN_COPY_TYPES, runs)
            else:
                cur.executemany(_INSERT_RUN, runs)
            # From here to commit this transaction holds the clock row: stamps are
            # handed out in commit order, so a reader polling by stamp misses nothing.
            cur.execute(_TAKE_STAMPS, (len(rows),))
            stamp = cur.fetchone()
            assert stamp is not None
            first = int(stamp[0]) - len(rows) + 1
            for i, row in enumerate(rows):
                row[STAMP_SLOT] = first + i
            cur.execute("DELETE FROM traces WHERE trace_id = ANY(%s::text[])", (ids,))
            if copy:
                _copy(cur, "traces", TRACE_COLUMNS, TRACE_COPY_TYPES, rows)
            else:
                cur.executemany(_INSERT_TRACE, rows)
            for payload in _chunks(ids):
                cur.execute("SELECT pg_notify(%s, %s)", (self.channel, payload))

    def store_writer_stats_sync(self, health: WriterHealth) -> None:
        """Upsert one writer's counters (sync; inline on the writer's thread)."""
        with self.pool().connection() as conn:
            conn.execute(_UPSERT_HEALTH, health_row(health))

    # -- reads ---------------------------------------------------------------------

    def _load(self, cur: psycopg.Cursor[Any], rows: list[tuple[str, bytes]]) -> list[Trace]:
        """Whole traces from (trace_id, data) rows, with their records in one query."""
        if not rows:
            return []
        runs: dict[str, list[Any]] = {trace_id: [] for trace_id, _ in rows}
        cur.execute(
            "SELECT trace_id, data FROM runs WHERE trace_id = ANY(%s::text[]) "
            "ORDER BY trace_id, start_us, ord",
            (list(runs),),
        )
        for trace_id, data in cur:
            runs[trace_id].append(orjson.loads(data))
        out = []
        for trace_id, data in rows:
            trace_data = orjson.loads(data)
            trace_data["runs"] = runs[trace_id]
            out.append(Trace.from_dict(trace_data))
        return out

    def _read(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._read_on(self.read_pool(), query, params)

    def _read_primary(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._read_on(self.pool(), query, params)

    @staticmethod
    def _read_on(
        pool: ConnectionPool[psycopg.Connection[Any]], query: str, params: Sequence[Any]
    ) -> list[Any]:
        with pool.connection() as conn, conn.cursor(binary=True) as cur:
            budget.limit_postgres(cur)
            cur.execute(query, params)
            return cur.fetchall()

    def _write_rows(self, statements: Sequence[tuple[str, Sequence[tuple[Any, ...]]]]) -> None:
        with self.pool().connection() as conn, conn.transaction(), conn.cursor() as cur:
            for statement, rows in statements:
                if rows:
                    cur.executemany(statement, rows)

    def _execute_all(self, statements: Sequence[str]) -> None:
        with self.pool().connection() as conn:
            for statement in statements:
                conn.execute(statement)

    @staticmethod
    def _json(value: Any) -> Any:
        return value  # JSONB arrives decoded

    @staticmethod
    def _record(row: Sequence[Any]) -> RunRecord:
        return RunRecord.from_dict(orjson.loads(row[0]))

    def get_trace_sync(self, trace_id: str) -> Trace | None:
        """One whole trace, or None (sync)."""
        found = self._traces_where("trace_id = %s", [trace_id], "", [])
        return found[0] if found else None

    def _traces_where(
        self, where: str, params: list[Any], tail: str, tail_params: list[Any]
    ) -> list[Trace]:
        with self.read_pool().connection() as conn, conn.cursor(binary=True) as cur:
            budget.limit_postgres(cur)
            cur.execute(
                f"SELECT trace_id, data FROM traces WHERE {where} {tail}", [*params, *tail_params]
            )
            return self._load(cur, cur.fetchall())

    def _query_traces(
        self, f: TraceFilter | None, limit: int | None, offset: int, order_by: str
    ) -> list[Trace]:
        column, direction, _ = order_clause(order_by)
        where, params = trace_where(f)
        tail = f"ORDER BY {column} {direction}, trace_id {direction} LIMIT %s OFFSET %s"
        return self._traces_where(where, params, tail, [limit, offset])

    # -- deletion and retention ----------------------------------------------------

    def delete_traces_sync(self, trace_ids: Sequence[str]) -> int:
        """Delete traces and their records; returns how many traces existed (sync)."""
        ids = list(trace_ids)
        if not ids:
            return 0
        with self.pool().connection() as conn, conn.transaction(), conn.cursor() as cur:
            return delete_batch(cur, ids)

    async def listen_changes(self) -> AsyncIterator[str]:
        """Trace ids as other processes commit writes of them (LISTEN/NOTIFY).

        Runs until the consumer stops iterating (or its task is cancelled); uses one
        dedicated connection of its own, opened in the caller's event loop. A trace
        written again is yielded again; ids may repeat. A lost connection raises
        `psycopg.OperationalError`: listen again, and catch up with
        `summaries_changed_since` (notifications sent meanwhile are not kept).
        """
        conn = await psycopg.AsyncConnection.connect(
            self.url, autocommit=True, **self._connect_args()
        )
        try:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            async for note in conn.notifies():
                for trace_id in note.payload.split(","):
                    if trace_id:
                        yield trace_id
        finally:
            await conn.close()

    # -- aggregates in SQL (myagent.trace.stats defines every figure) ----------------

    def _aggregate(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.read_pool().connection() as conn, conn.transaction(), conn.cursor() as cur:
            # One snapshot for the aggregate's several statements: a count and the
            # percentile ranks read from it must agree while writers commit meanwhile.
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            budget.limit_postgres(cur)
            return fn(cur, *args, **kwargs)

    def tool_stats_sync(self, filter: RunFilter | None = None) -> dict[str, ToolStats]:
        """Per-tool figures over the matching tool records, computed in SQL (sync)."""
        f = filter or RunFilter()
        if f.run_types is not None:  # only tool records count: drop the redundant test
            if "tool" not in f.run_types:
                return {}
            f = replace(f, run_types=None)
        if replace(f, tool_names=None, start_time=None, end_time=None) == RunFilter():
            # tools and a time window only: the roll-up of migration 8
            window = [None if t is None else datetime_to_us(t) for t in (f.start_time, f.end_time)]
            return self._aggregate(postgres_analytics.rolled_tool_stats, f.tool_names, *window)
        simple = replace(f, agent_names=None, tool_names=None) == RunFilter()
        walk = simple and (f.agent_names is None or len(f.agent_names) == 1)
        return self._aggregate(postgres_analytics.tool_stats, *run_where(f), walk=walk)

    def agent_names_sync(self, limit: int = 200) -> list[str]:
        """Distinct agent names in code-point order, from the agent index (sync)."""
        rows = self._read(
            'SELECT DISTINCT agent_name COLLATE "C" AS a FROM traces '
            "WHERE agent_name IS NOT NULL ORDER BY a LIMIT %s",
            [limit],
        )
        return [r[0] for r in rows]

    def query_sessions_sync(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """Sessions by latest activity, summed from trace roll-ups (sync)."""
        rows = self._read(
            "SELECT session_id, COUNT(*), MIN(start_us), MAX(start_us), "
            "COUNT(*) FILTER (WHERE has_errors), SUM(tokens_used), "
            "COALESCE(SUM(cost_usd), 0) FROM traces WHERE session_id IS NOT NULL "
            'GROUP BY session_id ORDER BY MAX(start_us) DESC, session_id COLLATE "C" DESC '
            "LIMIT %s",
            [limit],
        )
        keys = ("session_id", "trace_count", "first_us", "last_us", "error_traces")
        return [
            {
                **dict(zip(keys, r[:5], strict=True)),
                "tokens_used": int(r[5]),
                "cost_usd": float(r[6]),
            }
            for r in rows
        ]

    def close_sync(self) -> None:
        """Close this process's pools (an inherited one is left to its own process)."""
        with self._process_lock():
            pool, self._pool = self._pool, None
            read, self._read_pool = self._read_pool, None
        for each, pid in ((pool, self._pid), (read, self._read_pid)):
            if each is not None and pid == os.getpid():
                each.close()
            elif each is not None:
                _INHERITED.append(each)
