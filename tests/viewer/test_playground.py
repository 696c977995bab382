"""The playground API: a recorded LLM call edited, sent to a real loopback OpenAI-wire
server from the viewer, streamed back, and saved as a trace linked to its source."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from myagent import create_toolcall_agent
from myagent.llm import ScriptedLLM
from myagent.tool import BaseTool, ToolResult
from myagent.trace import SQLiteTraceStorage, TraceManager, set_trace_manager
from tests.support.openai_server import OpenAITestServer
from tests.support.viewer import ViewerTestServer

WRITE = {"X-Myagent-Request": "1", "content-type": "application/json"}


class Weather(BaseTool):
    name = "get_weather"
    description = "Get the current weather for a city"

    async def execute(self, city: str) -> ToolResult:
        """Look it up.

        Args:
            city: the city
        """
        return ToolResult(output=f"Sunny in {city}")


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[tuple[Path, str, str]]:
    """A SQLite file holding one weather agent run: (file, trace id, first think's id)."""
    import asyncio

    db = tmp_path / "traces.db"
    manager = TraceManager(SQLiteTraceStorage(db))
    set_trace_manager(manager)
    agent = create_toolcall_agent(
        name="weather-agent",
        tools=[Weather()],
        llm=ScriptedLLM([[("get_weather", {"city": "Oslo"})], "Sunny in Oslo."]),
        system_prompt="You are a weather assistant.",
    )
    asyncio.run(agent.run("Weather in Oslo?"))
    manager.flush()
    trace = manager.get_trace(agent.last_trace_id or "")
    assert trace is not None
    yield db, trace.trace_id, trace.think_records[0].run_id
    manager.close()


def _events(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_source_gives_the_prompt_in_editable_form(
    recorded: tuple[Path, str, str], viewer_factory: Any
) -> None:
    db, trace_id, run_id = recorded
    viewer: ViewerTestServer = viewer_factory(SQLiteTraceStorage(db))

    got = httpx.get(f"{viewer.url}/api/playground/source/{trace_id}/{run_id}").json()

    assert got["system_prompt"] == "You are a weather assistant."
    assert got["messages"] == [{"role": "user", "content": "Weather in Oslo?"}]
    assert got["model"] == "scripted-offline"
    assert [t["function"]["name"] for t in got["tools"]] == ["get_weather", "terminate"]
    assert got["recorded"]["tool_calls"][0]["name"] == "get_weather"


def test_a_run_streams_the_answer_and_is_saved_as_a_linked_trace(
    recorded: tuple[Path, str, str], viewer_factory: Any, openai_server: OpenAITestServer
) -> None:
    db, trace_id, run_id = recorded
    viewer: ViewerTestServer = viewer_factory(
        SQLiteTraceStorage(db), llm_base_url=openai_server.base_url, llm_api_key="sk-server-only"
    )
    openai_server.enqueue("It is sunny in Oslo today.", chunk_size=5)
    body = {
        "trace_id": trace_id,
        "run_id": run_id,
        "model": "loopback-model",
        "system_prompt": "Answer in one sentence.",
        "messages": [{"role": "user", "content": "Weather in Oslo?"}],
        "temperature": 0.2,
    }

    response = httpx.post(f"{viewer.url}/api/playground/run", json=body, headers=WRITE)

    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response.text)
    deltas = [data["text"] for kind, data in events if kind == "delta"]
    assert len(deltas) > 1 and "".join(deltas) == "It is sunny in Oslo today."
    kind, done = events[-1]
    assert kind == "done" and done["content"] == "It is sunny in Oslo today."
    sent = openai_server.requests[-1]
    assert sent["messages"][0] == {"role": "system", "content": "Answer in one sentence."}
    assert sent["temperature"] == 0.2 and sent["stream"] is True
    assert openai_server.request_headers[-1]["authorization"] == "Bearer sk-server-only"
    saved = SQLiteTraceStorage(db).get_trace_sync(done["trace_id"])
    assert saved is not None and saved.tags == ["playground"]
    assert saved.metadata["playground_of"] == {"trace_id": trace_id, "run_id": run_id}
    (think,) = saved.think_records
    assert think.llm_response == "It is sunny in Oslo today." and think.tokens_used == 15
    assert think.metadata["temperature"] == 0.2


def test_config_lists_endpoint_and_price_table_models_without_the_key(
    viewer_factory: Any, openai_server: OpenAITestServer, tmp_path: Path
) -> None:
    viewer: ViewerTestServer = viewer_factory(
        SQLiteTraceStorage(tmp_path / "t.db"),
        llm_base_url=openai_server.base_url,
        llm_api_key="sk-server-only",
    )

    response = httpx.get(f"{viewer.url}/api/playground/config")

    got = response.json()
    assert got["configured"] is True and got["message"] is None
    assert got["models"][0] == {"id": "loopback-model", "source": "endpoint"}
    assert {"id": "gpt-4o-mini", "source": "prices"} in got["models"]
    assert "sk-server-only" not in response.text


def test_without_an_endpoint_the_playground_says_so(
    recorded: tuple[Path, str, str], viewer_factory: Any
) -> None:
    db = recorded[0]
    viewer: ViewerTestServer = viewer_factory(
        SQLiteTraceStorage(db), llm_base_url=None, llm_api_key=None
    )
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}

    config = httpx.get(f"{viewer.url}/api/playground/config").json()
    refused = httpx.post(f"{viewer.url}/api/playground/run", json=body, headers=WRITE)

    assert config["configured"] is False
    assert "No model endpoint is configured" in config["message"]
    assert refused.status_code == 409 and "OPENAI_BASE_URL" in refused.json()["detail"]


