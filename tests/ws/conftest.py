"""Fixtures for the agent-server tests: a fresh global trace manager over memory storage."""

from __future__ import annotations

import pytest

from myagent.trace import TraceManager
from tests.support.ws import DeleteFileTool, Gate


@pytest.fixture(autouse=True)
def _fresh_manager(manager: TraceManager) -> TraceManager:
    """Every server test gets the shared fresh global manager and a clean tool log."""
    DeleteFileTool.deleted.clear()
    return manager


@pytest.fixture
def gate() -> type[Gate]:
    """The gate the wait_for_gate tool blocks on, fresh for the test."""
    Gate.reset()
    return Gate
