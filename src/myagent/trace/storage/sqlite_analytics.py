"""Aggregates in SQL for the SQLite backend: trace stats, tool stats, time series, errors.

Each function takes a connection and a WHERE clause with its parameters (built by
`trace_where` over `traces`, or `run_where` over `runs r`) and returns the result types
of `myagent.trace.stats`, agreeing exactly with its Python definitions: durations are
summed in integer microseconds and percentiles use the same nearest-rank ranks.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from myagent.trace.stats import (
    PERCENTILES,
    ErrorGroup,
    TimeBucket,
    ToolStats,
    TraceStats,
    percentile_rank,
)
from myagent.trace.storage import sql_analytics

FINISHED = "status != 'running'"
"""Analysis covers finished traces (see `myagent.trace.stats.is_finished`)."""

# `duration` is (end_us - start_us) / 1e6 as a float; this recovers the exact integer
# microseconds for any duration under ~35 years, so sums do not depend on row order.
DURATION_US = "CAST(ROUND({col} * 1000000) AS INTEGER)"

_RANKS = ", ".join(f"MAX(1, ({p} * n + 99) / 100)" for p in PERCENTILES)
"""SQL for the nearest-rank ranks of PERCENTILES among `n` values (as in `percentile_rank`)."""


def _ranked(
    conn: sqlite3.Connection, source: str, params: Sequence[Any], count: int, scale: int = 1
) -> dict[int, float]:
    """{rank: value / scale} at the percentile ranks of `source` (one `value` column, no
    NULLs).

    Ranks in the lower half walk up from the smallest value, the others down from the
    largest, so an index ordered by the value serves each with a short walk.
    """
    out: dict[int, float] = {}
    for p in PERCENTILES:
        rank = percentile_rank(count, p)
        if rank in out:
            continue
        if rank * 2 <= count:
            sql = f"SELECT value FROM ({source}) ORDER BY value LIMIT 1 OFFSET ?"
            offset = rank - 1
        else:
            sql = f"SELECT value FROM ({source}) ORDER BY value DESC LIMIT 1 OFFSET ?"
            offset = count - rank
        row = conn.execute(sql, [*params, offset]).fetchone()
        out[rank] = row[0] / scale
    return out


def trace_stats(conn: sqlite3.Connection, where: str, params: Sequence[Any]) -> TraceStats:
    """`TraceStats` over the finished traces matching `where` (over `traces`)."""
    base = f"FROM traces WHERE ({where}) AND {FINISHED}"
    row = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(status = 'success'), 0), COALESCE(SUM(has_errors), 0), "
        f"COUNT(duration), COALESCE(SUM({DURATION_US.format(col='duration')}), 0), "
        f"COALESCE(SUM(tokens_used), 0), COALESCE(SUM(cost_usd), 0.0) {base}",
        params,
    ).fetchone()
    timed = row[3]  # traces with a duration
    by_rank = (
        _ranked(conn, f"SELECT duration AS value {base} AND duration IS NOT NULL", params, timed)
        if timed
        else {}
    )
    # The `tools` roll-up lists each trace's distinct tools; few distinct lists exist.
    tool_usage: dict[str, int] = {}
    for tools, traces in conn.execute(f"SELECT tools, COUNT(*) {base} GROUP BY tools", params):
        for name in set(orjson.loads(tools)):
            tool_usage[name] = tool_usage.get(name, 0) + traces
    return sql_analytics.trace_stats(row, by_rank, tool_usage)


def _sorted_tool_stats(
    conn: sqlite3.Connection, base: str, params: Sequence[Any]
) -> dict[str, ToolStats]:
    """Tool stats over a selective set of records (`base`: FROM ... WHERE ...): one
    grouped pass, then one sort per tool for the percentile ranks."""
    rows = conn.execute(
        "SELECT r.tool_name, COUNT(*), COALESCE(SUM(r.success), 0), COUNT(r.duration_us), "
        f"COALESCE(SUM(r.duration_us), 0) {base} GROUP BY r.tool_name ORDER BY r.tool_name",
        params,
    ).fetchall()
    ranked: dict[str, dict[int, float]] = {}
    if rows:
        for name, rank, value in conn.execute(
            "SELECT g, rn, value FROM (SELECT r.tool_name AS g, r.duration_us AS value, "
            "ROW_NUMBER() OVER (PARTITION BY r.tool_name ORDER BY r.duration_us) AS rn, "
            "COUNT(*) OVER (PARTITION BY r.tool_name) AS n "
            f"{base} AND r.duration_us IS NOT NULL) WHERE rn IN ({_RANKS})",
            params,
        ):
            ranked.setdefault(name, {})[rank] = value / 1_000_000
    return {
        name: sql_analytics.tool_row(name, calls, success, timed, total_us, ranked.get(name, {}))
        for name, calls, success, timed, total_us in rows
    }


_TOOL_NAMES = (
    "WITH RECURSIVE t(name) AS ("
    "SELECT (SELECT MIN(tool_name) FROM runs WHERE tool_name IS NOT NULL) UNION ALL "
    "SELECT (SELECT MIN(tool_name) FROM runs WHERE tool_name IS NOT NULL AND tool_name > t.name) "
    "FROM t WHERE t.name IS NOT NULL) SELECT name FROM t WHERE name IS NOT NULL"
)
"""Every distinct tool name, one index seek each (a skip scan)."""


NARROW_WINDOW = 0.1
"""A time window holding at most this share of all traces is read range by range (and
sorted); a wider one is cheaper to read along the duration-ordered index."""


def window_share(conn: sqlite3.Connection, low_us: int | None, high_us: int | None) -> float:
    """The share of traces that started in [low_us, high_us] (both ends optional)."""
    total = conn.execute("SELECT COUNT(*) FROM traces").fetchone()[0]
    if not total:
        return 0.0
    inside = conn.execute(
        "SELECT COUNT(*) FROM traces WHERE start_us >= ? AND start_us <= ?",
        (-(2**63) if low_us is None else low_us, 2**63 - 1 if high_us is None else high_us),
    ).fetchone()[0]
    return float(inside / total)


def tool_stats(
    conn: sqlite3.Connection, where: str, params: Sequence[Any], *, plan: str = "all"
) -> dict[str, ToolStats]:
    """`ToolStats` per tool name over the tool records matching `where` (over `runs r`).

    `plan` says which access is cheapest: "all" scans the duration-ordered covering
    index once (percentiles are index walks); "window" (a narrow time window) reads each
    tool's time range of `ix_runs_tool`; "traces" (agents or trace ids set) starts from
    those traces' records.
    """
    if plan == "window":
        found: dict[str, ToolStats] = {}
        for (name,) in conn.execute(_TOOL_NAMES).fetchall():
            base = (
                f"FROM runs r INDEXED BY ix_runs_tool WHERE ({where}) "
                "AND r.tool_name IS NOT NULL AND r.tool_name = ?"
            )
            found.update(_sorted_tool_stats(conn, base, [*params, name]))
        return found
    if plan == "traces":
        return _sorted_tool_stats(
            conn, f"FROM runs r WHERE ({where}) AND +r.tool_name IS NOT NULL", params
        )
    base = f"FROM runs r WHERE ({where}) AND r.tool_name IS NOT NULL"
    # One pass over the covering index (integer microseconds: exact sums); the running
    # calls (NULL duration) are counted from the short range where the index keeps them.
    rows = conn.execute(
        f"SELECT r.tool_name, COUNT(*), COALESCE(SUM(r.success), 0), "
        f"COALESCE(SUM(r.duration_us), 0) {base} GROUP BY r.tool_name ORDER BY r.tool_name",
        params,
    ).fetchall()
    out: dict[str, ToolStats] = {}
    for name, calls, success, total_us in rows:
        named = [*params, name]
        running = conn.execute(
            f"SELECT COUNT(*) {base} AND r.tool_name = ? AND r.duration_us IS NULL", named
        ).fetchone()[0]
        timed = calls - running
        walk = base.replace("FROM runs r", "FROM runs r INDEXED BY ix_runs_tool_stats", 1)
        by_rank = (
            _ranked(
                conn,
                f"SELECT r.duration_us AS value {walk} AND r.tool_name = ? "
                "AND r.duration_us IS NOT NULL",
                named,
                timed,
                scale=1_000_000,
            )
            if timed
            else {}
        )
        out[name] = sql_analytics.tool_row(name, calls, success, timed, total_us, by_rank)
    return out


def _bucket_sql(interval_us: int) -> str:
    """Epoch-aligned bucket start of `start_us`, flooring like Python's `//`."""
    n = int(interval_us)
    return f"((start_us - (((start_us % {n}) + {n}) % {n})))"


