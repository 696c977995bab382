"""OpenAICompatibleLLM against a real local OpenAI-compatible HTTP server."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import openai
import pytest
from tests.support.openai_server import OpenAITestServer

from myagent.llm import (
    LLM,
    LLMError,
    LLMUsage,
    OpenAICompatibleLLM,
    ToolCall,
    estimate_cost,
)

USER = [{"role": "user", "content": "What's the weather in Paris?"}]
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
CALC_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "calculator",
        "description": "Evaluate an arithmetic expression",
        "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}},
    },
}


def make_llm(server: OpenAITestServer, **kwargs: Any) -> OpenAICompatibleLLM:
    """A client pointed at the test server with a test key."""
    options: dict[str, Any] = {"model": "gpt-4o-mini", "base_url": server.base_url}
    options.update(kwargs)
    options.setdefault("api_key", "sk-test")
    return OpenAICompatibleLLM(**options)


async def test_plain_text_response(openai_server: OpenAITestServer) -> None:
    openai_server.enqueue("It is sunny in Paris.", usage=(12, 3))
    llm = make_llm(openai_server)

    response = await llm.chat(USER)

    assert response.content == "It is sunny in Paris."
    assert response.tool_calls == []
    assert response.finish_reason == "stop"
    assert response.model == "gpt-4o-mini"
    assert response.usage == LLMUsage(prompt_tokens=12, completion_tokens=3, total_tokens=15)
    assert response.cost_usd == pytest.approx(estimate_cost("gpt-4o-mini", 12, 3))
    assert response.cost_usd is not None and response.cost_usd > 0
    assert response.raw is not None and response.raw["id"] == "chatcmpl-test"
    [body] = openai_server.requests
    assert body["model"] == "gpt-4o-mini"
    assert body["messages"] == USER
    assert "stream" not in body and "tools" not in body and "tool_choice" not in body
    assert openai_server.request_headers[0]["authorization"] == "Bearer sk-test"


@pytest.mark.parametrize("async_callback", [True, False], ids=["async-callback", "sync-callback"])
async def test_streamed_response_feeds_on_token_and_reads_final_usage(
    openai_server: OpenAITestServer, async_callback: bool
) -> None:
    text = "The quick brown fox jumps over the lazy dog."
    openai_server.enqueue(text, usage=(20, 11), chunk_size=3)
    chunks: list[str] = []

    async def on_token_async(chunk: str) -> None:
        chunks.append(chunk)

    def on_token_sync(chunk: str) -> None:
        chunks.append(chunk)

    llm = make_llm(openai_server)
    response = await llm.chat(USER, on_token=on_token_async if async_callback else on_token_sync)

    assert len(chunks) == len(range(0, len(text), 3))
    assert "".join(chunks) == response.content == text
    assert response.usage == LLMUsage(20, 11, 31)
    assert response.cost_usd == pytest.approx(estimate_cost("gpt-4o-mini", 20, 11))
    assert response.finish_reason == "stop"
    [body] = openai_server.requests
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


async def test_streamed_and_plain_responses_are_the_same(
    openai_server: OpenAITestServer,
) -> None:
    for _ in range(2):
        openai_server.enqueue("Same answer either way.", usage=(7, 4))
    llm = make_llm(openai_server)

    plain = await llm.chat(USER)
    streamed = await llm.chat(USER, on_token=lambda _chunk: None)

    for field in ("content", "tool_calls", "model", "usage", "cost_usd", "finish_reason"):
        assert getattr(plain, field) == getattr(streamed, field), field


async def test_parallel_tool_calls_in_a_plain_response(openai_server: OpenAITestServer) -> None:
    openai_server.enqueue(
        tool_calls=[("get_weather", {"city": "Paris"}), ("calculator", {"expression": "2+2"})]
    )
    llm = make_llm(openai_server)

    response = await llm.chat(USER, tools=[WEATHER_TOOL, CALC_TOOL], tool_choice="auto")

    assert response.content is None
    assert response.finish_reason == "tool_calls"
    assert response.tool_calls == [
        ToolCall(id="call_1", name="get_weather", arguments='{"city": "Paris"}'),
        ToolCall(id="call_2", name="calculator", arguments='{"expression": "2+2"}'),
    ]
    [body] = openai_server.requests
    assert body["tools"] == [WEATHER_TOOL, CALC_TOOL]
    assert body["tool_choice"] == "auto"


@pytest.mark.parametrize("interleave", [False, True], ids=["sequential", "interleaved"])
async def test_parallel_tool_calls_assembled_from_streamed_deltas(
    openai_server: OpenAITestServer, interleave: bool
) -> None:
    openai_server.enqueue(
        tool_calls=[
            ("call_a", "get_weather", {"city": "San Francisco"}),
            ("call_b", "calculator", {"expression": "12 * (3 + 4)"}),
        ],
        chunk_size=3,
        interleave_tool_calls=interleave,
    )
    tokens: list[str] = []
    llm = make_llm(openai_server)

    response = await llm.chat(USER, tools=[WEATHER_TOOL, CALC_TOOL], on_token=tokens.append)

    assert tokens == []
    assert response.content is None
    assert response.finish_reason == "tool_calls"
    assert response.tool_calls == [
        ToolCall("call_a", "get_weather", '{"city": "San Francisco"}'),
        ToolCall("call_b", "calculator", '{"expression": "12 * (3 + 4)"}'),
    ]
    assert response.usage == LLMUsage(10, 5, 15)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_malformed_arguments_are_passed_through_untouched(
    openai_server: OpenAITestServer, stream: bool
) -> None:
    broken = '{"city": "Par'
    openai_server.enqueue(tool_calls=[("get_weather", broken), ("get_weather", "not json at all")])
    llm = make_llm(openai_server)

    response = await llm.chat(
        USER, tools=[WEATHER_TOOL], on_token=(lambda _c: None) if stream else None
    )

    assert [call.arguments for call in response.tool_calls] == [broken, "not json at all"]


async def test_tool_round_trip_messages_go_over_the_wire_unchanged(
    openai_server: OpenAITestServer,
) -> None:
    openai_server.enqueue(tool_calls=[("get_weather", {"city": "Paris"})])
    openai_server.enqueue("Sunny, 22 degrees in Paris.")
    llm = make_llm(openai_server)

    first = await llm.chat(USER, tools=[WEATHER_TOOL])
    call = first.tool_calls[0]
    history = [
        *USER,
        first.to_message(),
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 22°C"},
    ]
    second = await llm.chat(history, tools=[WEATHER_TOOL])

    assert second.content == "Sunny, 22 degrees in Paris."
    sent = openai_server.requests[1]["messages"]
    assert sent == history
    assert sent[1]["tool_calls"][0]["function"] == {
        "name": "get_weather",
        "arguments": '{"city": "Paris"}',
    }


async def test_server_error_then_success_is_retried_by_the_sdk(
    openai_server: OpenAITestServer,
) -> None:
    openai_server.enqueue(status=500)
    openai_server.enqueue("Recovered.")
    llm = make_llm(openai_server, retries=2)

    response = await llm.chat(USER)

    assert response.content == "Recovered."
    assert len(openai_server.requests) == 2
    assert openai_server.requests[0] == openai_server.requests[1]


async def test_rate_limit_that_exhausts_retries_raises_llm_error(
    openai_server: OpenAITestServer,
) -> None:
    openai_server.enqueue(status=429, times=3, error_message="slow down")
    llm = make_llm(openai_server, retries=2)

    started = time.perf_counter()
    with pytest.raises(LLMError) as caught:
        await llm.chat(USER)

    assert time.perf_counter() - started < 5, "retry-after-ms from the server should be honoured"
    error = caught.value
    assert len(openai_server.requests) == 3
    assert error.status_code == 429
    assert error.model == "gpt-4o-mini"
    assert error.base_url == openai_server.base_url
    assert isinstance(error.__cause__, openai.RateLimitError)
    message = str(error)
    assert "429" in message and "gpt-4o-mini" in message and openai_server.base_url in message


async def test_client_error_is_not_retried(openai_server: OpenAITestServer) -> None:
    openai_server.enqueue(status=400, error_message="bad request")
    llm = make_llm(openai_server, retries=2)

    with pytest.raises(LLMError) as caught:
        await llm.chat(USER)

    assert caught.value.status_code == 400
    assert isinstance(caught.value.__cause__, openai.BadRequestError)
    assert len(openai_server.requests) == 1


async def test_unreachable_server_raises_llm_error_without_status() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    llm = OpenAICompatibleLLM(base_url=f"http://127.0.0.1:{port}/v1", retries=0, timeout=5)

    with pytest.raises(LLMError) as caught:
        await llm.chat(USER)

    assert caught.value.status_code is None
    assert "status=n/a" in str(caught.value)
    assert isinstance(caught.value.__cause__, openai.APIConnectionError)


async def test_timeout_raises_llm_error(openai_server: OpenAITestServer) -> None:
    openai_server.enqueue("too late", delay=1.0)
    llm = make_llm(openai_server, timeout=0.1, retries=0)

    with pytest.raises(LLMError) as caught:
        await llm.chat(USER)

    assert isinstance(caught.value.__cause__, openai.APITimeoutError)


async def test_stream_cut_before_the_end_raises_llm_error(
    openai_server: OpenAITestServer,
) -> None:
    openai_server.enqueue("This answer never finishes.", chunk_size=4, disconnect_after_chunks=3)
    tokens: list[str] = []

    with pytest.raises(LLMError) as caught:
        await make_llm(openai_server).chat(USER, on_token=tokens.append)

    assert caught.value.__cause__ is not None
    assert tokens, "chunks before the cut were still delivered"
    assert len(openai_server.requests) == 1, "a stream that already started is not replayed"


async def test_exception_from_on_token_propagates_unwrapped(
    openai_server: OpenAITestServer,
) -> None:
    openai_server.enqueue("Some streamed text.")

    def on_token(_chunk: str) -> None:
        raise KeyError("from the callback")

    with pytest.raises(KeyError, match="from the callback"):
        await make_llm(openai_server).chat(USER, on_token=on_token)


async def test_missing_usage_gives_no_usage_and_no_cost(openai_server: OpenAITestServer) -> None:
    openai_server.enqueue("No usage here.", usage=None)
    openai_server.enqueue("No usage here either.", usage=None)
    llm = make_llm(openai_server)

    for response in (await llm.chat(USER), await llm.chat(USER, on_token=lambda _c: None)):
        assert response.usage is None
        assert response.cost_usd is None


async def test_unknown_model_has_usage_but_no_cost(openai_server: OpenAITestServer) -> None:
    openai_server.enqueue("Local model answer.", usage=(30, 10))
    llm = make_llm(openai_server, model="my-local-llama-q4")

    response = await llm.chat(USER)

    assert response.model == "my-local-llama-q4"
    assert response.usage == LLMUsage(30, 10, 40)
    assert response.cost_usd is None


async def test_generation_options_are_sent_only_when_set(
    openai_server: OpenAITestServer,
) -> None:
    openai_server.enqueue("a")
    openai_server.enqueue("b")

    await make_llm(openai_server).chat(USER)
    await make_llm(openai_server, temperature=0.2, max_tokens=64).chat(USER)

    plain, tuned = openai_server.requests
    assert "temperature" not in plain and "max_tokens" not in plain
    assert tuned["temperature"] == 0.2 and tuned["max_tokens"] == 64


async def test_tool_choice_is_not_sent_without_tools(openai_server: OpenAITestServer) -> None:
    openai_server.enqueue("ok")

    await make_llm(openai_server).chat(USER, tools=[], tool_choice="auto")

    assert "tools" not in openai_server.requests[0]
    assert "tool_choice" not in openai_server.requests[0]


async def test_configuration_from_environment(
    openai_server: OpenAITestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("LLM_MODEL", "env-model")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    openai_server.enqueue("from env")

    llm = OpenAICompatibleLLM()
    response = await llm.chat(USER)

    assert llm.model == "env-model" and llm.base_url == openai_server.base_url
    assert response.content == "from env"
    assert openai_server.requests[0]["model"] == "env-model"
    assert openai_server.request_headers[0]["authorization"] == "Bearer sk-from-env"


async def test_openai_api_base_alias_and_placeholder_key_for_local_servers(
    openai_server: OpenAITestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_BASE", openai_server.base_url)
    openai_server.enqueue("local")

    llm = OpenAICompatibleLLM()
    response = await llm.chat(USER)

    assert llm.model == "gpt-4o-mini"
    assert response.content == "local"
    assert openai_server.requests[0]["model"] == "gpt-4o-mini"
    authorization = openai_server.request_headers[0]["authorization"]
    assert authorization.startswith("Bearer ") and len(authorization) > len("Bearer ")


def test_explicit_arguments_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    monkeypatch.setenv("OPENAI_API_BASE", "http://127.0.0.1:2/v1")
    monkeypatch.setenv("LLM_MODEL", "env-model")

    assert OpenAICompatibleLLM().base_url == "http://127.0.0.1:1/v1"
    llm = OpenAICompatibleLLM(model="arg-model", base_url="http://127.0.0.1:3/v1", api_key="k")
    assert (llm.model, llm.base_url, llm.api_key) == ("arg-model", "http://127.0.0.1:3/v1", "k")


async def test_no_key_and_no_base_url_fails_clearly_on_first_call() -> None:
    llm = OpenAICompatibleLLM()  # constructing must not fail: agents are built before use

    with pytest.raises(LLMError, match="OPENAI_API_KEY"):
        await llm.chat(USER)


def test_one_client_serves_several_event_loops(openai_server: OpenAITestServer) -> None:
    openai_server.enqueue("first")
    openai_server.enqueue("second")
    llm = make_llm(openai_server)

    first = asyncio.run(llm.chat(USER))
    second = asyncio.run(llm.chat(USER))

    assert (first.content, second.content) == ("first", "second")


async def test_concurrent_calls_share_the_client(openai_server: OpenAITestServer) -> None:
    openai_server.enqueue("same", times=5)
    llm = make_llm(openai_server)

    responses = await asyncio.gather(*(llm.chat(USER) for _ in range(5)))

    assert [r.content for r in responses] == ["same"] * 5
    await llm.aclose()


def test_satisfies_the_llm_protocol() -> None:
    assert isinstance(OpenAICompatibleLLM(api_key="sk-test"), LLM)
