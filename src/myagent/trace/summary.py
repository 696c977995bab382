"""TraceSummary: one trace's roll-up columns without its records, for lists and pages.

A trace list (the viewer's, or a page of 50 in a script) needs ids, times, status,
counts, tokens, cost and short previews, not every prompt of every record; backends
answer it from their roll-up columns without loading records.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import orjson

from myagent.trace.ids import us_to_datetime
from myagent.trace.records import ThinkRecord, ToolRecord, Trace
from myagent.trace.serialize import to_jsonable

PREVIEW_CHARS = 200
"""Longest input/output preview, in characters (longer ones end with '…')."""


def preview(value: Any) -> str | None:
    """A short text for a JSON-safe value: strings as they are, others as JSON, cut."""
    if value is None:
        return None
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


@dataclass(slots=True, kw_only=True)
class TraceSummary:
    """A trace's roll-ups: identity, times, outcome, counts, tokens, cost, previews."""

    trace_id: str
    name: str
    agent_name: str | None
    session_id: str | None
    status: str
    start_us: int
    end_us: int | None
    duration: float | None
    has_errors: bool
    error_count: int
    run_count: int
    think_count: int
    tool_count: int
    tokens_used: int
    cost_usd: float | None
    input_preview: str | None
    output_preview: str | None
    error: str | None
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    tools: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)

    @property
    def start_time(self) -> datetime:
        """When the trace started (tz-aware UTC)."""
        return us_to_datetime(self.start_us)

    @property
    def end_time(self) -> datetime | None:
        """When the trace ended (tz-aware UTC), or None while it runs."""
        return None if self.end_us is None else us_to_datetime(self.end_us)

    @property
    def total_duration(self) -> float | None:
        """Alias of `duration` (seconds), the name `Trace` uses."""
        return self.duration

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data, with ISO start and end times added."""
        data = asdict(self)
        data["start_time"] = self.start_time.isoformat()
        end = self.end_time
        data["end_time"] = None if end is None else end.isoformat()
        return data

    @staticmethod
    def from_trace(trace: Trace) -> TraceSummary:
        """The summary of a whole trace (what SQL backends store as roll-up columns)."""
        tools: list[str] = []
        models: list[str] = []
        think_count = tool_count = 0
        for run in trace.runs:
            if isinstance(run, ThinkRecord):
                think_count += 1
                if run.model and run.model not in models:
                    models.append(run.model)
            elif isinstance(run, ToolRecord):
                tool_count += 1
                if run.tool_name not in tools:
                    tools.append(run.tool_name)
        error_count = trace.error_count
        return TraceSummary(
            trace_id=trace.trace_id,
            name=to_jsonable(trace.name),
            agent_name=to_jsonable(trace.agent_name),
            session_id=to_jsonable(trace.session_id),
            status=str(trace.status),
            start_us=trace.start_us,
            end_us=trace.end_us,
            duration=trace.total_duration,
            has_errors=error_count > 0,
            error_count=error_count,
            run_count=len(trace.runs),
            think_count=think_count,
            tool_count=tool_count,
            tokens_used=trace.tokens_used,
            cost_usd=trace.cost_usd,
            input_preview=preview(to_jsonable(trace.input)),
            output_preview=preview(to_jsonable(trace.output)),
            error=to_jsonable(trace.error),
            tags=to_jsonable(list(trace.tags)),
            metadata=to_jsonable(trace.metadata),
            tools=tools,
            models=models,
        )
