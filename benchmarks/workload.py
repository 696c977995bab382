"""The standard agent run, written three ways: untraced, traced with myagent, traced with OTel.

One standard run = 1 trace + 3 think records + 3 tool records with the spec's field
values. `Workload(records=k)` has k times the records per trace, `Workload(payload=k)`
payload strings k times as long (item 7).
Strings the agent holds anyway are shared constants; the containers an agent builds per
call (messages, tool_calls, input_params) are built fresh on every call, on every side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from myagent.trace import ThinkRecord, ToolRecord, TraceManager

INPUT = "What's the weather in NYC?"
SYSTEM_PROMPT = (
    "You are a weather assistant. Answer questions about current conditions and forecasts. "
    "Use the get_weather tool to look up live data for any city the user names, then reply "
    "in one or two sentences."
)
RESPONSE = (
    "I'll check the weather for you. Let me look up the current conditions in New York City "
    "so I can tell you the temperature and whether you need an umbrella today. One moment "
    "while I call the tool."
)
TOOL_OUTPUT = "Sunny, 72°F"
FINAL_OUTPUT = "It's sunny and 72°F in New York City."
MODEL = "gpt-4o-mini"
AGENT = "weather-agent"
STEPS = 3


@dataclass(frozen=True, slots=True)
class Workload:
    """A standard run with `records` times the records and `payload` times the text."""

    records: int = 1
    payload: int = 1

    @property
    def steps(self) -> int:
        """Think+tool pairs per trace."""
        return STEPS * self.records

    @property
    def records_per_trace(self) -> int:
        """Think and tool records per trace (the trace itself not counted)."""
        return 2 * self.steps

    @property
    def system_prompt(self) -> str:
        """The system prompt, `payload` times as long."""
        return _scaled(SYSTEM_PROMPT, self.payload)

    @property
    def response(self) -> str:
        """The LLM's response, `payload` times as long."""
        return _scaled(RESPONSE, self.payload)

    @property
    def tool_output(self) -> str:
        """The tool's output, `payload` times as long."""
        return _scaled(TOOL_OUTPUT, self.payload)


_SCALED: dict[tuple[str, int], str] = {}


def _scaled(text: str, scale: int) -> str:
    # Built once per scale so every run shares the same string, as an agent's constants do.
    key = (text, scale)
    if key not in _SCALED:
        _SCALED[key] = text if scale == 1 else " ".join([text] * scale)
    return _SCALED[key]


def fake_llm(messages: list[dict[str, Any]], response: str) -> str:
    """Stands in for the LLM call: returns the canned response."""
    return response


def get_weather(location: str, output: str) -> str:
    """Stands in for the tool call: returns the canned output."""
    return output


def _messages(system_prompt: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": system_prompt}, {"role": "user", "content": INPUT}]


def _tool_calls() -> list[dict[str, Any]]:
    return [{"id": "call_1", "name": "get_weather", "arguments": {"location": "NYC"}}]


def untraced_run(w: Workload) -> str:
    """The agent's own work for one run, with no tracing at all."""
    system_prompt, response, output = w.system_prompt, w.response, w.tool_output
    for _ in range(w.steps):
        messages = _messages(system_prompt)
        fake_llm(messages, response)
        _tool_calls()
        get_weather(**{"location": "NYC"}, output=output)
    return FINAL_OUTPUT


def traced_run(manager: TraceManager, w: Workload) -> str:
    """The same run traced with myagent, the way the agent does it."""
    system_prompt, response, output = w.system_prompt, w.response, w.tool_output
    with manager.trace(AGENT, agent_name=AGENT, input=INPUT) as trace:
        for _ in range(w.steps):
            messages = _messages(system_prompt)
            think = manager.start_run(
                ThinkRecord,
                "think",
                agent_name=AGENT,
                input=INPUT,
                system_prompts=[system_prompt],
                messages=messages,
                model=MODEL,
            )
            text = fake_llm(messages, response)
            manager.end_run(
                think,
                llm_response=text,
                tool_calls=_tool_calls(),
                prompt_tokens=120,
                completion_tokens=30,
                tokens_used=150,
            )
            params = {"location": "NYC"}
            tool = manager.start_run(
                ToolRecord,
                "get_weather",
                parent=think,
                tool_name="get_weather",
                input_params=params,
            )
            result = get_weather(**params, output=output)
            manager.end_run(tool, output=result)
        trace.output = FINAL_OUTPUT
    return FINAL_OUTPUT


def otel_run(tracer: Any, w: Workload) -> str:
    """The same spans (7 for a standard run) with the OpenTelemetry SDK, same attribute values.

    Attributes must be primitives or sequences of them, so messages go in as their contents
    and the tool call as its name and argument: no JSON work on OTel's side either.
    """
    from opentelemetry import trace as otel_trace

    system_prompt, response, output = w.system_prompt, w.response, w.tool_output
    with tracer.start_as_current_span(
        AGENT, attributes={"agent.name": AGENT, "input": INPUT}
    ) as root:
        for _ in range(w.steps):
            messages = _messages(system_prompt)
            think = tracer.start_span(
                "think",
                attributes={
                    "gen_ai.agent.name": AGENT,
                    "input": INPUT,
                    "gen_ai.system_instructions": (system_prompt,),
                    "gen_ai.input.messages": tuple(m["content"] for m in messages),
                    "gen_ai.request.model": MODEL,
                },
            )
            text = fake_llm(messages, response)
            calls = _tool_calls()
            think.set_attributes(
                {
                    "gen_ai.output.messages": (text,),
                    "gen_ai.tool.calls": tuple(c["name"] for c in calls),
                    "gen_ai.usage.input_tokens": 120,
                    "gen_ai.usage.output_tokens": 30,
                    "gen_ai.usage.total_tokens": 150,
                }
            )
            think.end()
            params = {"location": "NYC"}
            tool = tracer.start_span(
                "get_weather",
                context=otel_trace.set_span_in_context(think),
                attributes={"gen_ai.tool.name": "get_weather", "tool.input.location": "NYC"},
            )
            result = get_weather(**params, output=output)
            tool.set_attribute("tool.output", result)
            tool.end()
        root.set_attribute("output", FINAL_OUTPUT)
    return FINAL_OUTPUT


def otel_tracer(processor: str = "batch") -> tuple[Any, Any]:
    """(tracer, provider) of a private OTel SDK provider.

    `batch`: BatchSpanProcessor with a no-op exporter (the usual production set-up);
    `memory`: SimpleSpanProcessor into an InMemorySpanExporter (in-memory only).
    """
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SimpleSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    class NoopExporter(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    if processor == "batch":
        provider.add_span_processor(BatchSpanProcessor(NoopExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    return provider.get_tracer("bench"), provider
