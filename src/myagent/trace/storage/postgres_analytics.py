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
    percentile_rank,
)
from myagent.trace.storage import sql_analytics
from myagent.trace.storage.postgres_schema import DURATION_BOUNDS, HOUR_US
from myagent.trace.storage.postgres_sql import DIALECT

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


def _walk_ranks(
    cur: Any, base: str, params: Sequence[Any], name: str, timed: int
) -> dict[int, int]:
    """{rank: µs} at the percentile ranks of one tool's timed calls, each read by a walk
    along a duration-ordered index (from the nearer end), so nothing is sorted."""
    out: dict[int, int] = {}
    for p in PERCENTILES:
        rank = percentile_rank(timed, p)
        if rank in out:
            continue
        desc, offset = ("", rank - 1) if rank * 2 <= timed else (" DESC", timed - rank)
        cur.execute(
            f"SELECT r.end_us - r.start_us {base} AND r.tool_name = %s AND r.end_us IS NOT NULL "
            f"ORDER BY r.end_us - r.start_us{desc} OFFSET %s LIMIT 1",
            [*params, name, offset],
        )
        out[rank] = int(cur.fetchone()[0])
    return out


def tool_stats(
    cur: Any, where: str, params: Sequence[Any], *, walk: bool = False
) -> dict[str, ToolStats]:
    """`ToolStats` per tool name over the tool records matching `where` (over `runs r`).

    `walk`: the filter names at most an agent and tools, so each tool's percentiles are
    short walks along `ix_runs_tool_stats` / `ix_runs_agent_tool`; otherwise (a time
    window, durations, trace ids: few calls match) the matching calls are sorted.
    """
    base = f"FROM runs r WHERE ({where}) AND r.tool_name IS NOT NULL"
    cur.execute(
        "SELECT r.tool_name, COUNT(*), COUNT(*) FILTER (WHERE r.success), COUNT(r.end_us), "
        f"COALESCE(SUM(r.end_us - r.start_us), 0) {base} "
        'GROUP BY r.tool_name ORDER BY r.tool_name COLLATE "C"',
        params,
    )
    rows = cur.fetchall()
    if walk:
        ranked = {
            name: _walk_ranks(cur, base, params, name, timed)
            for name, _, _, timed, _ in rows
            if timed
        }
    else:
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


