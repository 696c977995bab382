"""Run the async storage API from sync code, inside or outside a running event loop.

Coroutines run on one private loop in a daemon thread (started on first use, fresh in
a forked child), so a sync call works the same from plain scripts, from inside
`async def` code and from other threads.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_state: dict[str, Any] = {"loop": None, "pid": None}
_lock = threading.Lock()


def _loop() -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop | None = _state["loop"]
    if loop is not None and _state["pid"] == os.getpid():
        return loop
    with _lock:
        if _state["loop"] is None or _state["pid"] != os.getpid():
            new_loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=new_loop.run_forever, name="myagent-trace-sync", daemon=True
            )
            thread.start()
            _state["loop"], _state["pid"] = new_loop, os.getpid()
        result: asyncio.AbstractEventLoop = _state["loop"]
        return result


def run_sync(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run `coro` to completion from sync code and return its result."""
    future = asyncio.run_coroutine_threadsafe(coro, _loop())
    return future.result(timeout)
