"""The LLM layer: one protocol, an OpenAI-compatible client and an offline scripted model."""

from myagent.llm.base import LLM, LLMError, LLMResponse, LLMUsage, TokenCallback, ToolCall
from myagent.llm.openai_client import DEFAULT_MODEL, OpenAICompatibleLLM
from myagent.llm.pricing import estimate_cost
from myagent.llm.scripted import ScriptedLLM, ScriptStep

__all__ = [
    "DEFAULT_MODEL",
    "LLM",
    "LLMError",
    "LLMResponse",
    "LLMUsage",
    "OpenAICompatibleLLM",
    "ScriptStep",
    "ScriptedLLM",
    "TokenCallback",
    "ToolCall",
    "estimate_cost",
]