def time_series(
    conn: sqlite3.Connection, where: str, params: Sequence[Any], interval_us: int
) -> list[TimeBucket]:
    """One `TimeBucket` per interval holding finished traces matching `where`, oldest first."""
    if interval_us < 1:
        raise ValueError("interval must be at least one microsecond")
    bucket = _bucket_sql(interval_us)
    base = f"FROM traces WHERE ({where}) AND {FINISHED}"
    rows = conn.execute(
        f"SELECT {bucket} AS b, COUNT(*), COALESCE(SUM(status = 'success'), 0), "
        f"COALESCE(SUM(has_errors), 0), COUNT(duration), "
        f"COALESCE(SUM({DURATION_US.format(col='duration')}), 0), "
        f"COALESCE(SUM(tokens_used), 0), COALESCE(SUM(cost_usd), 0.0) {base} "
        "GROUP BY b ORDER BY b",
        params,
    ).fetchall()
    ranked: dict[int, dict[int, float]] = {}
    for b, rank, value in conn.execute(
        "SELECT b, rn, value FROM ("
        f"SELECT {bucket} AS b, duration AS value, "
        "ROW_NUMBER() OVER (PARTITION BY " + bucket + " ORDER BY duration) AS rn, "
        "COUNT(*) OVER (PARTITION BY " + bucket + ") AS n "
        f"{base} AND duration IS NOT NULL) WHERE rn IN ({_RANKS})",
        params,
    ):
        ranked.setdefault(b, {})[rank] = float(value)
    return [sql_analytics.time_bucket(b, figures, ranked.get(b, {})) for b, *figures in rows]


