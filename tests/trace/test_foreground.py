"""ForegroundGate: background work waits while a request is answered, never for ever."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

from myagent.trace.foreground import ForegroundGate, ForegroundMiddleware


def test_pause_returns_at_once_when_no_request_is_in_flight() -> None:
    gate = ForegroundGate(max_wait=5.0)
    started = time.monotonic()
    for _ in range(1000):
        gate.pause()
    assert time.monotonic() - started < 1.0 and gate.waits == 0


def test_pause_waits_until_the_last_request_leaves() -> None:
    gate = ForegroundGate(max_wait=30.0)
    gate.enter()
    gate.enter()
    resumed = threading.Event()
    worker = threading.Thread(target=lambda: (gate.pause(), resumed.set()))
    worker.start()
    time.sleep(0.2)
    gate.leave()
    time.sleep(0.2)
    assert not resumed.is_set()  # one request still in flight
    gate.leave()
    worker.join(5)
    assert resumed.is_set() and gate.waits == 1 and gate.active == 0


def test_a_steady_foreground_cannot_starve_the_background() -> None:
    gate = ForegroundGate(max_wait=0.05)
    gate.enter()  # never leaves
    started = time.monotonic()
    gate.pause()  # waits max_wait, then runs free for as long
    waited = time.monotonic() - started
    for _ in range(100):
        gate.pause()  # inside the free slice: no wait
    assert waited >= 0.04 and gate.waits == 1


def test_middleware_counts_a_request_until_its_response_starts_not_its_stream() -> None:
    gate = ForegroundGate()
    seen: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(gate.active)  # answering: foreground
        await send({"type": "http.response.start", "status": 200, "headers": []})
        seen.append(gate.active)  # streaming the body: no longer foreground
        await send({"type": "http.response.body", "body": b"x"})

    async def send(message: Any) -> None:
        pass

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    middleware = ForegroundMiddleware(app, gate, background=("/v1/",))
    asyncio.run(middleware({"type": "http", "path": "/api/traces"}, receive, send))
    assert seen == [1, 0]
    seen.clear()
    asyncio.run(middleware({"type": "http", "path": "/v1/traces"}, receive, send))
    assert seen == [0, 0]  # the OTLP receiver is background work itself


def test_a_failing_request_still_leaves() -> None:
    gate = ForegroundGate()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("route failed")

    async def noop(*args: Any) -> Any:
        return {}

    middleware = ForegroundMiddleware(app, gate, background=())
    with contextlib.suppress(RuntimeError):
        asyncio.run(middleware({"type": "http", "path": "/x"}, noop, noop))
    assert gate.active == 0
