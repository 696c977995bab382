"""Foreground first: background work in a server process steps aside for its requests.

Python runs one thread at a time (the GIL). When a viewer also receives OTLP exports, the
thread mapping spans and the writer thread storing them would take turns with the thread
answering a page, and a page that needs the GIL a few dozen times waits a switch interval
each time. A `ForegroundGate` counts the requests being answered; background loops call
`pause()` between small units of work and wait (GIL released) while a request is in
flight. A steady stream of requests cannot starve the background: after waiting
`max_wait` it runs for as long again before it waits once more (at least half the time).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_MAX_WAIT = 0.05
"""Longest a background unit waits for the foreground before it runs anyway (seconds)."""


class ForegroundGate:
    """Counts foreground requests in flight; `pause()` waits while there are any."""

    def __init__(self, max_wait: float = DEFAULT_MAX_WAIT) -> None:
        self.max_wait = max_wait
        self._active = 0
        self._lock = threading.Lock()
        self._quiet = threading.Event()
        self._quiet.set()
        self._free_until = 0.0
        self.waits = 0
        """Times background work waited for the foreground (for stats and tests)."""

    @property
    def active(self) -> int:
        """Foreground requests being answered now."""
        return self._active

    def enter(self) -> None:
        with self._lock:
            self._active += 1
            self._quiet.clear()

    def leave(self) -> None:
        with self._lock:
            self._active = max(0, self._active - 1)
            if not self._active:
                self._quiet.set()

    def pause(self) -> None:
        """Called by background work between units: returns at once when no request is
        in flight, else waits (GIL released) until none is or `max_wait` has passed."""
        if not self._active:
            return
        now = time.monotonic()
        if now < self._free_until:
            return
        self.waits += 1
        if not self._quiet.wait(self.max_wait):
            self._free_until = time.monotonic() + self.max_wait


class ForegroundMiddleware:
    """ASGI middleware marking each HTTP request foreground until its response starts
    (streams such as the live feed stop counting once their headers are sent). Paths
    starting with one of `background` (the OTLP receiver) are not foreground."""

    def __init__(self, app: ASGIApp, gate: ForegroundGate, background: tuple[str, ...]) -> None:
        self.app = app
        self.gate = gate
        self.background = background

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(self.background):
            await self.app(scope, receive, send)
            return
        gate = self.gate
        gate.enter()
        counted = True

        async def send_started(message: Message) -> None:
            nonlocal counted
            if counted and message["type"] == "http.response.start":
                counted = False
                gate.leave()
            await send(message)

        try:
            await self.app(scope, receive, send_started)
        finally:
            if counted:
                gate.leave()
