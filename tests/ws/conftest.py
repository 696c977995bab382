"""Fixtures for the agent-server tests: a fresh global trace manager over memory storage."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from myagent.trace import InMemoryTraceStorage, TraceManager, set_trace_manager
from myagent.trace.setup import reset_trace_manager
from tests.support.ws import DeleteFileTool, Gate


@pytest.fixture(autouse=True)
def manager() -> Iterator[TraceManager]:
    """A global TraceManager over in-memory storage, closed afterwards."""
    m = TraceManager(InMemoryTraceStorage())
    set_trace_manager(m)
    DeleteFileTool.deleted.clear()
    yield m
    m.close(timeout=5)
    reset_trace_manager()


@pytest.fixture
def gate() -> type[Gate]:
    """The gate the wait_for_gate tool blocks on, fresh for the test."""
    Gate.reset()
    return Gate
