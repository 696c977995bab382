"""Fixtures for agent tests: a fresh global trace manager, and no ambient OpenAI settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from myagent.trace import InMemoryTraceStorage, SQLiteTraceStorage, TraceManager, set_trace_manager
from myagent.trace.setup import reset_trace_manager

_AMBIENT = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_API_BASE",
    "LLM_MODEL",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset the variables the default LLM and the SDK read; each test sets what it needs."""
    for name in _AMBIENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def manager() -> Iterator[TraceManager]:
    """The global TraceManager over in-memory storage, closed afterwards."""
    m = TraceManager(InMemoryTraceStorage())
    set_trace_manager(m)
    yield m
    m.close(timeout=5)
    reset_trace_manager()


@pytest.fixture
def sqlite_manager(tmp_path: Path) -> Iterator[TraceManager]:
    """The global TraceManager over a real SQLite file in tmp_path."""
    m = TraceManager(SQLiteTraceStorage(tmp_path / "traces.db"))
    set_trace_manager(m)
    yield m
    m.close(timeout=5)
    reset_trace_manager()
