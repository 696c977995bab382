"""Fixtures for agent tests: no ambient OpenAI settings (the manager fixtures are shared)."""

from __future__ import annotations

import pytest

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
