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

from myagent.trace.stats import PERCENTILES, ErrorGroup, TimeBucket, ToolStats, TraceStats
from myagent.trace.storage import sql_analytics

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
    figures = cur.fetchone()
    timed = figures[3]  # traces with an end
    by_rank: dict[int, int] = (
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
    return sql_analytics.trace_stats(figures, by_rank, tool_usage, scale=1_000_000)


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
    return {
        name: sql_analytics.tool_row(
            name, calls, success, timed, total_us, ranked.get(name, {}), scale=1_000_000
        )
        for name, calls, success, timed, total_us in rows
    }


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
    return [
        sql_analytics.time_bucket(b, figures, ranked.get(b, {}), scale=1_000_000)
        for b, *figures in rows
    ]


# The type of a trace-level error, parsed from its message like `stats.trace_error_type`.
_TRACE_ERROR_TYPE = "COALESCE(substring(e FROM '^([A-Za-z_][A-Za-z0-9_.]*): '), 'Error')"


def error_groups(
    cur: Any, where: str, params: Sequence[Any], *, limit: int = 50, examples: int = 5
) -> list[ErrorGroup]:
    """Failures of the finished traces with errors matching `where`, each counted once,
    grouped by (error type, fingerprint); ordered and sampled as `stats.error_groups_of`
    defines. The failures are read once into temporary tables dropped at commit."""
    scope = f"{FINISHED} AND has_errors"
    failures = sql_analytics.failure_sql(where, scope, _TRACE_ERROR_TYPE, json_error=False)

    def execute(sql: str, args: Sequence[Any]) -> list[Any]:
        cur.execute(sql, list(args))
        return list(cur.fetchall()) if cur.description is not None else []

    def insert_keys(rows: list[tuple[str, str, str, str]]) -> None:
        cur.executemany(f"INSERT INTO {sql_analytics.KEYS_TABLE} VALUES (%s, %s, %s, %s)", rows)

    cur.execute(f"DROP TABLE IF EXISTS pg_temp.{sql_analytics.EVENTS_TABLE}")
    cur.execute(f"DROP TABLE IF EXISTS pg_temp.{sql_analytics.KEYS_TABLE}")
    try:
        return sql_analytics.error_groups_in(
            execute,
            insert_keys,
            failures,
            params,
            limit=limit,
            examples=examples,
            mark="%s",
            collate=' COLLATE "C"',
        )
    finally:
        cur.execute(f"DROP TABLE IF EXISTS pg_temp.{sql_analytics.EVENTS_TABLE}")
        cur.execute(f"DROP TABLE IF EXISTS pg_temp.{sql_analytics.KEYS_TABLE}")
