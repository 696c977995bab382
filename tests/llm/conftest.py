"""Keep the LLM tests independent of the developer's own OpenAI and proxy settings."""

from __future__ import annotations

import pytest

_ISOLATED_VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_API_BASE",
    "LLM_MODEL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "OPENAI_ADMIN_KEY",
    "OPENAI_CUSTOM_HEADERS",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture(autouse=True)
def _clean_llm_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset the variables the client and the SDK read, so each test sets what it needs."""
    for name in _ISOLATED_VARIABLES:
        monkeypatch.delenv(name, raising=False)
