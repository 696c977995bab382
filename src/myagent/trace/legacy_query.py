"""The earlier query engine's statistics, over today's queries.

`TraceQueryEngine.get_trace_statistics()` / `get_run_statistics()`, computed from the one
query layer (counts and aggregates in the database; run durations read page by page).
Results are awaitable as well as plain values (see `awaitable.py`).
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import replace

from myagent.trace.awaitable import Figures
from myagent.trace.filters import RunFilter, TraceFilter
from myagent.trace.records import RunType, TraceStatus
from myagent.trace.storage.base import TraceStorage
from myagent.trace.sync_bridge import run_sync

_PAGE = 1000


async def trace_statistics(store: TraceStorage, filter: TraceFilter | None) -> Figures:
    """total_traces, avg_duration_ms, total_cost, total_tokens, error_rate (0-1) and
    status_distribution of the finished traces matching `filter`."""
    stats = await store.trace_stats(filter)
    base = filter or TraceFilter()
    statuses = {}
    for status in TraceStatus:
        count = await store.count_traces(replace(base, statuses=[status.value]))
        if count:
            statuses[status.value] = count
    total = stats.trace_count
    return Figures(
        total_traces=total,
        avg_duration_ms=stats.avg_response_time * 1000,
        total_cost=stats.total_cost,
        total_tokens=stats.total_tokens,
        error_rate=(total - stats.success_count) / total if total else 0.0,
        status_distribution=statuses,
    )


async def run_statistics(store: TraceStorage, filter: RunFilter | None) -> Figures:
    """total_runs, avg_duration_ms, error_rate (0-1), type_distribution and
    status_distribution of the records matching `filter`."""
    base = filter or RunFilter()
    total = await store.count_runs(base)
    errors = await store.count_runs(replace(base, errors_only=True, success_only=False))
    types = {}
    for kind in RunType:
        count = await store.count_runs(replace(base, run_types=[kind.value]))
        if count:
            types[kind.value] = count
    durations: list[float] = []
    offset = 0
    while offset < total:
        page = await store.query_runs(base, limit=_PAGE, offset=offset)
        if not page:
            break
        durations.extend(r.duration for r in page if r.duration is not None)
        offset += len(page)
    statuses = {
        key: value for key, value in (("success", total - errors), ("error", errors)) if value
    }
    return Figures(
        total_runs=total,
        avg_duration_ms=sum(durations) / len(durations) * 1000 if durations else 0.0,
        error_rate=errors / total if total else 0.0,
        type_distribution=types,
        status_distribution=statuses,
    )


class LegacyQueryMethods:
    """`get_trace_statistics` and `get_run_statistics`, mixed into TraceQueryEngine (which
    provides `_store`)."""

    __slots__ = ()

    @abstractmethod  # supplied by the class this is mixed into
    async def _store(self) -> TraceStorage: ...

    async def _trace_statistics(self, filter: TraceFilter | None) -> Figures:
        return await trace_statistics(await self._store(), filter)

    async def _run_statistics(self, filter: RunFilter | None) -> Figures:
        return await run_statistics(await self._store(), filter)

    def get_trace_statistics(self, filter: TraceFilter | None = None) -> Figures:
        """Figures over the matching traces (awaitable too, as the earlier API was)."""
        return run_sync(self._trace_statistics(filter))

    def get_run_statistics(self, filter: RunFilter | None = None) -> Figures:
        """Figures over the matching records (awaitable too, as the earlier API was)."""
        return run_sync(self._run_statistics(filter))
