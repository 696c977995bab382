"""Fixtures for tool tests: a fresh global trace manager over in-memory storage."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from myagent.trace import InMemoryTraceStorage, TraceManager, set_trace_manager
from myagent.trace.setup import reset_trace_manager


@pytest.fixture
def manager() -> Iterator[TraceManager]:
    """The global TraceManager for the test, closed afterwards."""
    m = TraceManager(InMemoryTraceStorage())
    set_trace_manager(m)
    yield m
    m.close(timeout=5)
    reset_trace_manager()
