"""opentelemetry-instrumentation-openai-v2 around the official openai client, talking to
the loopback OpenAI-wire server, exports to our receiver: a chat that calls a tool shows
up as think records and a tool record with the right tokens."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation._semconv import _OpenTelemetrySemanticConventionStability
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.util.genai.handler import TelemetryHandler

from myagent.trace import ThinkRecord, ToolRecord
from tests.otlp.conftest import Collector
from tests.support.openai_server import OpenAITestServer

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


@pytest.fixture
def provider(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> Iterator[TracerProvider]:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    # the opt-in is read once per process: read it again now that it is set
    monkeypatch.setattr(_OpenTelemetrySemanticConventionStability, "_initialized", False)
    provider = TracerProvider(resource=Resource.create({"service.name": "weather-app"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=collector.endpoint)))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield provider
    finally:
        instrumentor.uninstrument()
        provider.shutdown()


def test_openai_v2_chat_with_a_tool_call_is_think_and_tool_records(
    collector: Collector, openai_server: OpenAITestServer, provider: TracerProvider
) -> None:
    openai_server.enqueue(tool_calls=[("call_w", "get_weather", {"city": "Oslo"})], usage=(31, 7))
    openai_server.enqueue("It is 4 degrees in Oslo.", usage=(52, 9))
    client = openai.OpenAI(base_url=openai_server.base_url, api_key="test-key")
    genai = TelemetryHandler(tracer_provider=provider)
    messages: list[dict[str, object]] = [{"role": "user", "content": "Weather in Oslo?"}]
    with genai.invoke_local_agent("openai", request_model="gpt-4o-mini") as agent:
        agent.agent_name = "weather-agent"
        first = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=messages,
            tools=TOOLS,  # type: ignore[arg-type]
        )
        call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
        arguments = json.loads(call.function.arguments)  # type: ignore[union-attr]
        with genai.tool("get_weather", arguments=arguments, tool_call_id=call.id) as tool:
            tool.tool_result = "4 degrees"
            # this util-genai release leaves the opt-in content out: set it as the
            # conventions name it
            tool.attributes["gen_ai.tool.call.arguments"] = json.dumps(arguments)
            tool.attributes["gen_ai.tool.call.result"] = tool.tool_result
        messages += [
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "4 degrees"},
        ]
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)  # type: ignore[arg-type]

    [trace] = collector.traces()
    assert trace.agent_name == "weather-agent" and trace.status == "success"
    assert trace.metadata["service.name"] == "weather-app"
    think = [r for r in trace.runs if isinstance(r, ThinkRecord)]
    tools = [r for r in trace.runs if isinstance(r, ToolRecord)]
    assert [(t.model, t.prompt_tokens, t.completion_tokens, t.tokens_used) for t in think] == [
        ("gpt-4o-mini", 31, 7, 38),
        ("gpt-4o-mini", 52, 9, 61),
    ]
    assert all(t.cost_usd for t in think)
    assert think[0].tool_calls[0]["name"] == "get_weather"
    assert think[0].tool_calls[0]["id"] == "call_w"
    assert think[0].messages == [{"role": "user", "content": "Weather in Oslo?"}]
    assert think[1].llm_response == "It is 4 degrees in Oslo."
    [tool_record] = tools
    assert (tool_record.tool_name, tool_record.tool_call_id) == ("get_weather", "call_w")
    assert tool_record.input_params == {"city": "Oslo"}
    assert tool_record.output == "4 degrees"
    assert [r.run_type for r in trace.runs] == ["think", "tool", "think"]
