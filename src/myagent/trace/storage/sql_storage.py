"""What the SQL backends (SQLite, PostgreSQL) share: the queries over their common
layout, each written once against a `Dialect`, and the async face of every sync method.

A backend supplies how it reads rows (`_read`), runs aggregates (`_aggregate`), decodes
its JSON columns and its records; the SQL is the same. Async methods run the sync ones
in a worker thread so an event loop is never blocked.
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeVar

from myagent.trace.facets import FacetField, FacetValue, rank_facets
from myagent.trace.filters import RunFilter, TraceFilter
from myagent.trace.ids import datetime_to_us
from myagent.trace.records import RunRecord, Trace
from myagent.trace.stats import ErrorGroup, TimeBucket, ToolStats, TraceStats
from myagent.trace.storage.base import TraceStorage
from myagent.trace.storage.health import COLUMNS as HEALTH_COLUMNS
from myagent.trace.storage.health import WriterHealth, health_from_row
from myagent.trace.storage.sql_eval import SQLEvalStore
from myagent.trace.storage.sql_filters import Dialect, order_clause, run_where, trace_where
from myagent.trace.summary import TraceSummary

T = TypeVar("T")

SUMMARY_COLUMNS = (
    "trace_id, name, agent_name, session_id, status, start_us, end_us, duration, has_errors, "
    "error_count, run_count, think_count, tool_count, tokens_used, cost_usd, input_preview, "
    "output_preview, error, tags, metadata, tools, models"
)
"""The roll-up columns a `TraceSummary` is read from (`summary_from_row`)."""

INDEXABLE: dict[str, str | None] = {
    "trace_id": None,  # the primary key
    "agent_name": "CREATE INDEX IF NOT EXISTS ix_traces_agent ON traces (agent_name, start_us)",
    "session_id": "CREATE INDEX IF NOT EXISTS ix_traces_session ON traces (session_id, start_us)",
    "timestamp": "CREATE INDEX IF NOT EXISTS ix_traces_start ON traces (start_us, trace_id)",
    "start_time": "CREATE INDEX IF NOT EXISTS ix_traces_start ON traces (start_us, trace_id)",
    "status": "CREATE INDEX IF NOT EXISTS ix_traces_status ON traces (status, start_us)",
    "has_errors": "CREATE INDEX IF NOT EXISTS ix_traces_errors ON traces (has_errors, start_us)",
    "duration": "CREATE INDEX IF NOT EXISTS ix_traces_duration ON traces (duration)",
    "tokens_used": "CREATE INDEX IF NOT EXISTS ix_traces_tokens ON traces (tokens_used)",
    "tool_name": "CREATE INDEX IF NOT EXISTS ix_runs_tool ON runs (tool_name, start_us) "
    "WHERE tool_name IS NOT NULL",
    "run_type": "CREATE INDEX IF NOT EXISTS ix_runs_type ON runs (run_type, start_us)",
}
"""Names `create_indexes` accepts, and the index each one means (the same SQL on both)."""


MAX_FACET_VALUES = 10_000
"""Most values of one facet read to match a typed text against (the most used first)."""


class Analytics(Protocol):
    """The aggregates a backend's analytics module computes in SQL (first argument: its
    connection or cursor)."""

    def trace_stats(self, db: Any, where: str, params: list[Any], /) -> TraceStats: ...

    def time_series(
        self, db: Any, where: str, params: list[Any], interval_us: int, /
    ) -> list[TimeBucket]: ...

    def error_groups(
        self, db: Any, where: str, params: list[Any], /, *, limit: int, examples: int
    ) -> list[ErrorGroup]: ...


def summary_from_row(row: Sequence[Any], json: Callable[[Any], Any]) -> TraceSummary:
    """A TraceSummary from a row of `SUMMARY_COLUMNS`; `json` decodes a JSON column."""
    return TraceSummary(
        trace_id=row[0],
        name=row[1],
        agent_name=row[2],
        session_id=row[3],
        status=row[4],
        start_us=row[5],
        end_us=row[6],
        duration=row[7],
        has_errors=bool(row[8]),
        error_count=row[9],
        run_count=row[10],
        think_count=row[11],
        tool_count=row[12],
        tokens_used=row[13],
        cost_usd=None if row[14] is None else float(row[14]),
        input_preview=row[15],
        output_preview=row[16],
        error=row[17],
        tags=json(row[18]),
        metadata=json(row[19]),
        tools=json(row[20]),
        models=json(row[21]),
    )


class SQLTraceStorage(SQLEvalStore, TraceStorage):
    """A storage whose traces live in the SQL layout SQLite and PostgreSQL share."""

    supports_partial = True
    dialect: ClassVar[Dialect]
    analytics: ClassVar[Analytics]
    backend: ClassVar[str]
    """The backend's name, for messages."""
    run_columns: ClassVar[str]
    """What `_record` reads of a record (`r` is the runs table)."""
    options: dict[str, Any]

    # -- what a backend supplies -----------------------------------------------------

    @abstractmethod
    def _read(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        """All rows of one query."""

    @abstractmethod
    def _aggregate(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(db, *args, **kwargs)` on a connection (or cursor) of this storage."""

    @abstractmethod
    def _execute_all(self, statements: Sequence[str]) -> None:
        """Run statements that return nothing (schema changes)."""

    @staticmethod
    @abstractmethod
    def _json(value: Any) -> Any:
        """A JSON column's value as read, decoded."""

    @staticmethod
    @abstractmethod
    def _record(row: Sequence[Any]) -> RunRecord:
        """A record from a row of `run_columns`."""

    def _trace_where(self, f: TraceFilter | None) -> tuple[str, list[Any]]:
        return trace_where(f, self.dialect)

    def _search_page(
        self, f: TraceFilter, limit: int, after: tuple[Any, str] | None, column: str, desc: bool
    ) -> list[TraceSummary] | None:
        """A page of a text search found by a faster plan than the WHERE clause; None
        when there is none (the default)."""
        return None

    def _limit(self, sql: str, params: list[Any], limit: int | None, offset: int) -> str:
        """`sql` with LIMIT/OFFSET added when they restrict anything."""
        if limit is None and not offset:
            return sql
        params += [self.dialect.no_limit if limit is None else limit, offset]
        return f"{sql} LIMIT {self.dialect.mark} OFFSET {self.dialect.mark}"

    def _summary(self, row: Sequence[Any]) -> TraceSummary:
        return summary_from_row(row, self._json)

    # -- reads -------------------------------------------------------------------------

    def count_traces_sync(self, filter: TraceFilter | None = None) -> int:
        """How many traces match (sync)."""
        where, params = self._trace_where(filter)
        return int(self._read(f"SELECT COUNT(*) FROM traces WHERE {where}", params)[0][0])

    def query_runs_sync(
        self, filter: RunFilter | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[RunRecord]:
        """Records matching `filter`, oldest first (sync)."""
        where, params = run_where(filter, self.dialect)
        sql = f"SELECT {self.run_columns} FROM runs r WHERE {where} ORDER BY r.start_us, r.run_id"
        sql = self._limit(sql, params, limit, offset)
        return [self._record(row) for row in self._read(sql, params)]

    def count_runs_sync(self, filter: RunFilter | None = None) -> int:
        """How many records match (sync)."""
        where, params = run_where(filter, self.dialect)
        return int(self._read(f"SELECT COUNT(*) FROM runs r WHERE {where}", params)[0][0])

    def get_record_sync(self, trace_id: str, run_id: str) -> RunRecord | None:
        """One record with its full payload, read alone (sync)."""
        mark = self.dialect.mark
        rows = self._read(
            f"SELECT {self.run_columns} FROM runs r WHERE trace_id = {mark} AND run_id = {mark}",
            [trace_id, run_id],
        )
        return self._record(rows[0]) if rows else None

    def writer_stats_sync(self, *, limit: int = 1000) -> list[WriterHealth]:
        """Persisted writer counters, most recently updated first (sync)."""
        rows = self._read(
            f"SELECT {', '.join(HEALTH_COLUMNS)} FROM writer_health "
            f"ORDER BY updated_us DESC, writer_id DESC LIMIT {self.dialect.mark}",
            [limit],
        )
        return [health_from_row(row) for row in rows]

    # -- viewer support: summaries, keyset pages, change feed --------------------------

    def query_summaries_sync(
        self,
        filter: TraceFilter | None = None,
        *,
        limit: int = 50,
        after: tuple[float, str] | None = None,
        order_by: str = "-start_time",
    ) -> list[TraceSummary]:
        """One keyset page of summaries from the roll-up columns (sync; no records read)."""
        column, direction, op = order_clause(order_by)
        if filter is not None and filter.text:
            page = self._search_page(filter, limit, after, column, direction == "DESC")
            if page is not None:
                return page
        where, params = self._trace_where(filter)
        mark = self.dialect.mark
        if after is not None:
            where += f" AND ({column}, trace_id) {op} ({mark}, {mark})"
            params += [after[0], after[1]]
        rows = self._read(
            f"SELECT {SUMMARY_COLUMNS} FROM traces WHERE {where} "
            f"ORDER BY {column} {direction}, trace_id {direction} LIMIT {mark}",
            [*params, limit],
        )
        return [self._summary(row) for row in rows]

    def summaries_changed_since_sync(
        self, since: int, *, limit: int = 500
    ) -> list[tuple[int, TraceSummary]]:
        """(stamp, summary) of traces written after stamp `since`, oldest first (sync)."""
        mark = self.dialect.mark
        rows = self._read(
            f"SELECT {SUMMARY_COLUMNS}, updated_us FROM traces WHERE updated_us > {mark} "
            f"ORDER BY updated_us LIMIT {mark}",
            [since, limit],
        )
        return [(int(row[-1]), self._summary(row)) for row in rows]

    # -- aggregates in SQL (definitions in myagent.trace.stats) ------------------------

    def trace_stats_sync(self, filter: TraceFilter | None = None) -> TraceStats:
        """Figures over the finished traces matching `filter`, computed in SQL (sync)."""
        return self._aggregate(self.analytics.trace_stats, *self._trace_where(filter))

    def time_series_sync(
        self, filter: TraceFilter | None = None, *, interval_us: int
    ) -> list[TimeBucket]:
        """Figures per epoch-aligned interval of trace start times (sync)."""
        where, params = self._trace_where(filter)
        return self._aggregate(self.analytics.time_series, where, params, interval_us)

    def error_groups_sync(
        self, filter: TraceFilter | None = None, *, limit: int = 50, examples: int = 5
    ) -> list[ErrorGroup]:
        """Failures of the matching traces, grouped by error type and message (sync)."""
        if filter is not None and filter.has_errors is False:
            return []
        where, params = self._trace_where(filter)
        return self._aggregate(
            self.analytics.error_groups, where, params, limit=limit, examples=examples
        )

    # -- retention and tuning ----------------------------------------------------------

    @abstractmethod
    def delete_traces_sync(self, trace_ids: Sequence[str]) -> int:
        """Delete traces and their records; returns how many traces existed (sync)."""

    def cleanup_sync(
        self, *, older_than: datetime | None = None, max_count: int | None = None
    ) -> int:
        """Retention (sync): drop traces started before `older_than`, then all but the
        newest `max_count`."""
        mark = self.dialect.mark
        doomed: list[str] = []
        if older_than is not None:
            rows = self._read(
                f"SELECT trace_id FROM traces WHERE start_us < {mark}",
                [datetime_to_us(older_than)],
            )
            doomed += [r[0] for r in rows]
        if max_count is not None:
            skip = set(doomed)
            rows = self._read(
                "SELECT trace_id FROM traces ORDER BY start_us DESC, trace_id DESC "
                f"LIMIT {mark} OFFSET {mark}",
                [self.dialect.no_limit, max_count],
            )
            doomed += [r[0] for r in rows if r[0] not in skip]
        return self.delete_traces_sync(doomed) if doomed else 0

    def create_indexes(self, names: Sequence[str]) -> list[str]:
        """Make sure an index exists for each named field (see `INDEXABLE`).

        The common ones exist from the start; this adds the optional ones. Returns the
        names it accepted; an unknown name raises ValueError.
        """
        unknown = [n for n in names if n not in INDEXABLE]
        if unknown:
            raise ValueError(f"cannot index {unknown}; indexable: {sorted(INDEXABLE)}")
        self._execute_all([sql for sql in (INDEXABLE[name] for name in names) if sql])
        return list(names)

    def configure(self, **options: Any) -> None:
        """Accepts `partition_by_time` (recorded; the time index serves range queries)."""
        unknown = set(options) - set(self.options)
        if unknown:
            raise TypeError(f"unknown {self.backend} storage option(s) {sorted(unknown)}")
        self.options.update(options)

    # -- the async face: each sync method in a worker thread ---------------------------

    @abstractmethod
    def get_trace_sync(self, trace_id: str) -> Trace | None:
        """One whole trace, or None (sync)."""

    def query_traces_sync(
        self,
        filter: TraceFilter | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        order_by: str = "-start_time",
    ) -> list[Trace]:
        """Whole traces matching `filter`, in `order_by` order (sync)."""
        return self._query_traces(filter, limit, offset, order_by)

    @abstractmethod
    def _query_traces(
        self, f: TraceFilter | None, limit: int | None, offset: int, order_by: str
    ) -> list[Trace]:
        """`query_traces_sync`, as this backend reads best."""

    @abstractmethod
    def tool_stats_sync(self, filter: RunFilter | None = None) -> dict[str, ToolStats]:
        """Per-tool figures over the matching tool records, computed in SQL (sync)."""

    @abstractmethod
    def agent_names_sync(self, limit: int = 200) -> list[str]:
        """Distinct agent names in code-point order (sync)."""

    def facet_values_sync(
        self, field: FacetField, *, search: str | None = None, limit: int = 50
    ) -> list[FacetValue]:
        """A facet's values and trace counts from `trace_facets` (the table triggers keep),
        the most used 10,000 of them ranked by `facets.rank_facets` (sync)."""
        mark = self.dialect.mark
        rows = self._read(
            f"SELECT value, n FROM trace_facets WHERE field = {mark} AND n > 0 "
            f"ORDER BY n DESC LIMIT {MAX_FACET_VALUES}",
            [field],
        )
        return rank_facets(((value, int(n)) for value, n in rows), search, limit)

    @abstractmethod
    def query_sessions_sync(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """Sessions by latest activity, summed from trace roll-ups (sync)."""

    @abstractmethod
    def store_writer_stats_sync(self, health: WriterHealth) -> None:
        """Upsert one writer's counters (sync)."""

    @abstractmethod
    def close_sync(self) -> None:
        """Release this process's connections."""

    async def store_writer_stats(self, health: WriterHealth) -> None:
        self.store_writer_stats_sync(health)  # inline: the writer calls it on its thread

    async def writer_stats(self, *, limit: int = 1000) -> list[WriterHealth]:
        return await asyncio.to_thread(self.writer_stats_sync, limit=limit)

    async def get_trace(self, trace_id: str) -> Trace | None:
        return await asyncio.to_thread(self.get_trace_sync, trace_id)

    async def query_traces(
        self,
        filter: TraceFilter | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        order_by: str = "-start_time",
    ) -> list[Trace]:
        return await asyncio.to_thread(
            self.query_traces_sync, filter, limit=limit, offset=offset, order_by=order_by
        )

    async def count_traces(self, filter: TraceFilter | None = None) -> int:
        return await asyncio.to_thread(self.count_traces_sync, filter)

    async def query_runs(
        self, filter: RunFilter | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[RunRecord]:
        return await asyncio.to_thread(self.query_runs_sync, filter, limit=limit, offset=offset)

    async def count_runs(self, filter: RunFilter | None = None) -> int:
        return await asyncio.to_thread(self.count_runs_sync, filter)

    async def delete_traces(self, trace_ids: Sequence[str]) -> int:
        return await asyncio.to_thread(self.delete_traces_sync, trace_ids)

    async def cleanup(
        self, *, older_than: datetime | None = None, max_count: int | None = None
    ) -> int:
        return await asyncio.to_thread(
            self.cleanup_sync, older_than=older_than, max_count=max_count
        )

    async def close(self) -> None:
        self.close_sync()

    async def trace_stats(self, filter: TraceFilter | None = None) -> TraceStats:
        return await asyncio.to_thread(self.trace_stats_sync, filter)

    async def tool_stats(self, filter: RunFilter | None = None) -> dict[str, ToolStats]:
        return await asyncio.to_thread(self.tool_stats_sync, filter)

    async def time_series(
        self, filter: TraceFilter | None = None, *, interval_us: int
    ) -> list[TimeBucket]:
        return await asyncio.to_thread(self.time_series_sync, filter, interval_us=interval_us)

    async def error_groups(
        self, filter: TraceFilter | None = None, *, limit: int = 50, examples: int = 5
    ) -> list[ErrorGroup]:
        return await asyncio.to_thread(
            self.error_groups_sync, filter, limit=limit, examples=examples
        )

    async def query_summaries(
        self,
        filter: TraceFilter | None = None,
        *,
        limit: int = 50,
        after: tuple[float, str] | None = None,
        order_by: str = "-start_time",
    ) -> list[TraceSummary]:
        return await asyncio.to_thread(
            self.query_summaries_sync, filter, limit=limit, after=after, order_by=order_by
        )

    async def summaries_changed_since(
        self, since: int, *, limit: int = 500
    ) -> list[tuple[int, TraceSummary]] | None:
        return await asyncio.to_thread(self.summaries_changed_since_sync, since, limit=limit)

    async def get_record(self, trace_id: str, run_id: str) -> RunRecord | None:
        return await asyncio.to_thread(self.get_record_sync, trace_id, run_id)

    async def agent_names(self, limit: int = 200) -> list[str]:
        return await asyncio.to_thread(self.agent_names_sync, limit)

    async def facet_values(
        self, field: FacetField, *, search: str | None = None, limit: int = 50
    ) -> list[FacetValue]:
        return await asyncio.to_thread(self.facet_values_sync, field, search=search, limit=limit)

    async def query_sessions(self, *, limit: int = 100) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.query_sessions_sync, limit=limit)
