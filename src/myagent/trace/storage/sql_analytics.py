"""Aggregate rows → `myagent.trace.stats` results, for both SQL backends.

`sqlite_analytics` and `postgres_analytics` compute the same figures with the SQL each
database runs best; the rows they get back are turned into results here, once, by the
definitions of `myagent.trace.stats` (percentiles by nearest rank, rates, means).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from myagent.trace.fingerprint import fingerprint, strip_type
from myagent.trace.stats import (
    PERCENTILES,
    ErrorGroup,
    TimeBucket,
    ToolStats,
    TraceStats,
    most_used,
    percentile_rank,
    rate,
    top_variants,
    us_mean_seconds,
)

Figures = Sequence[Any]
"""count, successes, traces with errors, timed count, total µs, tokens, cost."""


def percentiles(count: int, by_rank: dict[int, Any], scale: int = 1) -> tuple[float, ...]:
    """p50, p95, p99 (values at the nearest ranks, divided by `scale`); 0.0 each when
    `count` is 0."""
    if not count:
        return tuple(0.0 for _ in PERCENTILES)
    return tuple(by_rank[percentile_rank(count, p)] / scale for p in PERCENTILES)


def _figures(figures: Figures, by_rank: dict[int, Any], scale: int) -> dict[str, Any]:
    """The fields `TraceStats` and `TimeBucket` share, from a figures row."""
    count, success, errors, timed, total_us, _, _ = figures
    p50, p95, p99 = percentiles(timed, by_rank, scale)
    return {
        "trace_count": count,
        "success_count": success,
        "error_count": errors,
        "success_rate": rate(success, count),
        "avg_response_time": us_mean_seconds(int(total_us), timed),
        "p50_response_time": p50,
        "p95_response_time": p95,
        "p99_response_time": p99,
    }


def trace_stats(
    figures: Figures, by_rank: dict[int, Any], tool_usage: dict[str, int], scale: int = 1
) -> TraceStats:
    """`TraceStats` from the figures of the finished traces, their response times at the
    percentile ranks, and the traces that called each tool."""
    count = figures[0]
    tokens, total_cost = int(figures[5]), float(figures[6])
    return TraceStats(
        **_figures(figures, by_rank, scale),
        total_tokens=tokens,
        tokens_per_trace=tokens / count if count else 0.0,
        total_cost=total_cost,
        cost_per_trace=total_cost / count if count else 0.0,
        tool_usage=dict(sorted(tool_usage.items())),
        most_used_tool=most_used(tool_usage),
    )


def time_bucket(
    start_us: int, figures: Figures, by_rank: dict[int, Any], scale: int = 1
) -> TimeBucket:
    """One `TimeBucket` from its figures and response times at the percentile ranks."""
    return TimeBucket(
        start_us=int(start_us),
        **_figures(figures, by_rank, scale),
        total_tokens=int(figures[5]),
        total_cost=float(figures[6]),
    )


def tool_row(
    name: str,
    calls: int,
    success: int,
    timed: int,
    total_us: Any,
    by_rank: dict[int, Any],
    scale: int = 1,
) -> ToolStats:
    """One tool's `ToolStats` from its counts, total µs and durations at the ranks."""
    p50, p95, p99 = percentiles(timed, by_rank, scale)
    total = int(total_us)
    return ToolStats(
        tool_name=name,
        call_count=calls,
        success_count=success,
        error_count=calls - success,
        success_rate=rate(success, calls),
        avg_duration=us_mean_seconds(total, timed),
        p50_duration=p50,
        p95_duration=p95,
        p99_duration=p99,
        total_duration=total / 1_000_000,
    )


EVENTS_TABLE = "myagent_error_events"
KEYS_TABLE = "myagent_error_keys"
"""Temporary tables `error_groups_in` fills (this connection's own, dropped after)."""


def failure_sql(where: str, scope: str, trace_error_type: str, *, json_error: bool) -> str:
    """`WITH t, f, raw_ev` over the failures of the traces matching `where` and `scope`
    (finished, with errors, in the backend's SQL), each once (a record failing with a
    failed child's error, or a trace with a record's, is that failure passed up):
    raw_ev(etype, raw, kind, name, agent, trace_id, at). `json_error`: the record's
    error is read from its JSON data (SQLite)."""
    error = (
        "COALESCE(json_extract(CAST(r.data AS TEXT), '$.error'), '')"
        if json_error
        else "COALESCE(r.error, '')"
    )
    return (
        "WITH t AS MATERIALIZED (SELECT trace_id, name, agent_name, status, "
        "COALESCE(error, '') AS e, start_us "
        f"FROM traces WHERE ({where}) AND {scope}), "
        "f AS MATERIALIZED (SELECT r.trace_id, r.run_id, r.parent_id, r.run_type, "
        "COALESCE(r.tool_name, r.name, '') AS name, "
        f"COALESCE(NULLIF(r.error_type, ''), 'Error') AS etype, {error} AS raw, "
        "r.start_us, t.agent_name FROM t JOIN runs r ON r.trace_id = t.trace_id "
        "WHERE NOT r.success), "
        "raw_ev AS ("
        "SELECT etype, raw, run_type AS kind, name, agent_name AS agent, trace_id, "
        "start_us AS at FROM f WHERE NOT EXISTS (SELECT 1 FROM f c WHERE "
        "c.trace_id = f.trace_id AND c.parent_id = f.run_id AND c.etype = f.etype "
        "AND c.raw = f.raw) "
        "UNION ALL "
        f"SELECT {trace_error_type}, e, 'trace', COALESCE(name, ''), agent_name, trace_id, "
        "start_us FROM t WHERE (status = 'error' OR e <> '') AND NOT EXISTS ("
        "SELECT 1 FROM f WHERE f.trace_id = t.trace_id AND f.raw = t.e)) "
    )


