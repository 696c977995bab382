"""Fixtures for tracing tests: a fresh global manager over a real storage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from myagent.trace import InMemoryTraceStorage, SQLiteTraceStorage, TraceManager, set_trace_manager
from myagent.trace.setup import reset_trace_manager


@pytest.fixture
def manager() -> Iterator[TraceManager]:
    """A global TraceManager over in-memory storage, closed afterwards."""
    m = TraceManager(InMemoryTraceStorage())
    set_trace_manager(m)
    yield m
    m.close(timeout=5)
    reset_trace_manager()


@pytest.fixture
def sqlite_manager(tmp_path: Path) -> Iterator[TraceManager]:
    """A global TraceManager over a real SQLite file in tmp_path."""
    m = TraceManager(SQLiteTraceStorage(tmp_path / "traces.db"))
    set_trace_manager(m)
    yield m
    m.close(timeout=5)
    reset_trace_manager()
