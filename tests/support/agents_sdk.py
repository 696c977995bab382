"""One OpenAI Agents SDK run (one function tool) against the loopback OpenAI-wire server,
traced by openinference-instrumentation-openai-agents and exported over OTLP/HTTP."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from agents import Agent, OpenAIChatCompletionsModel, Runner, function_tool
from openai import AsyncOpenAI
from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.support.openai_server import OpenAITestServer

AGENT_NAME = "Weather agent"
QUESTION = "What is the weather in Oslo?"
ANSWER = "It is 4 degrees and windy in Oslo."


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"4 degrees and windy in {city}"


def run_weather_agent(server: OpenAITestServer, endpoint: str) -> None:
    """Run the agent (a tool call, then the answer) with its spans sent to `endpoint`."""
    server.enqueue(tool_calls=[("call_oslo", "get_weather", {"city": "Oslo"})], usage=(61, 14))
    server.enqueue(ANSWER, usage=(92, 11))
    provider = TracerProvider(resource=Resource.create({"service.name": "agents-app"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    instrumentor = OpenAIAgentsInstrumentor()
    instrumentor.instrument(tracer_provider=provider)  # replaces the SDK's OpenAI exporter
    try:
        client = AsyncOpenAI(base_url=server.base_url, api_key="test-key")
        agent = Agent(
            name=AGENT_NAME,
            instructions="Answer weather questions with the tool.",
            tools=[get_weather],
            model=OpenAIChatCompletionsModel(model="gpt-4o-mini", openai_client=client),
        )
        # its own thread: the caller's may run an event loop (Playwright's sync API does)
        with ThreadPoolExecutor(1) as pool:
            result = pool.submit(asyncio.run, Runner.run(agent, QUESTION)).result(60)
        assert result.final_output == ANSWER
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
