"""Dashboard figures, tool runs, error groups and sessions.

Every figure comes from the storage's aggregates (`myagent.trace.stats` defines them;
SQL backends compute them in the database); this module only maps HTTP onto them.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from myagent.trace.filters import RunFilter, TraceFilter
from myagent.trace.viewer.params import MAX_COUNT, MAX_SECONDS
from myagent.trace.viewer.payloads import json_response, record_outline
from myagent.trace.viewer.routes.traces import Filter, Settings, Source

router = APIRouter(prefix="/api", tags=["analytics"])
MAX_BUCKETS = 2000


@router.get("/stats")
async def overall_stats(src: Source, filter: Filter) -> dict[str, Any]:
    """Counts, success rate, response-time p50/p95/p99, tokens, cost and tool calls over
    the finished traces matching the filter."""
    stats = await src.storage.trace_stats(filter)
    return stats.to_dict()


@router.get("/stats/agents")
async def agent_stats(src: Source, filter: Filter) -> dict[str, Any]:
    """The same figures per agent (agents of the filter, else every agent)."""
    names = filter.agent_names or await src.storage.agent_names()
    agents = []
    for name in names[:100]:
        stats = await src.storage.trace_stats(dataclasses.replace(filter, agent_names=[name]))
        agents.append({"agent_name": name, **stats.to_dict()})
    return {"agents": agents}


def _run_filter(
    agent: list[str] | None,
    tool: list[str] | None,
    run_type: list[str] | None,
    trace_id: list[str] | None,
    start: datetime | None,
    end: datetime | None,
    min_duration: float | None = None,
    max_duration: float | None = None,
    errors_only: bool = False,
    success_only: bool = False,
) -> RunFilter:
    return RunFilter(
        agent_names=agent or None,
        tool_names=tool or None,
        run_types=run_type or None,
        trace_ids=trace_id or None,
        start_time=start,
        end_time=end,
        min_duration=min_duration,
        max_duration=max_duration,
        errors_only=errors_only,
        success_only=success_only,
    )


@router.get("/stats/tools")
async def tool_stats(
    src: Source,
    agent: Annotated[list[str] | None, Query()] = None,
    tool: Annotated[list[str] | None, Query()] = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    """Per tool: calls, failures, success rate, average and p50/p95/p99 durations."""
    runs = _run_filter(agent, tool, ["tool"], None, start, end)
    stats = await src.storage.tool_stats(runs)
    return {"tools": [s.to_dict() for s in stats.values()]}


@router.get("/stats/timeseries")
async def time_series(
    src: Source,
    filter: Filter,
    interval: Annotated[int, Query(ge=1, le=366 * 86400, description="seconds")] = 3600,
) -> dict[str, Any]:
    """Figures per time bucket of trace start times (non-empty buckets, oldest first)."""
    buckets = await src.storage.time_series(filter, interval_us=interval * 1_000_000)
    return {"interval": interval, "buckets": [b.to_dict() for b in buckets[-MAX_BUCKETS:]]}


@router.get("/errors")
async def error_groups(
    src: Source,
    filter: Filter,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    examples: Annotated[int, Query(ge=1, le=20)] = 5,
) -> dict[str, Any]:
    """Failures grouped by error type and message, most frequent first, with example
    traces."""
    groups = await src.storage.error_groups(filter, limit=limit, examples=examples)
    return {"groups": [g.to_dict() for g in groups]}


@router.get("/runs")
async def list_runs(
    src: Source,
    cfg: Settings,
    agent: Annotated[list[str] | None, Query()] = None,
    tool: Annotated[list[str] | None, Query()] = None,
    run_type: Annotated[list[str] | None, Query(description="think, tool, step")] = None,
    trace_id: Annotated[list[str] | None, Query()] = None,
    start: datetime | None = None,
    end: datetime | None = None,
    min_duration: Annotated[float | None, Query(ge=0, le=MAX_SECONDS)] = None,
    max_duration: Annotated[float | None, Query(ge=0, le=MAX_SECONDS)] = None,
    errors_only: bool = False,
    success_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_COUNT)] = 0,
) -> Any:
    """Records (tool runs by default filter: `run_type=tool`) matching every RunFilter
    field, oldest first, as outlines with payload previews."""
    runs = _run_filter(
        agent,
        tool,
        run_type,
        trace_id,
        start,
        end,
        min_duration,
        max_duration,
        errors_only,
        success_only,
    )
    found = await src.storage.query_runs(runs, limit=limit, offset=offset)
    items = [{"trace_id": r.trace_id, **record_outline(r, cfg.preview_chars)} for r in found]
    return json_response({"items": items, "offset": offset, "limit": limit})


@router.get("/sessions")
async def sessions(
    src: Source, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, Any]:
    """Sessions by latest activity, with trace counts, errors, tokens and cost."""
    return {"sessions": await src.storage.query_sessions(limit=limit)}


@router.get("/sessions/{session_id}")
async def session_traces(
    session_id: Annotated[str, Path(min_length=1, max_length=500)],
    src: Source,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> Any:
    """A session's traces in the order they started."""
    session = TraceFilter(session_ids=[session_id])
    items = await src.page(session, limit=limit, order_by="start_time")
    return json_response({"session_id": session_id, "items": [s.to_dict() for s in items]})
