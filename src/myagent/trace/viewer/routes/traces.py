"""Trace list (keyset pages), count, one trace's outline, records and payloads on demand."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response

from myagent.trace.storage.base import sort_value
from myagent.trace.viewer.find import find_in_trace
from myagent.trace.viewer.params import (
    ID_PATTERN,
    OrderBy,
    decode_cursor,
    encode_cursor,
)
from myagent.trace.viewer.payloads import (
    RECORD_FIELDS,
    TRACE_FIELDS,
    as_text,
    bounded_record,
    json_response,
    trace_outline,
)
from myagent.trace.viewer.schemas import Count, TraceDetail, TracePage
from myagent.trace.viewer.search_limits import BoundedFilter
from myagent.trace.viewer.settings import ViewerSettings
from myagent.trace.viewer.source import TraceSource

router = APIRouter(prefix="/api", tags=["traces"])
TraceId = Annotated[str, Path(pattern=ID_PATTERN)]
RunId = Annotated[str, Path(pattern=ID_PATTERN)]


def source(request: Request) -> TraceSource:
    """The app's trace source."""
    found: TraceSource = request.app.state.source
    return found


def settings(request: Request) -> ViewerSettings:
    """The app's settings."""
    found: ViewerSettings = request.app.state.settings
    return found


Source = Annotated[TraceSource, Depends(source)]
Settings = Annotated[ViewerSettings, Depends(settings)]
Filter = BoundedFilter
"""The filter query parameters, with a search's cost bounded (search_limits.py)."""


@router.get("/traces", response_model=TracePage)
async def list_traces(
    src: Source,
    filter: Filter,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    order: OrderBy = "-start_time",
) -> Any:
    """Trace summaries, newest first by default; pages are stable while traces arrive."""
    try:
        items = await src.page(filter, limit=limit, after=decode_cursor(cursor), order_by=order)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    next_cursor = None
    if len(items) == limit:
        last = items[-1]
        next_cursor = encode_cursor(sort_value(last, order.lstrip("-")), last.trace_id)
    return json_response({"items": [s.to_dict() for s in items], "next_cursor": next_cursor})


@router.get("/traces/count", response_model=Count)
async def count_traces(src: Source, filter: Filter) -> Count:
    """How many traces match the filter (a separate call, so pages never count)."""
    return Count(count=await src.count(filter))


@router.get("/traces/{trace_id}", response_model=TraceDetail)
async def get_trace(trace_id: TraceId, src: Source, cfg: Settings) -> Any:
    """One trace: summary, logs, and every record with payload previews."""
    trace = await src.trace(trace_id)
    if trace is None:
        raise HTTPException(404, "no such trace")
    return json_response(trace_outline(trace, cfg.preview_chars))


@router.get("/traces/{trace_id}/records/{run_id}")
async def get_record(trace_id: TraceId, run_id: RunId, src: Source, cfg: Settings) -> Any:
    """One record's full data; a field over the inline limit comes as a download stand-in
    (`{"$large": true, "size", "preview", "download"}`)."""
    run = await src.record(trace_id, run_id)
    if run is None:
        raise HTTPException(404, "no such record")
    base = f"/api/traces/{trace_id}/records/{run_id}"
    return json_response(bounded_record(run, cfg.inline_payload_bytes, base))


def _payload_response(value: Any, name: str, download: bool) -> Response:
    if value is None:
        raise HTTPException(404, "this field is empty")
    text = as_text(value)
    media = "text/plain; charset=utf-8" if isinstance(value, str) else "application/json"
    headers = {"cache-control": "no-store"}
    if download:
        ext = "txt" if isinstance(value, str) else "json"
        headers["content-disposition"] = f'attachment; filename="{name}.{ext}"'
    return PlainTextResponse(text, media_type=media, headers=headers)


@router.get("/traces/{trace_id}/records/{run_id}/payload/{field}")
async def get_record_payload(
    trace_id: TraceId,
    run_id: RunId,
    field: str,
    src: Source,
    download: bool = False,
) -> Response:
    """One record field, whole, as text or JSON (`download=true` for a file)."""
    if field not in RECORD_FIELDS:
        raise HTTPException(404, f"field must be one of {RECORD_FIELDS}")
    run = await src.record(trace_id, run_id)
    if run is None:
        raise HTTPException(404, "no such record")
    value = run.to_dict().get(field)
    return _payload_response(value, f"{run_id}-{field}", download)


@router.get("/traces/{trace_id}/payload/{field}")
async def get_trace_payload(
    trace_id: TraceId, field: str, src: Source, download: bool = False
) -> Response:
    """One trace field (input, output, error, metadata), whole."""
    if field not in TRACE_FIELDS:
        raise HTTPException(404, f"field must be one of {TRACE_FIELDS}")
    trace = await src.trace(trace_id)
    if trace is None:
        raise HTTPException(404, "no such trace")
    value = trace.to_dict(include_runs=False).get(field)
    return _payload_response(value, f"{trace_id}-{field}", download)


@router.get("/traces/{trace_id}/search")
async def search_in_trace(
    trace_id: TraceId,
    src: Source,
    q: Annotated[str, Query(min_length=1, max_length=500)],
) -> dict[str, Any]:
    """Records of one trace whose full content (any field) contains `q`, ignoring case:
    `own` tells a record's own content from the prompt history it repeats, `places` where
    inside the payload the text is (field, JSON path, the text around it)."""
    trace = await src.trace(trace_id)
    if trace is None:
        raise HTTPException(404, "no such trace")
    hits = find_in_trace(trace, q)
    return {"query": q, "hits": [dataclasses.asdict(h) for h in hits]}