def error_groups_in(
    execute: Callable[[str, Sequence[Any]], list[Any]],
    insert_keys: Callable[[list[tuple[str, str, str, str]]], None],
    failures: str,
    params: Sequence[Any],
    *,
    limit: int,
    examples: int,
    mark: str,
    collate: str = "",
) -> list[ErrorGroup]:
    """Error groups, reading the failures once: `failures` (`failure_sql`) fills the
    temporary events table; the fingerprint (`myagent.trace.fingerprint`) of each
    distinct (type, message) goes to the keys table (`insert_keys`); the groups are read
    from the two joined. `execute(sql, params)` returns a statement's rows (or [])."""
    execute(
        f"CREATE TEMP TABLE {EVENTS_TABLE} AS {failures}SELECT etype, raw, kind, name, "
        "COALESCE(agent, '') AS agent, trace_id, at FROM raw_ev",
        params,
    )
    pairs = execute(f"SELECT DISTINCT etype, raw FROM {EVENTS_TABLE}", [])
    if not pairs:
        return []
    execute(f"CREATE TEMP TABLE {KEYS_TABLE} (etype TEXT, raw TEXT, msg TEXT, fp TEXT)", [])
    insert_keys([(e, r, strip_type(e, r), fingerprint(e, r)) for e, r in pairs])
    execute(f"CREATE INDEX ix_{KEYS_TABLE} ON {KEYS_TABLE} (etype, raw)", [])
    events = (
        f"WITH ev AS (SELECT k.etype, k.msg, k.fp, e.kind, e.name, e.agent, e.trace_id, e.at "
        f"FROM {EVENTS_TABLE} e JOIN {KEYS_TABLE} k ON k.etype = e.etype AND k.raw = e.raw) "
    )
    return error_groups(
        lambda sql, extra: execute(events + sql, extra),
        limit=limit,
        examples=examples,
        mark=mark,
        collate=collate,
    )


def error_groups(
    read: Callable[[str, list[Any]], Iterable[Any]],
    *,
    limit: int,
    examples: int,
    mark: str,
    collate: str = "",
) -> list[ErrorGroup]:
    """Error groups of the failure events `ev` (etype, msg, fp, kind, name, agent,
    trace_id, at), grouped by (etype, fp), ordered and sampled as `stats.error_groups_of`
    defines. `read(sql, params)` runs a SELECT after the backend's `WITH ... ev AS (...)`
    and appends its parameters; `collate` makes names sort in code-point order."""
    groups = [
        ErrorGroup(
            error_type=etype,
            message=fp,
            count=count,
            trace_count=traces,
            first_seen_us=int(first),
            last_seen_us=int(last),
        )
        for etype, fp, count, traces, first, last in read(
            "SELECT etype, fp, COUNT(*) AS c, COUNT(DISTINCT trace_id), MIN(at), "
            "MAX(at) AS last FROM ev GROUP BY etype, fp "
            f"ORDER BY c DESC, last DESC, etype{collate}, fp{collate} LIMIT {mark}",
            [limit],
        )
    ]
    if not groups:
        return []
    wanted = {(g.error_type, g.message): g for g in groups}
    for etype, fp, kind, name, agent in read(
        "SELECT DISTINCT etype, fp, kind, name, agent FROM ev", []
    ):
        group = wanted.get((etype, fp))
        if group is not None:
            if kind not in group.kinds:
                group.kinds.append(kind)
            if name not in group.names:
                group.names.append(name)
            if agent and agent not in group.agents:
                group.agents.append(agent)
    messages: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for etype, fp, msg, count in read(
        "SELECT etype, fp, msg, COUNT(*) FROM ev GROUP BY etype, fp, msg", []
    ):
        if (etype, fp) in wanted:
            messages.setdefault((etype, fp), []).append((msg, int(count)))
    for etype, fp, trace_id in read(
        "SELECT etype, fp, trace_id FROM ("
        "SELECT etype, fp, trace_id, ROW_NUMBER() OVER ("
        "PARTITION BY etype, fp ORDER BY MAX(at) DESC, trace_id DESC) AS rn "
        f"FROM ev GROUP BY etype, fp, trace_id) ranked WHERE rn <= {mark} "
        "ORDER BY etype, fp, rn",
        [examples],
    ):
        group = wanted.get((etype, fp))
        if group is not None:
            group.example_trace_ids.append(trace_id)
    for key, group in wanted.items():
        group.kinds.sort()
        group.names.sort()
        group.agents.sort()
        group.variants = top_variants(messages.get(key, []))
    return groups