def test_runs_need_the_write_header_json_and_same_origin(
    viewer_factory: Any, openai_server: OpenAITestServer, tmp_path: Path
) -> None:
    viewer: ViewerTestServer = viewer_factory(
        SQLiteTraceStorage(tmp_path / "t.db"), llm_base_url=openai_server.base_url
    )
    url = f"{viewer.url}/api/playground/run"
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}

    no_header = httpx.post(url, json=body)
    cross_site = httpx.post(url, json=body, headers={**WRITE, "Sec-Fetch-Site": "cross-site"})
    form = httpx.post(
        url, content="model=m", headers={"X-Myagent-Request": "1", "content-type": "text/plain"}
    )

    assert no_header.status_code == 403 and "X-Myagent-Request" in no_header.json()["detail"]
    assert cross_site.status_code == 403
    assert form.status_code == 415
    assert openai_server.requests == []


def test_an_endpoint_error_is_streamed_and_saved_as_a_failed_run(
    viewer_factory: Any, openai_server: OpenAITestServer, tmp_path: Path
) -> None:
    db = tmp_path / "t.db"
    viewer: ViewerTestServer = viewer_factory(
        SQLiteTraceStorage(db), llm_base_url=openai_server.base_url
    )
    openai_server.enqueue(status=400, error_message="model not found")
    body = {"model": "nope", "messages": [{"role": "user", "content": "hi"}]}

    events = _events(httpx.post(f"{viewer.url}/api/playground/run", json=body, headers=WRITE).text)

    assert events[0][0] == "error" and "model not found" in events[0][1]["message"]
    done = events[-1][1]
    saved = SQLiteTraceStorage(db).get_trace_sync(done["trace_id"])
    assert saved is not None and saved.status == "error"
    assert not saved.think_records[0].success


def test_the_recorded_temperature_is_prefilled(
    tmp_path: Path, viewer_factory: Any, openai_server: OpenAITestServer
) -> None:
    import asyncio

    from myagent.llm import OpenAICompatibleLLM

    db = tmp_path / "traces.db"
    manager = TraceManager(SQLiteTraceStorage(db))
    set_trace_manager(manager)
    llm = OpenAICompatibleLLM(model="m", base_url=openai_server.base_url, temperature=0.3)
    agent = create_toolcall_agent(name="a", llm=llm, add_terminate=False)
    openai_server.enqueue("Hello.")
    asyncio.run(agent.run("Hi"))
    manager.flush()
    trace = manager.get_trace(agent.last_trace_id or "")
    manager.close()
    assert trace is not None
    viewer: ViewerTestServer = viewer_factory(SQLiteTraceStorage(db))

    url = f"{viewer.url}/api/playground/source/{trace.trace_id}/{trace.think_records[0].run_id}"
    got = httpx.get(url).json()

    assert got["temperature"] == 0.3 and got["tools"] is None
    assert got["recorded"]["content"] == "Hello."
