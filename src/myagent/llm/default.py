"""The default model: an OpenAI-compatible endpoint from the environment or `./.env`.

`default_llm()` is what an agent built with `llm=None` uses; `LLM()` (the old spelling)
builds the same client. Settings come from the environment first, then from a `.env`
file in the working directory (read with python-dotenv when a model is built, never at
import). With no endpoint configured the offline ScriptedLLM is used, and a WARNING
says so once per process.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from myagent.llm.base import LLM

logger = logging.getLogger("myagent.llm")

SETTINGS: tuple[str, ...] = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "LLM_MODEL")
"""The variables the default model reads (`OPENAI_API_BASE` is an alias of the base URL)."""

_warned_offline = False


def endpoint_settings(cwd: Path | None = None) -> dict[str, str]:
    """The SETTINGS that are set: each from the environment, else from `<cwd>/.env`."""
    import os

    values = {name: os.environ[name] for name in SETTINGS if os.environ.get(name)}
    env_file = (cwd or Path.cwd()) / ".env"
    if len(values) < len(SETTINGS) and env_file.is_file():
        from dotenv import dotenv_values

        for name, value in dotenv_values(env_file).items():
            if name in SETTINGS and value and name not in values:
                values[name] = value
    return values


def openai_llm(**options: Any) -> LLM:
    """An OpenAICompatibleLLM configured from `endpoint_settings()`, `options` winning."""
    from myagent.llm.openai_client import OpenAICompatibleLLM

    settings = endpoint_settings()
    options.setdefault("model", settings.get("LLM_MODEL"))
    options.setdefault("base_url", settings.get("OPENAI_BASE_URL", settings.get("OPENAI_API_BASE")))
    options.setdefault("api_key", settings.get("OPENAI_API_KEY"))
    return OpenAICompatibleLLM(**options)


def default_llm() -> LLM:
    """OpenAICompatibleLLM when an API key or base URL is configured, else ScriptedLLM.

    The offline ScriptedLLM calls no real model; a WARNING says so and why, once per
    process.
    """
    settings = endpoint_settings()
    if any(settings.get(name) for name in SETTINGS[:3]):
        return openai_llm()
    global _warned_offline
    if not _warned_offline:
        _warned_offline = True
        logger.warning(
            "myagent: no OPENAI_API_KEY or OPENAI_BASE_URL is set (environment or ./.env), so "
            "agents use the offline ScriptedLLM (no real model is called). Set them, or pass "
            "llm=..., to use a real model."
        )
    from myagent.llm.scripted import ScriptedLLM

    return ScriptedLLM()


def resolve_llm(llm: LLM | str | None) -> LLM:
    """The given LLM; a string is a model name for the OpenAI-compatible client; None the
    default (`default_llm`)."""
    if llm is None:
        return default_llm()
    if isinstance(llm, str):
        return openai_llm(model=llm)
    return llm


def legacy_llm(config_name: str | None = "default", llm_config: Any = None, **options: Any) -> LLM:
    """`LLM(...)` as old code spells it: the default OpenAI-compatible client.

    Config files and named configs are not supported; asking for one raises TypeError
    saying what to set instead.
    """
    if llm_config is not None or config_name not in (None, "default"):
        raise TypeError(
            f"LLM(config_name={config_name!r}) is not supported: myagent reads no config files. "
            "Set OPENAI_API_KEY, OPENAI_BASE_URL and LLM_MODEL (in the environment or ./.env), "
            "or pass LLM(model=..., base_url=..., api_key=...)."
        )
    return openai_llm(**options)
