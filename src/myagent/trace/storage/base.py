"""The storage extension point: one required async method, `store_trace`.

Everything else has a default so a write-only backend (ship traces somewhere) is a
five-line class. Backends that can answer queries override the query methods and
run them in their own query language, never by loading every trace into Python.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from myagent.trace.facets import FacetField, FacetValue, facet_counts_of, rank_facets
from myagent.trace.filters import TRACE_ORDERS, RunFilter, TraceFilter
from myagent.trace.records import RunRecord, Trace
from myagent.trace.stats import (
    ErrorGroup,
    TimeBucket,
    ToolStats,
    TraceStats,
    error_groups_of,
    time_series_of,
    tool_stats_of,
    trace_stats_of,
)
from myagent.trace.storage.eval_base import EvalStorage
from myagent.trace.storage.health import WriterHealth
from myagent.trace.summary import TraceSummary

_PROGRESS = threading.local()


def converting(trace: Trace | None) -> None:
    """Say which trace this thread converts now (None: conversion done, I/O next).

    Backends call it in `store_traces`/`store_partial` before converting each trace's
    values (the traced program's objects: their `__repr__`, `model_dump`, ... run then)
    and with None before any I/O. The background writer's watchdog then knows which
    trace a hang is in, gives up that one trace and lets the rest through. Costs one
    attribute lookup when no writer listens; backends that never call it still work (a
    hang inside them is treated as a storage hang: counted at the closing deadline).
    """
    listener: Callable[[Trace | None], None] | None = getattr(_PROGRESS, "listener", None)
    if listener is not None:
        listener(trace)


def skipped(trace: Trace, reason: str, error: BaseException | None = None) -> bool:
    """Say this backend will never store `trace` (its data cannot be converted or
    mapped), once per trace per `store_traces` call. The background writer then counts
    it as dropped under `reason` instead of written, and the rest of the batch goes on.
    Returns False when no writer listens (a direct call): then raise `error` instead."""
    listener: Callable[[Trace, str, BaseException | None], None] | None = getattr(
        _PROGRESS, "skip", None
    )
    if listener is None:
        return False
    listener(trace, reason, error)
    return True


def listen_to_conversions(
    listener: Callable[[Trace | None], None] | None,
    skip: Callable[[Trace, str, BaseException | None], None] | None = None,
) -> None:
    """Have `converting` (and `skipped`) calls on this thread go to `listener` (and
    `skip`): the background writer's watchdog and counters."""
    _PROGRESS.listener = listener
    _PROGRESS.skip = skip


class TraceStorage(EvalStorage, ABC):
    """Where finished traces go. Subclass and implement `store_trace`; the evaluation
    methods (scores, datasets, experiments: `EvalStorage`) are optional."""

    supports_partial: bool = False
    """True when `store_partial` persists running traces (for live views across processes)."""

    @abstractmethod
    async def store_trace(self, trace: Trace) -> None:
        """Persist one finished trace. Called once per trace; may be retried on failure."""

    async def store_traces(self, traces: Sequence[Trace]) -> None:
        """Persist a batch of finished traces; override to write them in one transaction."""
        for trace in traces:
            await self.store_trace(trace)

    async def store_partial(self, traces: Sequence[Trace]) -> None:
        """Persist traces that are still running, with the records they have so far."""

    async def get_trace(self, trace_id: str) -> Trace | None:
        """One trace with all its records, or None."""
        return None

    async def query_traces(
        self,
        filter: TraceFilter | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        order_by: str = "-start_time",
    ) -> list[Trace]:
        """Traces matching `filter`, whole, in `order_by` order (see `TRACE_ORDERS`)."""
        return []

    async def count_traces(self, filter: TraceFilter | None = None) -> int:
        """How many traces match `filter`."""
        return len(await self.query_traces(filter))

    async def query_runs(
        self, filter: RunFilter | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[RunRecord]:
        """Records matching `filter`, oldest first."""
        return []

    async def count_runs(self, filter: RunFilter | None = None) -> int:
        """How many records match `filter`."""
        return len(await self.query_runs(filter))

    async def delete_traces(self, trace_ids: Sequence[str]) -> int:
        """Delete traces (and their records); returns how many existed."""
        return 0

    async def cleanup(
        self, *, older_than: datetime | None = None, max_count: int | None = None
    ) -> int:
        """Retention: delete traces started before `older_than`, then all but the newest
        `max_count`. Returns how many were deleted."""
        return 0

    async def close(self) -> None:
        """Release connections and files."""

    # -- writer health: counters persisted for viewers in other processes -------------

    async def store_writer_stats(self, health: WriterHealth) -> None:
        """Upsert one writer's counters (keyed by `writer_id`); the default keeps nothing.

        Called by the background writer after its batches, best effort: a failure is
        ignored and the counters are written again with the next batch."""

    async def writer_stats(self, *, limit: int = 1000) -> list[WriterHealth]:
        """Persisted writer counters, most recently updated first (default: none)."""
        return []

    # -- aggregates (issue #4): defaults compute in Python over query results; SQL
    # backends override them with aggregates in the database. `myagent.trace.stats`
    # defines every figure; overrides must agree with it exactly.

    async def trace_stats(self, filter: TraceFilter | None = None) -> TraceStats:
        """Counts, success rate, response-time percentiles, tokens, cost and tool calls
        over the finished traces matching `filter`."""
        return trace_stats_of(await self.query_traces(filter))

    async def tool_stats(self, filter: RunFilter | None = None) -> dict[str, ToolStats]:
        """Per tool name: calls, successes, errors and durations of the matching tool records."""
        return tool_stats_of(await self.query_runs(filter))

    async def time_series(
        self, filter: TraceFilter | None = None, *, interval_us: int
    ) -> list[TimeBucket]:
        """Figures per epoch-aligned interval of trace start times, non-empty buckets only."""
        return time_series_of(await self.query_traces(filter), interval_us)

    async def error_groups(
        self, filter: TraceFilter | None = None, *, limit: int = 50, examples: int = 5
    ) -> list[ErrorGroup]:
        """Failures of the matching traces with errors, grouped by error type and message."""
        if filter is not None and filter.has_errors is False:
            return []
        only_errors = replace(filter or TraceFilter(), has_errors=True)
        traces = await self.query_traces(only_errors)
        return error_groups_of(traces, limit=limit, examples=examples)

    # -- viewer support: summaries, keyset pages, change feed (issue #7) -------------
    # Defaults work on any backend that answers `query_traces`; the SQL backends
    # (`sql_storage`) override them with indexed SQL over the stored roll-ups.

    async def query_summaries(
        self,
        filter: TraceFilter | None = None,
        *,
        limit: int = 50,
        after: tuple[float, str] | None = None,
        order_by: str = "-start_time",
    ) -> list[TraceSummary]:
        """One page of trace summaries in `order_by` order, after the keyset cursor `after`
        (the sort value and trace id of the last row of the previous page)."""
        traces = await self.query_traces(filter, order_by=order_by)
        summaries = [TraceSummary.from_trace(t) for t in traces]
        if after is not None:
            descending = order_by.startswith("-")
            key = order_by.lstrip("-")
            summaries = [
                s
                for s in summaries
                if (
                    (sort_value(s, key), s.trace_id) < after
                    if descending
                    else (sort_value(s, key), s.trace_id) > after
                )
            ]
        return summaries[:limit]

    async def summaries_changed_since(
        self, since: int, *, limit: int = 500
    ) -> list[tuple[int, TraceSummary]] | None:
        """(change stamp, summary) of traces written after stamp `since`, oldest change
        first; None when this backend keeps no change stamps."""
        return None

    async def get_record(self, trace_id: str, run_id: str) -> RunRecord | None:
        """One record of a trace, with its full payload."""
        trace = await self.get_trace(trace_id)
        if trace is None:
            return None
        return next((r for r in trace.runs if r.run_id == run_id), None)

    async def agent_names(self, limit: int = 200) -> list[str]:
        """Distinct agent names, sorted (for the viewer's filters and dashboard)."""
        names = {t.agent_name for t in await self.query_traces(None) if t.agent_name}
        return sorted(names)[:limit]

    async def facet_values(
        self, field: FacetField, *, search: str | None = None, limit: int = 50
    ) -> list[FacetValue]:
        """Values of filter field `field` in stored traces with their trace counts, ranked
        by `facets.rank_facets` (those containing `search`, prefix matches first)."""
        summaries = [TraceSummary.from_trace(t) for t in await self.query_traces(None)]
        return rank_facets(facet_counts_of(summaries, field).items(), search, limit)

    async def query_sessions(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """Sessions by latest activity: session_id, trace_count, first_us, last_us,
        error_traces, tokens_used, cost_usd (summed from the stored trace roll-ups)."""
        sessions: dict[str, dict[str, Any]] = {}
        for trace in await self.query_traces(None, order_by="start_time"):
            if trace.session_id is None:
                continue
            entry = sessions.setdefault(
                trace.session_id,
                {
                    "session_id": trace.session_id,
                    "trace_count": 0,
                    "first_us": trace.start_us,
                    "last_us": trace.start_us,
                    "error_traces": 0,
                    "tokens_used": 0,
                    "cost_usd": 0.0,
                },
            )
            entry["trace_count"] += 1
            entry["last_us"] = trace.start_us
            entry["error_traces"] += 1 if trace.has_errors else 0
            entry["tokens_used"] += trace.tokens_used
            entry["cost_usd"] += trace.cost_usd or 0.0
        ordered = sorted(sessions.values(), key=lambda e: (e["last_us"], e["session_id"]))
        return ordered[::-1][:limit]


def sort_value(summary: TraceSummary, key: str) -> float:
    """The value a trace list sorts on for order key `key` (`TRACE_ORDERS` without '-')."""
    if key == "start_time":
        return summary.start_us
    if key == "duration":
        return summary.duration or 0.0
    if key == "tokens":
        return summary.tokens_used
    if key == "cost":
        return summary.cost_usd or 0.0
    raise ValueError(f"order_by must be one of {TRACE_ORDERS}, not {key!r}")
