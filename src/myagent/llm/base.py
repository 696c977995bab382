"""The LLM protocol and the plain data types every model client returns."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

TokenCallback = Callable[[str], Awaitable[None] | None]
"""Called with each streamed content chunk; may be a plain or an async function."""


class LLMError(Exception):
    """A model call failed for good (after retries); the SDK error is kept as ``__cause__``."""

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        base_url: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.model = model
        self.base_url = base_url
        self.status_code = status_code


@dataclass(slots=True)
class ToolCall:
    """One tool the model chose to call; ``arguments`` is the raw JSON text, never parsed here."""

    id: str
    name: str
    arguments: str

    @property
    def function(self) -> ToolCall:
        """The call itself (`call.function.name`, `.arguments`), as earlier versions nested it."""
        return self

    def to_dict(self) -> dict[str, Any]:
        """Return the call in OpenAI wire format, for the assistant message sent back later."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(slots=True)
class LLMUsage:
    """Token counts the provider reported for one call."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


@dataclass(slots=True)
class LLMResponse:
    """What one chat call produced, the same whether it was streamed or not."""

    content: str | None
    tool_calls: list[ToolCall] = field(default_factory=list)
    model: str = ""
    usage: LLMUsage | None = None
    cost_usd: float | None = None
    finish_reason: str | None = None
    raw: dict[str, Any] | None = None

    def to_message(self) -> dict[str, Any]:
        """Return the assistant message to append to the conversation history."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [call.to_dict() for call in self.tool_calls]
        return message


@runtime_checkable
class LLM(Protocol):
    """Anything that answers OpenAI-format chat messages, optionally choosing tools."""

    model: str

    def __new__(cls, *args: Any, **kwargs: Any) -> LLM:
        # `LLM()` as old code spells it builds the default OpenAI-compatible client.
        if cls is not LLM:
            return super().__new__(cls)
        from myagent.llm.default import legacy_llm

        return legacy_llm(*args, **kwargs)

    async def chat(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        on_token: TokenCallback | None = None,
    ) -> LLMResponse:
        """Send the conversation; stream content chunks to ``on_token`` when it is given."""
        ...


async def emit_token(on_token: TokenCallback, text: str) -> None:
    """Call a token callback that may be sync or async."""
    result = on_token(text)
    if inspect.isawaitable(result):
        await result
