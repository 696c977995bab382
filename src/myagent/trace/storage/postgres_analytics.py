"""Aggregates in SQL for PostgreSQL: trace stats, tool stats, time series, error groups.

Each function takes a cursor and a WHERE clause with its parameters (`trace_where` over
`traces`, or `run_where` over `runs r`) and returns the result types of
`myagent.trace.stats`, agreeing exactly with its Python definitions: durations come
from the integer `end_us - start_us`, costs are summed as exact NUMERIC values (what
`math.fsum` rounds), percentiles take the nearest-rank rows by integer arithmetic, and
names sort in code-point order (`COLLATE "C"`), as Python sorts strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from myagent.trace.stats import (
    PERCENTILES,
    ErrorGroup,
    TimeBucket,
    ToolStats,
    TraceStats,
    most_used,
    percentile_rank,
    rate,
    us_mean_seconds,
)

FINISHED = "status <> 'running'"
"""Analysis covers finished traces (see `myagent.trace.stats.is_finished`)."""

_RANKS = ", ".join(f"GREATEST(1, ({p} * n + 99) / 100)" for p in PERCENTILES)
"""SQL for the nearest-rank ranks of PERCENTILES among `n` values (`percentile_rank`)."""

_FIGURES = (
    "COUNT(*), COUNT(*) FILTER (WHERE status = 'success'), COUNT(*) FILTER (WHERE has_errors), "
    "COUNT(end_us), COALESCE(SUM(end_us - start_us), 0), COALESCE(SUM(tokens_used), 0), "
    "COALESCE(SUM(cost_usd), 0)"
)
"""count, successes, traces with errors, timed count, total µs, tokens, exact cost."""


def _percentiles(count: int, by_rank: dict[int, int]) -> tuple[float, ...]:
    """p50, p95, p99 in seconds from the µs values at the nearest ranks (0.0 when empty)."""
    if not count:
        return tuple(0.0 for _ in PERCENTILES)
    return tuple(by_rank[percentile_rank(count, p)] / 1_000_000 for p in PERCENTILES)


def _ranked(
    cur: Any, source: str, params: Sequence[Any], group: str | None = None
) -> dict[Any, dict[int, int]]:
    """{group: {rank: µs}} at the percentile ranks of `source`, which selects a `g`
    column (the group; any constant when `group` is None) and a `value` column."""
    partition = "PARTITION BY g" if group is not None else ""
    cur.execute(
        "SELECT g, rn, value FROM ("
        f"SELECT g, value, ROW_NUMBER() OVER ({partition} ORDER BY value) AS rn, "
        f"COUNT(*) OVER ({partition}) AS n FROM ({source}) s) ranked "
        f"WHERE rn IN ({_RANKS})",
        params,
    )
    out: dict[Any, dict[int, int]] = {}
    for g, rank, value in cur.fetchall():
        out.setdefault(g, {})[int(rank)] = int(value)
    return out


def trace_stats(cur: Any, where: str, params: Sequence[Any]) -> TraceStats:
    """`TraceStats` over the finished traces matching `where` (over `traces`)."""
    base = f"FROM traces WHERE ({where}) AND {FINISHED}"
    cur.execute(f"SELECT {_FIGURES} {base}", params)
    count, success, errors, timed, total_us, tokens, cost = cur.fetchone()
    by_rank = (
        _ranked(
            cur, f"SELECT 0 AS g, end_us - start_us AS value {base} AND end_us IS NOT NULL", params
        ).get(0, {})
        if timed
        else {}
    )
    # traces that called each tool: the `tools` roll-up lists each tool once per trace
    cur.execute(
        f"SELECT tool, COUNT(*) FROM (SELECT tools {base}) t, "
        'jsonb_array_elements_text(t.tools) AS tool GROUP BY tool ORDER BY tool COLLATE "C"',
        params,
    )
    tool_usage = {name: int(traces) for name, traces in cur.fetchall()}
    p50, p95, p99 = _percentiles(timed, by_rank)
    total_cost = float(cost)
    return TraceStats(
        trace_count=count,
        success_count=success,
        error_count=errors,
        success_rate=rate(success, count),
        avg_response_time=us_mean_seconds(int(total_us), timed),
        p50_response_time=p50,
        p95_response_time=p95,
        p99_response_time=p99,
        total_tokens=int(tokens),
        tokens_per_trace=int(tokens) / count if count else 0.0,
        total_cost=total_cost,
        cost_per_trace=total_cost / count if count else 0.0,
        tool_usage=tool_usage,
        most_used_tool=most_used(tool_usage),
    )


def tool_stats(cur: Any, where: str, params: Sequence[Any]) -> dict[str, ToolStats]:
    """`ToolStats` per tool name over the tool records matching `where` (over `runs r`)."""
    base = f"FROM runs r WHERE ({where}) AND r.tool_name IS NOT NULL"
    cur.execute(
        "SELECT r.tool_name, COUNT(*), COUNT(*) FILTER (WHERE r.success), COUNT(r.end_us), "
        f"COALESCE(SUM(r.end_us - r.start_us), 0) {base} "
        'GROUP BY r.tool_name ORDER BY r.tool_name COLLATE "C"',
        params,
    )
    rows = cur.fetchall()
    ranked = (
        _ranked(
            cur,
            f"SELECT r.tool_name AS g, r.end_us - r.start_us AS value {base} "
            "AND r.end_us IS NOT NULL",
            params,
            group="g",
        )
        if rows
        else {}
    )
    out: dict[str, ToolStats] = {}
    for name, calls, success, timed, total_us in rows:
        p50, p95, p99 = _percentiles(timed, ranked.get(name, {}))
        out[name] = ToolStats(
            tool_name=name,
            call_count=calls,
            success_count=success,
            error_count=calls - success,
            success_rate=rate(success, calls),
            avg_duration=us_mean_seconds(int(total_us), timed),
            p50_duration=p50,
            p95_duration=p95,
            p99_duration=p99,
            total_duration=int(total_us) / 1_000_000,
        )
    return out


def time_series(cur: Any, where: str, params: Sequence[Any], interval_us: int) -> list[TimeBucket]:
    """One `TimeBucket` per interval holding finished traces matching `where`, oldest first."""
    if interval_us < 1:
        raise ValueError("interval must be at least one microsecond")
    n = int(interval_us)
    bucket = f"(start_us - mod(mod(start_us, {n}) + {n}, {n}))"  # floors like Python's //
    base = f"FROM traces WHERE ({where}) AND {FINISHED}"
    cur.execute(f"SELECT {bucket} AS b, {_FIGURES} {base} GROUP BY b ORDER BY b", params)
    rows = cur.fetchall()
    ranked = _ranked(
        cur,
        f"SELECT {bucket} AS g, end_us - start_us AS value {base} AND end_us IS NOT NULL",
        params,
        group="g",
    )
    out = []
    for b, count, success, errors, timed, total_us, tokens, cost in rows:
        p50, p95, p99 = _percentiles(timed, ranked.get(b, {}))
        out.append(
            TimeBucket(
                start_us=int(b),
                trace_count=count,
                success_count=success,
                error_count=errors,
                success_rate=rate(success, count),
                avg_response_time=us_mean_seconds(int(total_us), timed),
                p50_response_time=p50,
                p95_response_time=p95,
                p99_response_time=p99,
                total_tokens=int(tokens),
                total_cost=float(cost),
            )
        )
    return out


# The type of a trace-level error, parsed from its message like `stats.trace_error_type`.
_TRACE_ERROR_TYPE = "COALESCE(substring(e FROM '^([A-Za-z_][A-Za-z0-9_.]*): '), 'Error')"


def error_groups(
    cur: Any, where: str, params: Sequence[Any], *, limit: int = 50, examples: int = 5
) -> list[ErrorGroup]:
    """Failures of the finished traces with errors matching `where`, grouped by (error
    type, message); ordered and sampled as `stats.error_groups_of` defines."""
    events = (
        "WITH t AS MATERIALIZED (SELECT trace_id, name, status, COALESCE(error, '') AS e, "
        f"start_us FROM traces WHERE ({where}) AND {FINISHED} AND has_errors), "
        "ev AS ("
        "SELECT COALESCE(NULLIF(r.error_type, ''), 'Error') AS etype, "
        "COALESCE(r.error, '') AS msg, r.run_type AS kind, "
        "COALESCE(r.tool_name, r.name, '') AS name, r.trace_id AS trace_id, r.start_us AS at "
        "FROM t JOIN runs r ON r.trace_id = t.trace_id WHERE NOT r.success "
        "UNION ALL "
        f"SELECT {_TRACE_ERROR_TYPE}, e, 'trace', COALESCE(name, ''), trace_id, start_us "
        "FROM t WHERE status = 'error' OR e <> '') "
    )
    cur.execute(
        events + "SELECT etype, msg, COUNT(*) AS c, COUNT(DISTINCT trace_id), MIN(at), "
        "MAX(at) AS last FROM ev GROUP BY etype, msg "
        'ORDER BY c DESC, last DESC, etype COLLATE "C", msg COLLATE "C" LIMIT %s',
        [*params, limit],
    )
    groups = [
        ErrorGroup(
            error_type=etype,
            message=msg,
            count=count,
            trace_count=traces,
            first_seen_us=int(first),
            last_seen_us=int(last),
        )
        for etype, msg, count, traces, first, last in cur.fetchall()
    ]
    if not groups:
        return []
    wanted = {(g.error_type, g.message): g for g in groups}
    cur.execute(events + "SELECT DISTINCT etype, msg, kind, name FROM ev", params)
    for etype, msg, kind, name in cur.fetchall():
        group = wanted.get((etype, msg))
        if group is not None:
            group.kinds.append(kind)
            if name not in group.names:
                group.names.append(name)
    cur.execute(
        events + "SELECT etype, msg, trace_id FROM ("
        "SELECT etype, msg, trace_id, ROW_NUMBER() OVER ("
        "PARTITION BY etype, msg ORDER BY MAX(at) DESC, trace_id DESC) AS rn "
        "FROM ev GROUP BY etype, msg, trace_id) ranked WHERE rn <= %s ORDER BY etype, msg, rn",
        [*params, examples],
    )
    for etype, msg, trace_id in cur.fetchall():
        group = wanted.get((etype, msg))
        if group is not None:
            group.example_trace_ids.append(trace_id)
    for group in groups:
        group.kinds = sorted(set(group.kinds))
        group.names.sort()
    return groups
