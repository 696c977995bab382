"""Plain filter objects that every storage backend translates into its own query."""

from __future__ import annotations

from dataclasses import InitVar, dataclass
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
    # The earlier API's field names, accepted as aliases (docs/migrating.md).
    status: InitVar[str | None] = None
    session_id: InitVar[str | None] = None
    user_id: InitVar[str | None] = None
    environment: InitVar[str | None] = None
    request_contains: InitVar[str | None] = None
    response_contains: InitVar[str | None] = None
    min_duration_ms: InitVar[float | None] = None
    max_duration_ms: InitVar[float | None] = None

    def __post_init__(self, *aliases: Any) -> None:
        (status, session, user, environment, request, response, low, high) = aliases
        if status is not None:
            self.statuses = [str(status)]
        if session is not None:
            self.session_ids = [session]
        extra = {k: v for k, v in (("user_id", user), ("environment", environment)) if v}
        if extra:
            self.metadata = {**(self.metadata or {}), **extra}
        self.text = self.text or request or response
        if low is not None:
            self.min_duration = low / 1000
        if high is not None:
            self.max_duration = high / 1000


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
    # The earlier API's field names, accepted as aliases (docs/migrating.md).
    trace_id: InitVar[str | None] = None
    run_type: InitVar[str | None] = None
    status: InitVar[str | None] = None
    has_errors: InitVar[bool | None] = None
    min_duration_ms: InitVar[float | None] = None
    max_duration_ms: InitVar[float | None] = None

    def __post_init__(self, *aliases: Any) -> None:
        trace_id, run_type, status, has_errors, low, high = aliases
        if trace_id is not None:
            self.trace_ids = [trace_id]
        if run_type is not None:
            self.run_types = [str(run_type)]
        failed = has_errors if status is None else str(status) == "error"
        if failed is not None:
            self.errors_only, self.success_only = bool(failed), not failed
        if low is not None:
            self.min_duration = low / 1000
        if high is not None:
            self.max_duration = high / 1000
