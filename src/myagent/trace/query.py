"""TraceQueryEngine: find traces and records with filters, full-text search and counts.

Every query is translated by the storage backend into its own query language (SQL
with indexes on SQLite); nothing here loads every trace to filter it. Sync methods
work inside and outside a running event loop; each has an async twin prefixed `a`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import datetime

from myagent.trace.awaitable import Results
from myagent.trace.filters import RunFilter, TraceFilter
from myagent.trace.legacy import QueryOptions
from myagent.trace.legacy_query import LegacyQueryMethods
from myagent.trace.records import RunRecord, ToolRecord, Trace
from myagent.trace.setup import get_trace_manager, peek_trace_manager
from myagent.trace.storage.base import TraceStorage
from myagent.trace.summary import TraceSummary
from myagent.trace.sync_bridge import run_sync


async def resolve_storage(storage: TraceStorage | None) -> TraceStorage:
    """`storage`, or the global manager's storage; when it is the global manager's (also
    when given, as `TraceQueryEngine(manager.storage)` does), its pending writes are
    flushed first, so traces just recorded are visible to the next query."""
    manager = get_trace_manager() if storage is None else peek_trace_manager()
    if manager is not None and (storage is None or storage is manager.storage):
        await manager._aflush()
        return manager.storage
    assert storage is not None
    return storage


def _tool_filter(filter: RunFilter | None) -> RunFilter:
    """`filter` narrowed to tool records."""
    base = filter or RunFilter()
    types = ["tool"] if base.run_types is None else [t for t in base.run_types if t == "tool"]
    return replace(base, run_types=types)


class TraceQueryEngine(LegacyQueryMethods):
    """Query traces of one storage (default: the global trace manager's storage).

    List results are `Results` (lists that old code may also `await`); the earlier
    `query_traces(filter, QueryOptions(...))` and `get_trace_statistics()` work too.
    """

    def __init__(self, storage: TraceStorage | None = None) -> None:
        self._storage = storage

    @property
    def storage(self) -> TraceStorage:
        """The backend queried: the one given, or the global manager's current one."""
        return self._storage if self._storage is not None else get_trace_manager().storage

    async def _store(self) -> TraceStorage:
        return await resolve_storage(self._storage)

    # -- traces ----------------------------------------------------------------------

    async def aquery_traces(
        self,
        filter: TraceFilter | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        order_by: str = "-start_time",
    ) -> list[Trace]:
        """Whole traces matching `filter`, `order_by` order (default newest first)."""
        store = await self._store()
        return await store.query_traces(filter, limit=limit, offset=offset, order_by=order_by)

    def query_traces(
        self,
        filter: TraceFilter | None = None,
        options: QueryOptions | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        order_by: str = "-start_time",
    ) -> Results[Trace]:
        """Whole traces matching `filter`, `order_by` order (default newest first).

        `options` (the earlier spelling) sets limit, offset and order instead."""
        if options is not None:
            limit, offset, order_by = options.limit, options.offset, options.order_by
        query = self.aquery_traces(filter, limit=limit, offset=offset, order_by=order_by)
        return Results(run_sync(query))

    async def aquery_summaries(
        self,
        filter: TraceFilter | None = None,
        *,
        limit: int = 50,
        after: tuple[float, str] | None = None,
        order_by: str = "-start_time",
    ) -> list[TraceSummary]:
        """One page of trace roll-ups (no records) after keyset cursor `after`: the sort
        value and trace id of the previous page's last row."""
        store = await self._store()
        return await store.query_summaries(filter, limit=limit, after=after, order_by=order_by)

    def query_summaries(
        self,
        filter: TraceFilter | None = None,
        *,
        limit: int = 50,
        after: tuple[float, str] | None = None,
        order_by: str = "-start_time",
    ) -> list[TraceSummary]:
        """One page of trace roll-ups (no records) after keyset cursor `after`."""
        return run_sync(self.aquery_summaries(filter, limit=limit, after=after, order_by=order_by))

    async def acount_traces(self, filter: TraceFilter | None = None) -> int:
        """How many traces match `filter`."""
        store = await self._store()
        return await store.count_traces(filter)

    def count_traces(self, filter: TraceFilter | None = None) -> int:
        """How many traces match `filter`."""
        return run_sync(self.acount_traces(filter))

    async def aget_trace(self, trace_id: str) -> Trace | None:
        """One trace with all its records, or None."""
        store = await self._store()
        return await store.get_trace(trace_id)

    def get_trace(self, trace_id: str) -> Trace | None:
        """One trace with all its records, or None."""
        return run_sync(self.aget_trace(trace_id))

    async def aget_all_traces(self, limit: int | None = None) -> list[Trace]:
        """Every trace (or the first `limit`), oldest first."""
        return await self.aquery_traces(None, limit=limit, order_by="start_time")

    def get_all_traces(self, limit: int | None = None) -> Results[Trace]:
        """Every trace (or the first `limit`), oldest first."""
        return Results(run_sync(self.aget_all_traces(limit)))

    async def aget_traces_by_agent(self, agent_name: str, limit: int | None = None) -> list[Trace]:
        """One agent's traces, oldest first."""
        agent = TraceFilter(agent_names=[agent_name])
        return await self.aquery_traces(agent, limit=limit, order_by="start_time")

    def get_traces_by_agent(self, agent_name: str, limit: int | None = None) -> Results[Trace]:
        """One agent's traces, oldest first."""
        return Results(run_sync(self.aget_traces_by_agent(agent_name, limit)))

    async def aget_traces_by_session(
        self, session_id: str, limit: int | None = None
    ) -> list[Trace]:
        """One session's traces, oldest first."""
        session = TraceFilter(session_ids=[session_id])
        return await self.aquery_traces(session, limit=limit, order_by="start_time")

    def get_traces_by_session(self, session_id: str, limit: int | None = None) -> Results[Trace]:
        """One session's traces, oldest first."""
        return Results(run_sync(self.aget_traces_by_session(session_id, limit)))

    async def aget_traces_by_time_range(
        self,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        limit: int | None = None,
    ) -> list[Trace]:
        """Traces that started within [start_time, end_time] (either end open), oldest
        first; naive datetimes are local time."""
        window = TraceFilter(start_time=start_time, end_time=end_time)
        return await self.aquery_traces(window, limit=limit, order_by="start_time")

    def get_traces_by_time_range(
        self,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        limit: int | None = None,
    ) -> Results[Trace]:
        """Traces that started within [start_time, end_time] (either end open), oldest first."""
        return Results(run_sync(self.aget_traces_by_time_range(start_time, end_time, limit)))

    async def aget_traces_with_errors(self, limit: int | None = None) -> list[Trace]:
        """Traces where the trace or any record failed (`has_errors`), oldest first."""
        errors = TraceFilter(has_errors=True)
        return await self.aquery_traces(errors, limit=limit, order_by="start_time")

    def get_traces_with_errors(self, limit: int | None = None) -> Results[Trace]:
        """Traces where the trace or any record failed (`has_errors`), oldest first."""
        return Results(run_sync(self.aget_traces_with_errors(limit)))

    async def asearch(
        self,
        text: str,
        filter: TraceFilter | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        order_by: str = "-start_time",
    ) -> list[Trace]:
        """Full-text search over inputs, outputs and errors (every word must start a word
        there), combined with `filter`; newest first by default."""
        found = replace(filter or TraceFilter(), text=text)
        return await self.aquery_traces(found, limit=limit, offset=offset, order_by=order_by)

    def search(
        self,
        text: str,
        filter: TraceFilter | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        order_by: str = "-start_time",
    ) -> list[Trace]:
        """Full-text search over inputs, outputs and errors, combined with `filter`."""
        return run_sync(self.asearch(text, filter, limit=limit, offset=offset, order_by=order_by))

    async def acount_search(self, text: str, filter: TraceFilter | None = None) -> int:
        """How many traces a full-text search finds."""
        return await self.acount_traces(replace(filter or TraceFilter(), text=text))

    def count_search(self, text: str, filter: TraceFilter | None = None) -> int:
        """How many traces a full-text search finds."""
        return run_sync(self.acount_search(text, filter))

    async def aiter_traces(
        self, filter: TraceFilter | None = None, *, batch_size: int = 500
    ) -> AsyncIterator[Trace]:
        """Every matching trace, oldest first, read a page at a time (constant memory)."""
        store = await self._store()
        after: tuple[float, str] | None = None
        while True:
            page = await store.query_summaries(
                filter, limit=batch_size, after=after, order_by="start_time"
            )
            if not page:
                return
            ids = [s.trace_id for s in page]
            for trace in await store.query_traces(
                TraceFilter(trace_ids=ids), order_by="start_time"
            ):
                yield trace
            after = (page[-1].start_us, page[-1].trace_id)

    def iter_traces(
        self, filter: TraceFilter | None = None, *, batch_size: int = 500
    ) -> Iterator[Trace]:
        """Every matching trace, oldest first, read a page at a time (constant memory)."""
        after: tuple[float, str] | None = None
        while True:
            page = self.query_summaries(
                filter, limit=batch_size, after=after, order_by="start_time"
            )
            if not page:
                return
            ids = [s.trace_id for s in page]
            yield from self.query_traces(TraceFilter(trace_ids=ids), order_by="start_time")
            after = (page[-1].start_us, page[-1].trace_id)

    # -- records ---------------------------------------------------------------------

    async def aquery_runs(
        self, filter: RunFilter | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[RunRecord]:
        """Records of any kind matching `filter`, oldest first."""
        store = await self._store()
        return await store.query_runs(filter, limit=limit, offset=offset)

    def query_runs(
        self,
        filter: RunFilter | None = None,
        options: QueryOptions | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> Results[RunRecord]:
        """Records of any kind matching `filter`, oldest first (`options`: limit, offset)."""
        if options is not None:
            limit, offset = options.limit, options.offset
        return Results(run_sync(self.aquery_runs(filter, limit=limit, offset=offset)))

    async def acount_runs(self, filter: RunFilter | None = None) -> int:
        """How many records match `filter`."""
        store = await self._store()
        return await store.count_runs(filter)

    def count_runs(self, filter: RunFilter | None = None) -> int:
        """How many records match `filter`."""
        return run_sync(self.acount_runs(filter))

    async def aquery_tool_runs(
        self, filter: RunFilter | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[ToolRecord]:
        """Tool executions matching `filter`, oldest first."""
        runs = await self.aquery_runs(_tool_filter(filter), limit=limit, offset=offset)
        return [run for run in runs if isinstance(run, ToolRecord)]

    def query_tool_runs(
        self, filter: RunFilter | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[ToolRecord]:
        """Tool executions matching `filter`, oldest first."""
        return run_sync(self.aquery_tool_runs(filter, limit=limit, offset=offset))

    async def acount_tool_runs(self, filter: RunFilter | None = None) -> int:
        """How many tool executions match `filter`."""
        return await self.acount_runs(_tool_filter(filter))

    def count_tool_runs(self, filter: RunFilter | None = None) -> int:
        """How many tool executions match `filter`."""
        return run_sync(self.acount_tool_runs(filter))
