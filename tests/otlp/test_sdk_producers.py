"""Spans of every kind from the real OpenTelemetry SDK, sent by its OTLP/HTTP protobuf
exporter and by its OTLP JSON exporter, arrive as the records they stand for."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.exporter.otlp.json.http.trace_exporter import (
    OTLPSpanExporter as JSONSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as ProtobufSpanExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from myagent.trace import StepRecord, ThinkRecord, ToolRecord
from myagent.trace.pricing import estimate_cost
from tests.otlp.conftest import Collector

EXPORTERS: dict[str, Callable[[str], SpanExporter]] = {
    "protobuf": lambda url: ProtobufSpanExporter(endpoint=url),
    "json": lambda url: JSONSpanExporter(endpoint=url),
}


def produce(exporter: SpanExporter) -> str:
    """One agent run with spans of every convention; returns its trace id (hex)."""
    provider = TracerProvider(resource=Resource.create({"service.name": "shop"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))  # one request per span
    tracer = provider.get_tracer("shop.agents", "1.0")
    oi = "openinference.span.kind"
    with tracer.start_as_current_span(
        "invoke_agent shopper",
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "shopper",
            "gen_ai.conversation.id": "conv-7",
        },
    ) as root:
        with tracer.start_as_current_span(
            "chat gpt-4o-mini",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 100,
                "gen_ai.usage.output_tokens": 20,
                "gen_ai.response.finish_reasons": ["tool_calls"],
                "gen_ai.system_instructions": json.dumps(
                    [{"type": "text", "content": "Be brief."}]
                ),
                "gen_ai.input.messages": json.dumps(
                    [{"role": "user", "parts": [{"type": "text", "content": "Price of tea?"}]}]
                ),
                "gen_ai.output.messages": json.dumps(
                    [
                        {
                            "role": "assistant",
                            "parts": [
                                {
                                    "type": "tool_call",
                                    "id": "call_9",
                                    "name": "lookup",
                                    "arguments": {"item": "tea"},
                                }
                            ],
                            "finish_reason": "tool_call",
                        }
                    ]
                ),
            },
        ):
            pass
        with tracer.start_as_current_span(
            "execute_tool lookup",
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "lookup",
                "gen_ai.tool.call.id": "call_9",
                "gen_ai.tool.call.arguments": '{"item": "tea"}',
                "gen_ai.tool.call.result": '{"price": 3}',
            },
        ):
            pass
        with tracer.start_as_current_span(
            "ChatCompletion",
            kind=SpanKind.CLIENT,
            attributes={
                oi: "LLM",
                "llm.model_name": "gpt-4o",
                "llm.token_count.prompt": 40,
                "llm.token_count.completion": 10,
                "llm.token_count.total": 50,
                "llm.input_messages.0.message.role": "user",
                "llm.input_messages.0.message.content": "Summarise",
                "llm.output_messages.0.message.role": "assistant",
                "llm.output_messages.0.message.content": "Tea costs 3.",
            },
        ):
            pass
        with tracer.start_as_current_span(
            "search",
            attributes={
                oi: "TOOL",
                "tool.name": "search",
                "input.value": '{"q": "tea"}',
                "output.value": "3 results",
            },
        ):
            pass
        with tracer.start_as_current_span(
            "retrieve",
            attributes={
                oi: "RETRIEVER",
                "input.value": "tea",
                "retrieval.documents.0.document.content": "Green tea",
                "retrieval.documents.0.document.score": 0.9,
                "retrieval.documents.1.document.content": "Black tea",
            },
        ):
            pass
        for kind in ("CHAIN", "EMBEDDING", "RERANKER", "GUARDRAIL"):
            with tracer.start_as_current_span(kind.lower(), attributes={oi: kind}):
                pass
        with tracer.start_as_current_span(
            "GET /inventory",
            kind=SpanKind.SERVER,
            attributes={"http.request.method": "GET", "http.response.status_code": 503},
        ) as http:
            http.add_event("retrying", {"attempt": 2})
            http.set_status(Status(StatusCode.ERROR, "upstream unavailable"))
        trace_id = format(root.get_span_context().trace_id, "032x")
    provider.shutdown()
    return trace_id


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_spans_of_every_kind_arrive_exactly(collector: Collector, encoding: str) -> None:
    trace_id = produce(EXPORTERS[encoding](collector.endpoint))
    trace = collector.trace(trace_id)
    assert collector.receiver.stats["rejected_spans"] == 0
    assert collector.receiver.stats["requests"] == 11  # every span alone, children first
    assert (trace.name, trace.agent_name, trace.session_id) == ("shopper", "shopper", "conv-7")
    assert trace.status == "success" and trace.end_us is not None and trace.has_errors
    assert trace.metadata["service.name"] == "shop"
    assert trace.metadata["otel.scope.name"] == "shop.agents"
    runs: dict[str, Any] = {r.name: r for r in trace.runs}
    assert len(trace.runs) == 10 and all(r.parent_id is None for r in trace.runs)

    chat = runs["chat gpt-4o-mini"]
    assert isinstance(chat, ThinkRecord)
    assert (chat.model, chat.prompt_tokens, chat.completion_tokens, chat.tokens_used) == (
        "gpt-4o-mini", 100, 20, 120)  # fmt: skip
    assert chat.cost_usd == estimate_cost("gpt-4o-mini", 100, 20) and chat.cost_usd
    assert chat.system_prompts == ["Be brief."]
    assert chat.messages == [{"role": "user", "content": "Price of tea?"}]
    assert chat.tool_calls == [{"id": "call_9", "name": "lookup", "arguments": {"item": "tea"}}]
    assert chat.metadata["provider"] == "openai" and chat.metadata["finish_reason"] == "tool_calls"

    tool = runs["execute_tool lookup"]
    assert isinstance(tool, ToolRecord)
    assert (tool.tool_name, tool.tool_call_id) == ("lookup", "call_9")
    assert (tool.input_params, tool.output) == ({"item": "tea"}, {"price": 3})

    llm = runs["ChatCompletion"]
    assert isinstance(llm, ThinkRecord) and llm.model == "gpt-4o"
    assert (llm.prompt_tokens, llm.completion_tokens, llm.tokens_used) == (40, 10, 50)
    assert llm.messages == [{"role": "user", "content": "Summarise"}]
    assert llm.llm_response == "Tea costs 3."

    search = runs["search"]
    assert isinstance(search, ToolRecord) and search.tool_name == "search"
    assert (search.input_params, search.output) == ({"q": "tea"}, "3 results")

    retrieve = runs["retrieve"]
    assert isinstance(retrieve, StepRecord) and retrieve.inputs == "tea"
    assert retrieve.output == [
        {"document": {"content": "Green tea", "score": 0.9}},
        {"document": {"content": "Black tea"}},
    ]
    for kind in ("CHAIN", "EMBEDDING", "RERANKER", "GUARDRAIL"):
        step = runs[kind.lower()]
        assert isinstance(step, StepRecord)
        assert step.metadata["openinference.span.kind"] == kind

    http = runs["GET /inventory"]
    assert isinstance(http, StepRecord) and not http.success
    assert http.error == "upstream unavailable"
    assert http.metadata["otel.span_kind"] == "SERVER"
    assert http.metadata["otel.attributes"] == {
        "http.request.method": "GET",
        "http.response.status_code": 503,
    }
    assert http.metadata["otel.events"][0]["name"] == "retrying"
    assert http.metadata["otel.events"][0]["attempt"] == 2
