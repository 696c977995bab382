"""`GET /api/live`: server-sent events of traces starting, growing and finishing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from myagent.trace.viewer.live import LiveHub, Subscription
from myagent.trace.viewer.routes.traces import Filter

router = APIRouter(prefix="/api", tags=["live"])
KEEPALIVE_SECONDS = 15.0


async def _events(request: Request, hub: LiveHub, sub: Subscription) -> AsyncIterator[bytes]:
    try:
        yield b"retry: 1000\nevent: hello\ndata: {}\n\n"
        while True:
            try:
                change = await asyncio.wait_for(sub.queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield b": keepalive\n\n"
                continue
            if change is None:
                return
            stamp, summary = change
            if sub.overflowed:
                sub.overflowed = False
                yield b"event: reset\ndata: {}\n\n"  # events were lost: reload the view
            data = orjson.dumps(summary.to_dict())
            yield b"event: trace\nid: %d\ndata: %s\n\n" % (stamp, data)
    finally:
        hub.unsubscribe(sub)


@router.get(
    "/live",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def live(request: Request, filter: Filter) -> StreamingResponse:
    """Server-sent events: `trace` (a summary, each time a trace starts, grows or ends,
    among those the filter passes; `trace_id=` for one trace), `reset` (events were
    dropped: reload), and keep-alive comments."""
    hub: LiveHub = request.app.state.hub
    empty = filter == type(filter)()
    sub = hub.subscribe(None if empty else filter)
    return StreamingResponse(
        _events(request, hub, sub),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )
