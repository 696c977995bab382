"""Client for any OpenAI-compatible chat-completions endpoint, on the official ``openai`` SDK."""

from __future__ import annotations

import asyncio
import os
import weakref
from dataclasses import dataclass, field
from typing import Any, cast

from openai import APIStatusError, AsyncOpenAI, DefaultAsyncHttpxClient

from myagent.llm.base import LLMError, LLMResponse, LLMUsage, TokenCallback, ToolCall, emit_token
from myagent.llm.pricing import estimate_cost

DEFAULT_MODEL = "gpt-4o-mini"
OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
PLACEHOLDER_API_KEY = "not-needed"
"""Sent to local servers (Ollama, vLLM, ...) that need no key, so the SDK does not refuse."""


class _CallbackError(Exception):
    """Carries an exception raised by the caller's ``on_token`` so it is not wrapped as LLMError."""


@dataclass
class _PartialToolCall:
    """A tool call being assembled from streamed deltas."""

    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class OpenAICompatibleLLM:
    """Chat model reached through ``AsyncOpenAI``: OpenAI, Azure, vLLM, Ollama, OpenRouter, ...

    Unset arguments come from ``OPENAI_API_KEY``, ``OPENAI_BASE_URL`` (alias ``OPENAI_API_BASE``)
    and ``LLM_MODEL``; retries and back-off are the SDK's own.
    """

    def __init__(
        self,
        model: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        timeout: float = 60.0,
        retries: int = 2,
    ) -> None:
        self.model: str = model or os.environ.get("LLM_MODEL") or DEFAULT_MODEL
        self.base_url: str | None = (
            base_url
            or os.environ.get("OPENAI_BASE_URL")
            or os.environ.get("OPENAI_API_BASE")
            or None
        )
        key = api_key or os.environ.get("OPENAI_API_KEY") or None
        if key is None and self.base_url is not None:
            key = PLACEHOLDER_API_KEY
        self.api_key: str | None = key
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout = timeout
        self.retries = retries
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncOpenAI] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"OpenAICompatibleLLM(model={self.model!r}, base_url={self.base_url!r})"

    def _get_client(self) -> AsyncOpenAI:
        """Return this event loop's SDK client; connections are loop-bound, so one per loop."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            if self.api_key is None:
                raise LLMError(
                    f"no API key for model {self.model!r}: set OPENAI_API_KEY, or OPENAI_BASE_URL "
                    "for a local server that needs none",
                    model=self.model,
                    base_url=self.base_url,
                )
            # Our own HTTP client: the SDK's default one schedules its close on whatever loop
            # runs when it is garbage-collected, which fails noisily once its own loop is gone.
            client = AsyncOpenAI(
                api_key=self.api_key,
                base_url=self.base_url,
                timeout=self.timeout,
                max_retries=self.retries,
                http_client=DefaultAsyncHttpxClient(timeout=self.timeout),
            )
            self._clients[loop] = client
        return client

    async def aclose(self) -> None:
        """Close the HTTP connections opened from the running event loop."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()

    async def chat(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        on_token: TokenCallback | None = None,
    ) -> LLMResponse:
        """Send one chat-completions request; stream it when ``on_token`` is given."""
        params: dict[str, Any] = {"model": self.model, "messages": messages}
        if tools:
            params["tools"] = tools
            if tool_choice is not None:
                params["tool_choice"] = tool_choice
        if self.temperature is not None:
            params["temperature"] = self.temperature
        if self.max_tokens is not None:
            params["max_tokens"] = self.max_tokens
        try:
            client = self._get_client()
            if on_token is None:
                completion = await client.chat.completions.create(**params)
                return self._from_completion(completion.model_dump(mode="json", exclude_unset=True))
            return await self._stream(client, params, on_token)
        except _CallbackError as exc:
            raise cast(BaseException, exc.__cause__) from None
        except LLMError:
            raise
        except Exception as exc:
            raise self._error(exc) from exc

    async def _stream(
        self, client: AsyncOpenAI, params: dict[str, Any], on_token: TokenCallback
    ) -> LLMResponse:
        """Stream the answer, passing content chunks on and assembling tool calls from deltas."""
        stream = await client.chat.completions.create(
            **params, stream=True, stream_options={"include_usage": True}
        )
        content: list[str] = []
        calls: dict[int, _PartialToolCall] = {}
        model = ""
        finish_reason: str | None = None
        usage: dict[str, Any] | None = None
        response_id: str | None = None
        async with stream:
            async for chunk in stream:
                data = chunk.model_dump(mode="json", exclude_unset=True)
                model = model or data.get("model") or ""
                response_id = response_id or data.get("id")
                if data.get("usage"):
                    usage = data["usage"]
                for choice in data.get("choices") or []:
                    if choice.get("index", 0) != 0:
                        continue
                    finish_reason = choice.get("finish_reason") or finish_reason
                    delta = choice.get("delta") or {}
                    for tool_delta in delta.get("tool_calls") or []:
                        _merge_tool_delta(calls, tool_delta)
                    text = delta.get("content")
                    if text:
                        content.append(text)
                        try:
                            await emit_token(on_token, text)
                        except Exception as exc:
                            raise _CallbackError() from exc
        if finish_reason is None:
            raise LLMError(
                f"LLM stream ended early: model={self.model!r} base_url={self._shown_base_url()!r}"
                " sent no finish_reason (connection cut?)",
                model=self.model,
                base_url=self._shown_base_url(),
            )
        tool_calls = [
            {
                "id": part.id,
                "type": "function",
                "function": {"name": part.name, "arguments": "".join(part.arguments)},
            }
            for _, part in sorted(calls.items())
        ]
        message: dict[str, Any] = {"role": "assistant", "content": "".join(content) or None}
        if tool_calls:
            message["tool_calls"] = tool_calls
        assembled: dict[str, Any] = {
            "id": response_id,
            "object": "chat.completion",
            "model": model or self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
            "usage": usage,
        }
        return self._from_completion(assembled)

    def _from_completion(self, data: dict[str, Any]) -> LLMResponse:
        """Build the response from a chat.completion body (as sent, or assembled from a stream)."""
        choices = data.get("choices") or [{}]
        choice = choices[0]
        message = choice.get("message") or {}
        tool_calls: list[ToolCall] = []
        for call in message.get("tool_calls") or []:
            function = call.get("function") or call.get("custom") or {}
            arguments = function.get("arguments", function.get("input"))
            tool_calls.append(
                ToolCall(
                    id=call.get("id") or "",
                    name=function.get("name") or "",
                    arguments=arguments if isinstance(arguments, str) else "",
                )
            )
        model = data.get("model") or self.model
        usage: LLMUsage | None = None
        cost: float | None = None
        raw_usage = data.get("usage")
        if raw_usage:
            prompt = int(raw_usage.get("prompt_tokens") or 0)
            completion = int(raw_usage.get("completion_tokens") or 0)
            total = int(raw_usage.get("total_tokens") or prompt + completion)
            usage = LLMUsage(prompt, completion, total)
            details = raw_usage.get("prompt_tokens_details") or {}
            cached = int(details.get("cached_tokens") or 0)
            cost = estimate_cost(model, prompt, completion, cached_tokens=cached)
        return LLMResponse(
            content=message.get("content"),
            tool_calls=tool_calls,
            model=model,
            usage=usage,
            cost_usd=cost,
            finish_reason=choice.get("finish_reason"),
            raw=data,
        )

    def _shown_base_url(self) -> str:
        """The endpoint as errors report it (the SDK's default when none is configured)."""
        return self.base_url or OPENAI_DEFAULT_BASE_URL

    def _error(self, exc: Exception) -> LLMError:
        """Describe a failed call: which model, which endpoint, which HTTP status."""
        status = exc.status_code if isinstance(exc, APIStatusError) else None
        base_url = self._shown_base_url()
        return LLMError(
            f"LLM call failed: model={self.model!r} base_url={base_url!r} "
            f"status={status if status is not None else 'n/a'} "
            f"(retries={self.retries}): {type(exc).__name__}: {exc}",
            model=self.model,
            base_url=base_url,
            status_code=status,
        )


def _merge_tool_delta(calls: dict[int, _PartialToolCall], delta: dict[str, Any]) -> None:
    """Fold one streamed tool-call delta into the call it belongs to (by index, else by id)."""
    index = delta.get("index")
    call_id = delta.get("id")
    if index is None:
        known = [i for i, part in calls.items() if call_id and part.id == call_id]
        if known:
            index = known[0]
        elif call_id or not calls:
            index = len(calls)
        else:
            index = max(calls)
    part = calls.setdefault(int(index), _PartialToolCall())
    if call_id and not part.id:
        part.id = call_id
    function = delta.get("function") or {}
    name = function.get("name")
    if name and not part.name:
        part.name = name
    arguments = function.get("arguments")
    if arguments:
        part.arguments.append(arguments)
