"""The writers' watchdog: one daemon thread that notices a writer stuck on one trace.

A writer thread converts and redacts each trace before storage sees it. A value whose
`__repr__`/`__str__` (or `model_dump`, `to_dict`) never returns would hold that thread
for good, and every trace queued behind it with it. The watchdog looks at each writer a
few times a second; a writer whose current trace has taken longer than its
`stuck_timeout` is told to give that trace up (`Watched.unstick`): it is counted as
dropped ("stuck") and a replacement thread carries on with the rest. Python cannot
stop a thread, so the stuck one is abandoned: it ends by itself if its call ever
returns, and writes nothing.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from typing import Protocol

PERIOD_MIN, PERIOD_MAX = 0.02, 0.5
"""Bounds, in seconds, on how often the watchdog looks (a quarter of the shortest
`stuck_timeout` of the writers it watches, within these bounds)."""


class Watched(Protocol):
    """What the watchdog needs of a writer."""

    stuck_timeout: float

    def unstick(self, now: float) -> None:
        """Give up the trace being handled if it has taken longer than `stuck_timeout`."""


_WATCHED: weakref.WeakSet[Watched] = weakref.WeakSet()
_STATE: dict[str, object] = {"pid": 0}
_LOCK = threading.Lock()


def watch(writer: Watched) -> None:
    """Have the watchdog look at `writer` from now on (starts the watchdog if needed)."""
    _WATCHED.add(writer)
    if _STATE["pid"] == os.getpid():
        return
    with _LOCK:
        if _STATE["pid"] == os.getpid():
            return
        thread = threading.Thread(target=_run, name="myagent-trace-watchdog", daemon=True)
        try:
            thread.start()
        except RuntimeError:  # interpreter shutdown: nothing left to watch over
            return
        _STATE["pid"] = os.getpid()


def _run() -> None:
    while True:
        writers = list(_WATCHED)
        shortest = min((w.stuck_timeout for w in writers), default=4 * PERIOD_MAX)
        time.sleep(min(max(shortest / 4, PERIOD_MIN), PERIOD_MAX))
        now = time.monotonic()
        for writer in writers:
            try:
                writer.unstick(now)
            except Exception:  # the watchdog must outlive any writer's fault
                continue
