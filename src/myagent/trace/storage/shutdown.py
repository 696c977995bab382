"""Exit, SIGTERM and fork for the background writers: one shared deadline at exit.

At normal exit (and on SIGTERM, when nobody else handles it) every live writer is closed
within `shutdown_timeout` over all of them; a forked child resets each writer so it
starts empty with a thread of its own.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
import time
import weakref
from types import FrameType
from typing import Any, Protocol


class Closable(Protocol):
    """What exit and fork need of a writer."""

    def close(self, timeout: float = 5.0) -> bool:
        """Flush and stop within `timeout`."""

    def _after_fork(self) -> None:
        """Start empty in a forked child."""


_WRITERS: weakref.WeakSet[Closable] = weakref.WeakSet()
_SHUTDOWN_TIMEOUT = {"seconds": 5.0}


def register(writer: Closable) -> None:
    """Close `writer` at exit and reset it in forked children."""
    _WRITERS.add(writer)


def timeout() -> float:
    """Seconds exit and SIGTERM may spend writing pending traces, over all writers."""
    return _SHUTDOWN_TIMEOUT["seconds"]


def set_shutdown_timeout(seconds: float) -> None:
    """How long exit and SIGTERM may spend writing pending traces, over all writers."""
    _SHUTDOWN_TIMEOUT["seconds"] = seconds


def flush_all(timeout: float | None = None) -> bool:
    """Flush every live writer within one shared deadline."""
    budget = _SHUTDOWN_TIMEOUT["seconds"] if timeout is None else timeout
    deadline = time.monotonic() + budget
    ok = True
    for writer in list(_WRITERS):
        remaining = max(0.0, deadline - time.monotonic())
        ok = writer.close(remaining) and ok
    return ok


def _after_fork_in_child() -> None:
    for writer in list(_WRITERS):
        writer._after_fork()
    _SIGTERM_STATE["installed"] = False


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(flush_all)

_SIGTERM_STATE: dict[str, Any] = {"installed": False}


def install_sigterm_handler() -> None:
    """Flush on SIGTERM, then die of it as before; only if nobody else handles SIGTERM."""
    if _SIGTERM_STATE["installed"] or threading.current_thread() is not threading.main_thread():
        return
    try:
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return
        signal.signal(signal.SIGTERM, _on_sigterm)
        _SIGTERM_STATE["installed"] = True
    except (ValueError, OSError):
        return


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    try:
        flush_all()
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
