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
from myagent.trace.scores import ScoreCondition

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


class _Where:
    """Conditions joined by AND, with their parameters in order."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.clauses: list[str] = []
        self.params: list[Any] = []

    def add(self, clause: str | None, *params: Any) -> None:
        if clause is not None:
            self.clauses.append(clause)
            self.params.extend(params)

    def lists(self, lists: Sequence[tuple[str, Sequence[Any] | None]]) -> None:
        """`column IN values` for each (column, values) whose values are set."""
        for column, values in lists:
            if values is not None:
                self.add(self.dialect.in_list(column, values, self.params))

    def ranges(self, ranges: Sequence[tuple[str, Any, Any]]) -> None:
        """`column >= low` and `column <= high` for each (column, low, high), where set."""
        for column, low, high in ranges:
            for op, value in ((">=", low), ("<=", high)):
                if value is not None:
                    self.add(f"{column} {op} {self.dialect.mark}", value)

    def sql(self) -> tuple[str, list[Any]]:
        return (" AND ".join(self.clauses) or self.dialect.true), self.params


def trace_where(f: TraceFilter | None, dialect: Dialect) -> tuple[str, list[Any]]:
    """SQL WHERE clause and parameters for a TraceFilter over the `traces` table."""
    w = _Where(dialect)
    if f is None:
        return w.sql()
    w.lists(
        [
            ("agent_name", f.agent_names),
            ("session_id", f.session_ids),
            ("trace_id", f.trace_ids),
            ("status", f.statuses),
        ]
    )
    w.ranges([("start_us", _us(f.start_time), _us(f.end_time))])
    if f.has_errors is not None:
        w.add(f"has_errors = {dialect.mark}", dialect.flag(bool(f.has_errors)))
    w.ranges(
        [
            ("COALESCE(duration, 0)", f.min_duration, f.max_duration),
            ("tokens_used", f.min_tokens, f.max_tokens),
            ("COALESCE(cost_usd, 0)", f.min_cost, None),
        ]
    )
    if f.tools_used:
        w.add(dialect.tools(f.tools_used, f.tools_match == "all", w.params))
    if f.models:
        w.add(dialect.models(f.models, w.params))
    if f.tags:
        w.add(dialect.tags(f.tags, w.params))
    for key, value in (f.metadata or {}).items():
        w.add(dialect.metadata(key, value, w.params))
    if f.text:
        w.add(dialect.text(f.text, w.params))
    for condition in f.scores or ():
        w.add(score_clause(condition, dialect, w.params))
    return w.sql()


def score_clause(c: ScoreCondition, dialect: Dialect, params: list[Any]) -> str:
    """A trace's scores pass condition `c` (as `ScoreCondition.matches` defines), on the
    `scores` table's (trace_id, name, value) index."""
    mark = dialect.mark
    tests = ["s.trace_id = traces.trace_id"]
    if c.name is not None:
        tests.append(f"s.name = {mark}")
        params.append(c.name)
    if c.source is not None:
        tests.append(f"s.source = {mark}")
        params.append(c.source)
    if c.op not in ("has", "missing"):
        column = "s.label" if isinstance(c.value, str) else "s.value"
        op = "<>" if c.op == "!=" else "=" if c.op == "==" else c.op
        tests.append(f"{column} {op} {mark}")
        params.append(c.value)
    exists = f"EXISTS (SELECT 1 FROM scores s WHERE {' AND '.join(tests)})"
    return f"NOT {exists}" if c.op == "missing" else exists


def run_where(f: RunFilter | None, dialect: Dialect) -> tuple[str, list[Any]]:
    """SQL WHERE clause and parameters for a RunFilter over `runs r`."""
    w = _Where(dialect)
    if f is None:
        return w.sql()
    w.lists(
        [("r.tool_name", f.tool_names), ("r.run_type", f.run_types), ("r.trace_id", f.trace_ids)]
    )
    if f.agent_names is not None:
        agents = dialect.in_list("agent_name", f.agent_names, w.params)
        w.add(f"r.trace_id IN (SELECT trace_id FROM traces WHERE {agents})")
    w.ranges([("r.duration", f.min_duration, f.max_duration)])
    if f.success_only:
        w.add(dialect.is_true("r.success"))
    if f.errors_only:
        w.add(dialect.is_false("r.success"))
    w.ranges([("r.start_us", _us(f.start_time), _us(f.end_time))])
    return w.sql()
