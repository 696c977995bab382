"""Plain filter objects that every storage backend translates into its own query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from myagent.trace.scores import ScoreCondition

TRACE_ORDERS = (
    "start_time",
    "-start_time",
    "duration",
    "-duration",
    "tokens",
    "-tokens",
    "cost",
    "-cost",
)
"""Accepted `order_by` values for trace queries; a leading '-' means descending."""


@dataclass(slots=True, kw_only=True)
class TraceFilter:
    """Which traces to return. Unset fields do not filter; set fields must all hold.

    `tools_used` matches traces that called every listed tool (`tools_match="all"`,
    the default) or at least one of them (`tools_match="any"`). `tags` must all be
    present. `metadata` is key-by-key equality on top-level metadata values. `text`
    is a full-text search over inputs, outputs and errors. `start_time`/`end_time`
    bound the trace's start time, inclusively. `scores` are conditions on the trace's
    scores (`ScoreCondition`, e.g. `score.helpfulness >= 0.8`). Full semantics:
    docs/query.md and docs/evaluate.md.
    """

    agent_names: list[str] | None = None
    session_ids: list[str] | None = None
    trace_ids: list[str] | None = None
    statuses: list[str] | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    has_errors: bool | None = None
    min_duration: float | None = None
    max_duration: float | None = None
    tools_used: list[str] | None = None
    tools_match: Literal["all", "any"] = "all"
    min_tokens: int | None = None
    max_tokens: int | None = None
    min_cost: float | None = None
    models: list[str] | None = None
    text: str | None = None
    tags: list[str] | None = None
    metadata: dict[str, Any] | None = None
    scores: list[ScoreCondition] | None = None


@dataclass(slots=True, kw_only=True)
class RunFilter:
    """Which records to return. Unset fields do not filter; set fields must all hold."""

    tool_names: list[str] | None = None
    run_types: list[str] | None = None
    trace_ids: list[str] | None = None
    agent_names: list[str] | None = None
    min_duration: float | None = None
    max_duration: float | None = None
    success_only: bool = False
    errors_only: bool = False
    start_time: datetime | None = None
    end_time: datetime | None = None
