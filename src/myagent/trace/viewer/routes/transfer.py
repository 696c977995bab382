"""Export the current filter as JSON, JSONL or CSV (imports: routes/imports.py).

Exports stream a page of traces at a time (constant memory on any size); JSON and
JSONL carry whole traces in their lossless `Trace.to_dict` form, CSV one summary row
per trace (the list's columns).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from myagent.trace.export import csv_safe
from myagent.trace.filters import TraceFilter
from myagent.trace.records import Trace
from myagent.trace.summary import TraceSummary
from myagent.trace.viewer.routes.traces import Filter, Source
from myagent.trace.viewer.source import TraceSource

router = APIRouter(prefix="/api", tags=["transfer"])
PAGE = 200
CSV_COLUMNS = (
    "trace_id",
    "name",
    "agent_name",
    "session_id",
    "status",
    "start_time",
    "end_time",
    "duration",
    "has_errors",
    "error_count",
    "think_count",
    "tool_count",
    "tokens_used",
    "cost_usd",
    "input_preview",
    "output_preview",
    "error",
    "tags",
    "tools",
    "models",
)


async def _pages(
    src: TraceSource, filter: TraceFilter, limit: int
) -> AsyncIterator[list[TraceSummary]]:
    after: tuple[float, str] | None = None
    left = limit
    while left > 0:
        page = await src.page(filter, limit=min(PAGE, left), after=after, order_by="start_time")
        if not page:
            return
        yield page
        left -= len(page)
        after = (page[-1].start_us, page[-1].trace_id)


async def _traces(src: TraceSource, filter: TraceFilter, limit: int) -> AsyncIterator[Trace]:
    async for page in _pages(src, filter, limit):
        for summary in page:
            trace = await src.trace(summary.trace_id)
            if trace is not None:
                yield trace


async def _exported(src: TraceSource, trace: Trace) -> dict[str, Any]:
    """A trace's export data: `to_dict()`, plus its `scores` when it has any."""
    data = trace.to_dict()
    if src.storage.supports_eval:
        scores = await src.storage.query_scores(trace_ids=[trace.trace_id], limit=None)
        if scores:
            data["scores"] = [s.to_dict() for s in scores]
    return data


async def _jsonl(src: TraceSource, filter: TraceFilter, limit: int) -> AsyncIterator[bytes]:
    async for trace in _traces(src, filter, limit):
        yield orjson.dumps(await _exported(src, trace)) + b"\n"


async def _json(src: TraceSource, filter: TraceFilter, limit: int) -> AsyncIterator[bytes]:
    yield b'{"format":"myagent-traces","version":1,"traces":['
    first = True
    async for trace in _traces(src, filter, limit):
        yield (b"" if first else b",") + orjson.dumps(await _exported(src, trace))
        first = False
    yield b"]}"


def _csv_cell(value: Any) -> Any:
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    return csv_safe(value) if isinstance(value, str) else value  # never a formula


async def _csv(src: TraceSource, filter: TraceFilter, limit: int) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    async for page in _pages(src, filter, limit):
        for summary in page:
            row = summary.to_dict()
            writer.writerow([_csv_cell(row.get(c)) for c in CSV_COLUMNS])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue().encode()


_FORMATS = {
    "json": (_json, "application/json"),
    "jsonl": (_jsonl, "application/x-ndjson"),
    "csv": (_csv, "text/csv; charset=utf-8"),
}


@router.get("/export", response_class=StreamingResponse)
async def export(
    src: Source,
    filter: Filter,
    format: Literal["json", "jsonl", "csv"] = "jsonl",
    limit: Annotated[int, Query(ge=1, le=10_000_000)] = 100_000,
) -> StreamingResponse:
    """The traces matching the filter, oldest first, as a file download: whole traces
    (JSON, JSONL) or one summary row each (CSV)."""
    produce, media = _FORMATS[format]
    return StreamingResponse(
        produce(src, filter, limit),
        media_type=media,
        headers={"content-disposition": f'attachment; filename="traces.{format}"'},
    )
