"""The trace manager's read side: queries over its storage that first flush its pending
writes, each with a sync form that works inside and outside a running event loop."""

from __future__ import annotations

from collections.abc import Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from myagent.trace.filters import RunFilter, TraceFilter
from myagent.trace.records import RunRecord, Trace
from myagent.trace.sync_bridge import run_sync

if TYPE_CHECKING:
    from myagent.trace.config import TraceConfig
    from myagent.trace.storage.base import TraceStorage
    from myagent.trace.storage.writer import BackgroundWriter

T = TypeVar("T")


class TraceQueriesMixin:
    """Mixed into TraceManager, which supplies the writer, the storage, the running traces
    and the configuration."""

    _writer: BackgroundWriter
    _storage: TraceStorage
    _active: dict[str, Trace]
    config: TraceConfig

    async def _aflush(self) -> None:
        if self._writer.pending:
            import asyncio

            await asyncio.to_thread(self._writer.flush, self.config.shutdown_timeout)

    def _sync(self, coro: Coroutine[Any, Any, T]) -> T:
        return run_sync(coro)

    async def aquery_traces(
        self,
        filter: TraceFilter | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        order_by: str = "-start_time",
    ) -> list[Trace]:
        """Traces matching `filter` (newest first by default), pending writes included."""
        await self._aflush()
        return await self._storage.query_traces(
            filter, limit=limit, offset=offset, order_by=order_by
        )

    def query_traces(
        self,
        filter: TraceFilter | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        order_by: str = "-start_time",
    ) -> list[Trace]:
        """Traces matching `filter` (newest first by default), pending writes included."""
        return self._sync(self.aquery_traces(filter, limit=limit, offset=offset, order_by=order_by))

    async def aquery_runs(
        self, filter: RunFilter | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[RunRecord]:
        """Records matching `filter`, oldest first."""
        await self._aflush()
        return await self._storage.query_runs(filter, limit=limit, offset=offset)

    async def aget_trace(self, trace_id: str) -> Trace | None:
        """One trace by id (running or stored)."""
        active = self._active.get(trace_id)
        if active is not None:
            return active
        await self._aflush()
        return await self._storage.get_trace(trace_id)

    def get_trace(self, trace_id: str) -> Trace | None:
        """One trace by id (running or stored)."""
        return self._sync(self.aget_trace(trace_id))

    async def aget_all_traces(self, limit: int | None = None) -> list[Trace]:
        """Every stored trace, oldest first (running ones included where storage has them)."""
        return await self.aquery_traces(None, limit=limit, order_by="start_time")

    def get_all_traces(self, limit: int | None = None) -> list[Trace]:
        """Every stored trace, oldest first (running ones included where storage has them)."""
        return self._sync(self.aget_all_traces(limit))

    async def aget_traces_by_agent(self, agent_name: str) -> list[Trace]:
        """One agent's traces, oldest first."""
        return await self.aquery_traces(
            TraceFilter(agent_names=[agent_name]), order_by="start_time"
        )

    def get_traces_by_agent(self, agent_name: str) -> list[Trace]:
        """One agent's traces, oldest first."""
        return self._sync(self.aget_traces_by_agent(agent_name))

    async def aget_traces_by_session(self, session_id: str) -> list[Trace]:
        """One session's traces, oldest first."""
        return await self.aquery_traces(
            TraceFilter(session_ids=[session_id]), order_by="start_time"
        )

    def get_traces_by_session(self, session_id: str) -> list[Trace]:
        """One session's traces, oldest first."""
        return self._sync(self.aget_traces_by_session(session_id))

    async def aget_traces_by_time_range(
        self, start_time: datetime | None = None, end_time: datetime | None = None
    ) -> list[Trace]:
        """Traces that started within [start_time, end_time]; naive datetimes are local time."""
        window = TraceFilter(start_time=start_time, end_time=end_time)
        return await self.aquery_traces(window, order_by="start_time")

    def get_traces_by_time_range(
        self, start_time: datetime | None = None, end_time: datetime | None = None
    ) -> list[Trace]:
        """Traces that started within [start_time, end_time]; naive datetimes are local time."""
        return self._sync(self.aget_traces_by_time_range(start_time, end_time))
