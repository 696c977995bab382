"""TraceAnalyzer: agent performance, tool usage, time series for charts, error groups.

Figures are computed by the storage backend (in SQL on SQLite, over covering
indexes), with the definitions of `myagent.trace.stats`: response times are trace
durations in seconds, success rates are percents (0-100) of traces whose status is
success, error figures count traces with `has_errors`, and percentiles are
nearest-rank. Sync methods work inside and outside an event loop; async twins are
prefixed `a`.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import datetime, timedelta

from myagent.trace.filters import RunFilter, TraceFilter
from myagent.trace.ids import datetime_to_us
from myagent.trace.query import resolve_storage
from myagent.trace.setup import get_trace_manager
from myagent.trace.stats import (
    AgentStats,
    ErrorGroup,
    TimeBucket,
    ToolStats,
    TraceStats,
    bucket_start,
)
from myagent.trace.storage.base import TraceStorage
from myagent.trace.sync_bridge import run_sync

__all__ = [
    "AgentStats",
    "ErrorGroup",
    "TimeBucket",
    "ToolStats",
    "TraceAnalyzer",
    "TraceStats",
]

MAX_BUCKETS = 10_000
"""Most buckets one time series may hold (gaps filled included)."""


def _trace_filter(
    filter: TraceFilter | None,
    agent_name: str | None,
    start_time: datetime | None,
    end_time: datetime | None,
) -> TraceFilter:
    """`filter` with the keyword shortcuts applied on top (they win over its fields)."""
    out = filter or TraceFilter()
    if agent_name is not None:
        out = replace(out, agent_names=[agent_name])
    if start_time is not None:
        out = replace(out, start_time=start_time)
    if end_time is not None:
        out = replace(out, end_time=end_time)
    return out


def _interval_us(interval: timedelta | float) -> int:
    seconds = interval.total_seconds() if isinstance(interval, timedelta) else float(interval)
    us = round(seconds * 1_000_000)
    if us < 1:
        raise ValueError("interval must be positive")
    return us


class TraceAnalyzer:
    """Performance figures over stored traces (default: the global manager's storage)."""

    def __init__(self, storage: TraceStorage | None = None) -> None:
        self._storage = storage

    @property
    def storage(self) -> TraceStorage:
        """The backend analysed: the one given, or the global manager's current one."""
        return self._storage if self._storage is not None else get_trace_manager().storage

    async def _store(self) -> TraceStorage:
        return await resolve_storage(self._storage)

    # -- traces ----------------------------------------------------------------------

    async def aanalyze_traces(self, filter: TraceFilter | None = None) -> TraceStats:
        """`TraceStats` over the finished traces matching `filter`."""
        store = await self._store()
        return await store.trace_stats(filter)

    def analyze_traces(self, filter: TraceFilter | None = None) -> TraceStats:
        """`TraceStats` over the finished traces matching `filter`."""
        return run_sync(self.aanalyze_traces(filter))

    async def aanalyze_agent_performance(
        self,
        agent_name: str,
        *,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
    ) -> AgentStats:
        """One agent's trace count, response times (avg, p50, p95, p99 in seconds),
        success rate (percent), tokens, cost and most used tool."""
        window = _trace_filter(None, agent_name, start_time, end_time)
        stats = await self.aanalyze_traces(window)
        values = {f.name: getattr(stats, f.name) for f in fields(stats)}
        return AgentStats(agent_name=agent_name, **values)

    def analyze_agent_performance(
        self,
        agent_name: str,
        *,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
    ) -> AgentStats:
        """One agent's trace count, response times, success rate, tokens, cost and most
        used tool."""
        return run_sync(
            self.aanalyze_agent_performance(agent_name, start_time=start_time, end_time=end_time)
        )

    # -- tools -----------------------------------------------------------------------

    async def aanalyze_tool_usage(
        self,
        filter: RunFilter | None = None,
        *,
        agent_name: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
    ) -> dict[str, ToolStats]:
        """{tool name: ToolStats} (calls, success rate, avg/p50/p95/p99 duration, errors)
        over the tool records matching `filter` and the keyword shortcuts."""
        runs = filter or RunFilter()
        if agent_name is not None:
            runs = replace(runs, agent_names=[agent_name])
        if start_time is not None:
            runs = replace(runs, start_time=start_time)
        if end_time is not None:
            runs = replace(runs, end_time=end_time)
        store = await self._store()
        return await store.tool_stats(runs)

    def analyze_tool_usage(
        self,
        filter: RunFilter | None = None,
        *,
        agent_name: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
    ) -> dict[str, ToolStats]:
        """{tool name: ToolStats} over the matching tool records."""
        return run_sync(
            self.aanalyze_tool_usage(
                filter, agent_name=agent_name, start_time=start_time, end_time=end_time
            )
        )

    # -- time series -----------------------------------------------------------------

    async def atime_series(
        self,
        interval: timedelta | float = timedelta(hours=1),
        filter: TraceFilter | None = None,
        *,
        agent_name: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        fill: bool = True,
    ) -> list[TimeBucket]:
        """Figures per interval (a timedelta or seconds) of trace start times, oldest
        first, buckets aligned to the Unix epoch. With `fill`, empty intervals between
        the first and last bucket (or `start_time` and `end_time`) appear with zeros."""
        interval_us = _interval_us(interval)
        window = _trace_filter(filter, agent_name, start_time, end_time)
        store = await self._store()
        buckets = await store.time_series(window, interval_us=interval_us)
        if not fill:
            return buckets
        first = [b.start_us for b in buckets[:1]]
        last = [b.start_us for b in buckets[-1:]]
        if window.start_time is not None:
            first = [bucket_start(datetime_to_us(window.start_time), interval_us)]
        if window.end_time is not None:
            last = [bucket_start(datetime_to_us(window.end_time), interval_us)]
        if not first or not last:
            return buckets
        if (last[0] - first[0]) // interval_us + 1 > MAX_BUCKETS:
            raise ValueError(f"more than {MAX_BUCKETS} buckets; use a longer interval")
        have = {b.start_us: b for b in buckets}
        return [
            have.get(start) or TimeBucket(start_us=start)
            for start in range(first[0], last[0] + 1, interval_us)
        ]

    def time_series(
        self,
        interval: timedelta | float = timedelta(hours=1),
        filter: TraceFilter | None = None,
        *,
        agent_name: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        fill: bool = True,
    ) -> list[TimeBucket]:
        """Figures per interval of trace start times, oldest first (see `atime_series`)."""
        return run_sync(
            self.atime_series(
                interval,
                filter,
                agent_name=agent_name,
                start_time=start_time,
                end_time=end_time,
                fill=fill,
            )
        )

    # -- errors ----------------------------------------------------------------------

    async def aanalyze_errors(
        self,
        filter: TraceFilter | None = None,
        *,
        agent_name: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        limit: int = 20,
        examples: int = 5,
    ) -> list[ErrorGroup]:
        """Failures of traces with errors grouped by (error type, message), most frequent
        first, each with up to `examples` trace ids (most recent first)."""
        window = _trace_filter(filter, agent_name, start_time, end_time)
        store = await self._store()
        return await store.error_groups(window, limit=limit, examples=examples)

    def analyze_errors(
        self,
        filter: TraceFilter | None = None,
        *,
        agent_name: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        limit: int = 20,
        examples: int = 5,
    ) -> list[ErrorGroup]:
        """Failures grouped by (error type, message), most frequent first."""
        return run_sync(
            self.aanalyze_errors(
                filter,
                agent_name=agent_name,
                start_time=start_time,
                end_time=end_time,
                limit=limit,
                examples=examples,
            )
        )
