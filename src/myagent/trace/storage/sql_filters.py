"""TraceFilter and RunFilter compiled to a SQL WHERE clause, for any SQL dialect.

The shape of the clause is the same on every SQL backend; what differs (placeholders,
booleans, lists, JSON containment, metadata typing, full-text search) is asked of a
`Dialect`, which `sqlite_sql` and `postgres_sql` implement. Semantics follow the
in-memory reference (`memory.trace_matches`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from myagent.trace.filters import TRACE_ORDERS, RunFilter, TraceFilter
from myagent.trace.ids import datetime_to_us

ORDER_SQL = {
    "start_time": "start_us",
    "duration": "COALESCE(duration, 0)",
    "tokens": "tokens_used",
    "cost": "COALESCE(cost_usd, 0)",
}
"""The SQL expression each `order_by` key (without '-') sorts on."""


def order_clause(order_by: str) -> tuple[str, str, str]:
    """(sort expression, ASC/DESC, keyset comparison operator) for a `TRACE_ORDERS` value."""
    if order_by not in TRACE_ORDERS:
        raise ValueError(f"order_by must be one of {TRACE_ORDERS}, not {order_by!r}")
    descending = order_by.startswith("-")
    return (
        ORDER_SQL[order_by.lstrip("-")],
        "DESC" if descending else "ASC",
        ("<" if descending else ">"),
    )


class Dialect(ABC):
    """The parts of a WHERE clause one SQL dialect spells its own way. Every method that
    takes `params` appends the parameters of the SQL it returns."""

    mark = "?"
    """The parameter placeholder."""
    true = "1"
    """A condition that always holds (the clause of no filter)."""
    no_limit: Any = -1
    """The LIMIT parameter that limits nothing (an OFFSET alone needs a LIMIT in SQLite)."""

    def flag(self, value: bool) -> Any:
        """A boolean as a parameter compared with a boolean column."""
        return 1 if value else 0

    def is_true(self, column: str) -> str:
        return f"{column} = 1"

    def is_false(self, column: str) -> str:
        return f"{column} = 0"

    @abstractmethod
    def in_list(self, column: str, values: Sequence[Any], params: list[Any]) -> str:
        """`column` equal to one of `values` (text)."""

    @abstractmethod
    def tools(self, tools: Sequence[str], match_all: bool, params: list[Any]) -> str:
        """The trace used all (or any) of `tools`."""

    @abstractmethod
    def models(self, models: Sequence[str], params: list[Any]) -> str:
        """The trace used any of `models`."""

    @abstractmethod
    def tags(self, tags: Sequence[str], params: list[Any]) -> str:
        """The trace carries every one of `tags` (at least one given)."""

    @abstractmethod
    def metadata(self, key: str, value: Any, params: list[Any]) -> str:
        """Top-level metadata `key` equal to `value`, as `memory._same_value` defines."""

    @abstractmethod
    def text(self, text: str, params: list[Any]) -> str | None:
        """Every search word of `text` begins some word of the trace; None for no words."""


def _us(moment: datetime | None) -> int | None:
    return None if moment is None else datetime_to_us(moment)


def _ranges(
    ranges: Sequence[tuple[str, Any, Any]], mark: str, clauses: list[str], params: list[Any]
) -> None:
    """Add `column >= low` and `column <= high` for each (column, low, high), where set."""
    for column, low, high in ranges:
        for op, value in ((">=", low), ("<=", high)):
            if value is not None:
                clauses.append(f"{column} {op} {mark}")
                params.append(value)


def _in_lists(
    lists: Sequence[tuple[str, Sequence[Any] | None]],
    dialect: Dialect,
    clauses: list[str],
    params: list[Any],
) -> None:
    """Add `column IN values` for each (column, values) whose values are set."""
    for column, values in lists:
        if values is not None:
            clauses.append(dialect.in_list(column, values, params))


def trace_where(f: TraceFilter | None, dialect: Dialect) -> tuple[str, list[Any]]:
    """SQL WHERE clause and parameters for a TraceFilter over the `traces` table."""
    params: list[Any] = []
    if f is None:
        return dialect.true, params
    mark = dialect.mark
    clauses: list[str] = []
    lists = [
        ("agent_name", f.agent_names),
        ("session_id", f.session_ids),
        ("trace_id", f.trace_ids),
        ("status", f.statuses),
    ]
    _in_lists(lists, dialect, clauses, params)
    _ranges([("start_us", _us(f.start_time), _us(f.end_time))], mark, clauses, params)
    if f.has_errors is not None:
        clauses.append(f"has_errors = {mark}")
        params.append(dialect.flag(bool(f.has_errors)))
    ranges = [
        ("COALESCE(duration, 0)", f.min_duration, f.max_duration),
        ("tokens_used", f.min_tokens, f.max_tokens),
        ("COALESCE(cost_usd, 0)", f.min_cost, None),
    ]
    _ranges(ranges, mark, clauses, params)
    if f.tools_used:
        clauses.append(dialect.tools(f.tools_used, f.tools_match == "all", params))
    if f.models:
        clauses.append(dialect.models(f.models, params))
    if f.tags:
        clauses.append(dialect.tags(f.tags, params))
    for key, value in (f.metadata or {}).items():
        clauses.append(dialect.metadata(key, value, params))
    if f.text:
        text = dialect.text(f.text, params)
        if text is not None:
            clauses.append(text)
    return (" AND ".join(clauses) or dialect.true), params


def run_where(f: RunFilter | None, dialect: Dialect) -> tuple[str, list[Any]]:
    """SQL WHERE clause and parameters for a RunFilter over `runs r`."""
    params: list[Any] = []
    if f is None:
        return dialect.true, params
    mark = dialect.mark
    clauses: list[str] = []
    lists = [
        ("r.tool_name", f.tool_names),
        ("r.run_type", f.run_types),
        ("r.trace_id", f.trace_ids),
    ]
    _in_lists(lists, dialect, clauses, params)
    if f.agent_names is not None:
        clauses.append(
            "r.trace_id IN (SELECT trace_id FROM traces WHERE "
            + dialect.in_list("agent_name", f.agent_names, params)
            + ")"
        )
    _ranges([("r.duration", f.min_duration, f.max_duration)], mark, clauses, params)
    if f.success_only:
        clauses.append(dialect.is_true("r.success"))
    if f.errors_only:
        clauses.append(dialect.is_false("r.success"))
    _ranges([("r.start_us", _us(f.start_time), _us(f.end_time))], mark, clauses, params)
    return (" AND ".join(clauses) or dialect.true), params
