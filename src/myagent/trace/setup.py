"""The process-wide trace manager: built lazily from TRACE_* variables, replaceable."""

from __future__ import annotations

import threading

from myagent.trace.config import TraceConfig
from myagent.trace.manager import TraceManager

_lock = threading.Lock()
_manager: list[TraceManager] = []


def get_trace_manager() -> TraceManager:
    """The global TraceManager; the first call builds it from the environment."""
    if _manager:
        return _manager[0]
    with _lock:
        if not _manager:
            _manager.append(TraceManager(config=TraceConfig.from_env()))
        return _manager[0]


def peek_trace_manager() -> TraceManager | None:
    """The global TraceManager if one exists (never builds one)."""
    return _manager[0] if _manager else None


def set_trace_manager(manager: TraceManager) -> None:
    """Replace the global TraceManager (the old one keeps what it already queued)."""
    with _lock:
        _manager[:] = [manager]


def reset_trace_manager() -> None:
    """Forget the global manager so the next `get_trace_manager()` rebuilds it (tests)."""
    with _lock:
        _manager.clear()
