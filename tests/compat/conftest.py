"""Fixtures for running code written for the earlier myagent: the default model reaches the
loopback OpenAI-wire server through the environment, as the old examples configured it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.openai_server import OpenAITestServer

_SETTINGS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "LLM_MODEL")


@pytest.fixture
def old_env(
    openai_server: OpenAITestServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[OpenAITestServer]:
    """The loopback server named by OPENAI_BASE_URL/OPENAI_API_KEY/LLM_MODEL; cwd is tmp_path."""
    for name in _SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-old-example")
    monkeypatch.setenv("LLM_MODEL", "gpt-4o-mini")
    monkeypatch.chdir(tmp_path)
    yield openai_server