# The type of a trace-level error, parsed from its message like `stats.trace_error_type`:
# the text before the first ': ' when it is an identifier (letters, digits, '_', '.').
_TRACE_ERROR_TYPE = (
    "CASE WHEN instr(e, ': ') > 1 "
    "AND substr(e, 1, 1) GLOB '[A-Za-z_]' "
    "AND substr(e, 1, instr(e, ': ') - 1) NOT GLOB '*[^A-Za-z0-9_.]*' "
    "THEN substr(e, 1, instr(e, ': ') - 1) ELSE 'Error' END"
)


def error_groups(
    conn: sqlite3.Connection,
    where: str,
    params: Sequence[Any],
    *,
    limit: int = 50,
    examples: int = 5,
) -> list[ErrorGroup]:
    """Failures of the finished traces with errors matching `where`, each counted once,
    grouped by (error type, fingerprint); ordered and sampled as `stats.error_groups_of`
    defines. The failures are read once into temporary tables of this connection."""
    scope = f"{FINISHED} AND has_errors = 1"
    failures = sql_analytics.failure_sql(where, scope, _TRACE_ERROR_TYPE, json_error=True)

    def execute(sql: str, args: Sequence[Any]) -> list[Any]:
        return conn.execute(sql, list(args)).fetchall()

    def insert_keys(rows: list[tuple[str, str, str, str]]) -> None:
        conn.executemany(f"INSERT INTO {sql_analytics.KEYS_TABLE} VALUES (?, ?, ?, ?)", rows)

    drop_error_tables(conn.execute)
    try:
        return sql_analytics.error_groups_in(
            execute, insert_keys, failures, params, limit=limit, examples=examples, mark="?"
        )
    finally:
        drop_error_tables(conn.execute)


def drop_error_tables(execute: Any) -> None:
    """Drop the temporary tables of `sql_analytics.error_groups_in`, if there."""
    for table in (sql_analytics.EVENTS_TABLE, sql_analytics.KEYS_TABLE):
        execute(f"DROP TABLE IF EXISTS temp.{table}")