def _hours(start_us: int | None, end_us: int | None) -> tuple[int | None, int | None] | None:
    """The whole hours [first, stop) inside the window start_us..end_us (both inclusive;
    None: unbounded), or None when it holds no whole hour."""
    first = None if start_us is None else -(-start_us // HOUR_US) * HOUR_US
    stop = None if end_us is None else (end_us + 1) // HOUR_US * HOUR_US
    if first is not None and stop is not None and first >= stop:
        return None
    return first, stop


def _bounds(column: str, bounds: Sequence[tuple[str, int | None]]) -> tuple[str, list[int]]:
    """` AND column op %s` for each (op, bound) whose bound is set, and the bounds."""
    given = [(op, bound) for op, bound in bounds if bound is not None]
    return "".join(f" AND {column} {op} %s" for op, _ in given), [b for _, b in given]


def _bucket_range(bucket: int) -> tuple[int | None, int | None]:
    """The durations (µs) of a roll-up bucket: [low, high), None where unbounded."""
    low = DURATION_BOUNDS[bucket - 1] if bucket > 0 else None
    high = DURATION_BOUNDS[bucket] if bucket < len(DURATION_BOUNDS) else None
    return low, high


Walk = tuple[str, int, int, int]
"""(tool, duration bucket, the window's calls in it, 0-based index among them)."""


def _in_buckets(
    cur: Any, walks: Sequence[Walk], window: str, window_params: list[Any]
) -> list[int]:
    """The duration (µs) at each walk's index among the calls of its tool in the window
    whose durations fall in its bucket, in one statement: each is a walk along
    `ix_runs_tool_stats` from the bucket's nearer end, so it reads at most half of it."""
    duration = "r.end_us - r.start_us"
    parts: list[str] = []
    params: list[Any] = []
    for name, bucket, count, index in walks:
        low, high = _bucket_range(bucket)
        span, span_params = _bounds(duration, ((">=", low), ("<", high)))
        desc, offset = ("", index) if index * 2 < count else (" DESC", count - 1 - index)
        parts.append(
            f"(SELECT {duration} FROM runs r WHERE r.tool_name = %s AND {duration} IS NOT NULL"
            f"{span}{window} ORDER BY {duration}{desc} OFFSET %s LIMIT 1)"
        )
        params += [name, *span_params, *window_params, offset]
    if not parts:
        return []
    cur.execute(f"SELECT {', '.join(parts)}", params)
    return [int(value) for value in cur.fetchone()]


def rolled_tool_stats(
    cur: Any, tools: Sequence[str] | None, start_us: int | None, end_us: int | None
) -> dict[str, ToolStats]:
    """`ToolStats` per tool over the tool calls started in start_us..end_us (inclusive;
    None: unbounded), of `tools` only when given, from the `tool_hours` roll-up
    (migration 8): its whole hours, plus the calls of the window's partial hours read
    from `ix_runs_tool_window`. The figures are exact: counts and sums add up, and each
    percentile is found in its duration bucket by `_in_buckets`."""
    tool_params: list[Any] = []
    only = "" if tools is None else " AND " + DIALECT.in_list("tool_name", tools, tool_params)
    parts: list[str] = []
    params: list[Any] = []
    hours = _hours(start_us, end_us)
    ranges: list[tuple[Any, ...]] = []  # (low, low_op, high, high_op) of start_us read raw
    if hours is None:
        ranges.append((start_us, ">=", end_us, "<="))
    else:
        first, stop = hours
        span, span_params = _bounds("hour_us", ((">=", first), ("<", stop)))
        for table in ("tool_hours", "tool_hours_pending"):
            parts.append(
                f"SELECT tool_name, bucket, calls, success, total_us FROM {table} "
                f"WHERE TRUE{span}{only}"
            )
            params += [*span_params, *tool_params]
        if start_us is not None and first is not None and start_us < first:
            ranges.append((start_us, ">=", first, "<"))  # the partial hour at the start
        if end_us is not None and stop is not None and stop <= end_us:
            ranges.append((stop, ">=", end_us, "<="))  # the partial hour at the end
    for low, low_op, high, high_op in ranges:
        raw, raw_params = _bounds("start_us", ((low_op, low), (high_op, high)))
        parts.append(
            "SELECT tool_name, tool_duration_bucket(end_us - start_us) AS bucket, 1 AS calls, "
            "CASE WHEN success THEN 1 ELSE 0 END AS success, "
            "COALESCE(end_us - start_us, 0) AS total_us FROM runs "
            f"WHERE tool_name IS NOT NULL{raw}{only}"
        )
        params += [*raw_params, *tool_params]
    cur.execute(
        "SELECT tool_name, bucket, SUM(calls), SUM(success), SUM(total_us) FROM ("
        + " UNION ALL ".join(parts)
        + ") s GROUP BY 1, 2 HAVING SUM(calls) <> 0 ORDER BY 1, 2",
        params,
    )
    per_tool: dict[str, list[tuple[int, int, int, int]]] = {}
    for name, bucket, calls, success, total_us in cur.fetchall():
        per_tool.setdefault(name, []).append((int(bucket), int(calls), int(success), int(total_us)))
    window, window_params = _bounds("r.start_us", ((">=", start_us), ("<=", end_us)))
    walks: list[Walk] = []
    ranks: list[tuple[str, int]] = []
    for name, rows in per_tool.items():
        timed_rows = [(bucket, calls) for bucket, calls, _, _ in rows if bucket >= 0]
        timed = sum(calls for _, calls in timed_rows)
        for rank in sorted({percentile_rank(timed, p) for p in PERCENTILES} if timed else ()):
            below = 0
            for bucket, calls in timed_rows:
                if rank <= below + calls:
                    walks.append((name, bucket, calls, rank - below - 1))
                    ranks.append((name, rank))
                    break
                below += calls
    by_rank: dict[str, dict[int, int]] = {}
    for (name, rank), value in zip(
        ranks, _in_buckets(cur, walks, window, window_params), strict=True
    ):
        by_rank.setdefault(name, {})[rank] = value
    out: dict[str, ToolStats] = {}
    for name in sorted(per_tool):
        rows = per_tool[name]
        out[name] = sql_analytics.tool_row(
            name,
            sum(calls for _, calls, _, _ in rows),
            sum(success for _, _, success, _ in rows),
            sum(calls for bucket, calls, _, _ in rows if bucket >= 0),
            sum(total for _, _, _, total in rows),
            by_rank.get(name, {}),
            scale=1_000_000,
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
