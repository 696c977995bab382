"""A trace ingested over OTLP from another framework's agent (the openai-v2
instrumentation, message content not captured, its default) is refused with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from myagent.replay import NotReplayable, replay
from myagent.trace import SQLiteTraceStorage
from tests.support.openai_server import OpenAITestServer
from tests.support.viewer import ViewerTestServer


@pytest.fixture
def viewer(tmp_path: Path) -> Iterator[ViewerTestServer]:
    server = ViewerTestServer(SQLiteTraceStorage(tmp_path / "otlp.db")).start()
    yield server
    server.stop()


async def test_an_otlp_ingested_trace_without_prompts_is_refused_with_the_reason(
    viewer: ViewerTestServer,
    openai_server: OpenAITestServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    exporter = OTLPSpanExporter(endpoint=viewer.url + "/v1/traces")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        openai_server.enqueue("It is 4 degrees in Oslo.")
        client = openai.OpenAI(base_url=openai_server.base_url, api_key="test-key")
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Weather in Oslo?"}]
        )
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    assert viewer.app.state.otlp.manager.flush(10)
    (trace,) = SQLiteTraceStorage(tmp_path / "otlp.db").query_traces_sync(None)
    assert trace.think_records and trace.metadata["service.name"] == "support-bot"

    with pytest.raises(NotReplayable) as refused:
        await replay(trace, lambda: None)

    reason = str(refused.value)
    assert "written by an agent traced elsewhere (support-bot) and ingested over OTLP" in reason
    assert "a replay needs the full prompt and answer of every call" in reason
