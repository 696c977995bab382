"""Response shapes of the JSON API, for its OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class TraceSummaryOut(BaseModel):
    """One row of the trace list: stored roll-ups and previews, no records."""

    trace_id: str
    name: str | None = None
    agent_name: str | None = None
    session_id: str | None = None
    status: str
    start_us: int = Field(description="start, microseconds since the epoch")
    end_us: int | None = None
    duration: float | None = Field(None, description="seconds")
    has_errors: bool
    error_count: int
    run_count: int
    think_count: int
    tool_count: int
    tokens_used: int
    cost_usd: float | None = None
    input_preview: str | None = None
    output_preview: str | None = None
    error: str | None = None
    tags: list[str] = []
    metadata: dict[str, Any] = {}
    tools: list[str] = []
    models: list[str] = []
    start_time: str | None = Field(None, description="ISO 8601, UTC")
    end_time: str | None = None


class TracePage(BaseModel):
    """A page of the trace list; pass `next_cursor` back as `cursor` for the next one."""

    items: list[TraceSummaryOut]
    next_cursor: str | None = Field(None, description="null on the last page")


class Count(BaseModel):
    """How many traces match a filter."""

    count: int


class Preview(BaseModel):
    """The start of a payload, and how big the whole is."""

    text: str
    size: int = Field(description="characters of the whole value")
    clipped: bool = Field(description="the preview shows only the start")
    stored_truncated: bool = Field(description="storage itself cut the value (size limit)")


class RecordOutline(BaseModel):
    """One record in the tree, waterfall and transcript; payloads as previews."""

    model_config = {"extra": "allow"}

    run_id: str
    parent_id: str | None
    run_type: str
    name: str
    start_us: int
    end_us: int | None
    duration: float | None
    success: bool
    error: Preview | None
    error_type: str | None
    has_stacktrace: bool
    previews: dict[str, Preview]


class TraceDetail(TraceSummaryOut):
    """One trace: its summary, input/output previews, logs and every record outline."""

    input: Preview | None = None
    output: Preview | None = None
    logs: list[dict[str, Any]] = []
    records: list[RecordOutline]


class ImportResult(BaseModel):
    """What an import stored: a trace whose id is already stored is never replaced; it
    is skipped (`on_conflict=skip`, the default) or stored under a new id (`new_id`)."""

    imported: int
    trace_ids: list[str] = Field(description="ids stored, in file order")
    skipped: list[str] = Field(default_factory=list, description="ids already stored")
    renamed: dict[str, str] = Field(
        default_factory=dict, description="already stored id -> the new id it was stored under"
    )
    redacted: bool = Field(True, description="whether the traces passed the redactor")


class WriterHealthOut(BaseModel):
    """One writer process's counters, as it last persisted them (or live, in-process)."""

    writer_id: str
    host: str
    pid: int
    started_us: int = Field(description="when the writer started, microseconds since the epoch")
    updated_us: int = Field(description="when these counters were taken")
    submitted: int = Field(description="traces handed to the writer thread")
    written: int = Field(description="traces that reached storage")
    partial_writes: int
    write_errors: int = Field(description="failed write attempts, retried or not")
    dropped: dict[str, int] = Field(
        description=(
            "traces dropped, by reason: buffer_full, write_failed, transform_failed, "
            "convert_failed, stuck, shutdown"
        )
    )
    dropped_total: int
    buffer_depth: int = Field(description="traces queued when the counters were taken")
    last_error: str | None = Field(None, description="redacted, at most 500 characters")
    closed: bool = Field(description="the writer shut down")
    live: bool = Field(description="read from this process's running writer, not storage")


class WriterTotals(BaseModel):
    """Sums over every writer listed."""

    writers: int
    submitted: int
    written: int
    partial_writes: int
    write_errors: int
    buffer_depth: int
    dropped: dict[str, int]
    dropped_total: int


class WritersReport(BaseModel):
    """Tracing health: per-writer counters (newest first) and their totals."""

    writers: list[WriterHealthOut]
    totals: WriterTotals
