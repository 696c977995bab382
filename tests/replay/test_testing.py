"""myagent.testing: assert_replays as a regression test; the pytest plugin records
cassettes that replay offline."""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import httpx
import pytest

from examples import demo
from myagent import create_toolcall_agent
from myagent.replay import NotReplayable, read_traces, write_traces
from myagent.testing import assert_replays, replay_trace
from myagent.trace import Trace, TraceManager

SRC = Path(__file__).resolve().parents[2] / "src"
REPO = SRC.parent


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)


async def weather_trace_file(manager: TraceManager, tmp_path: Path) -> Path:
    agent = demo.create_agent("weather-agent")
    await agent.run("What's the weather in Paris?")
    manager.flush()
    trace = await manager.aget_trace(agent.last_trace_id or "")
    assert trace is not None
    return write_traces(tmp_path / "failure.json", [trace])


def terse_agent() -> object:
    return create_toolcall_agent(
        name="weather-agent", tools=[demo.WeatherTool()], system_prompt="Be terse."
    )


async def test_assert_replays_passes_on_a_matching_file(
    manager: TraceManager, tmp_path: Path
) -> None:
    path = await weather_trace_file(manager, tmp_path)

    (result,) = assert_replays(path, demo.create_agent)

    assert result.ok and result.answer == "Here is what I found. get_weather: Cloudy, 15°C"


async def test_assert_replays_fails_with_the_diff(manager: TraceManager, tmp_path: Path) -> None:
    path = await weather_trace_file(manager, tmp_path)

    with pytest.raises(AssertionError) as failed:
        assert_replays(path, terse_agent)

    message = str(failed.value)
    assert message.startswith("1 of 1 recorded run(s) did not replay:")
    assert (
        "divergence at step 1 (messages): message 0 (system) sent to the model differs" in message
    )
    assert '+    "content": "Be terse."' in message


def test_replay_trace_works_from_sync_code(manager: TraceManager, tmp_path: Path) -> None:
    import asyncio

    path = asyncio.run(weather_trace_file(manager, tmp_path))
    exported = json.loads(path.read_text())
    assert exported["format"] == "myagent-traces"

    result = replay_trace(exported["traces"][0], demo.create_agent)

    assert result.ok, result.report()


async def test_assert_replays_refuses_manual_traces(manager: TraceManager, tmp_path: Path) -> None:
    trace_id = manager.start_trace(agent_name="workflow", input_data="x")
    manager.add_step(trace_id=trace_id, step_name="data_processing", result="ok")
    manager.end_trace(trace_id)
    manager.flush()
    trace = await manager.aget_trace(trace_id)
    assert isinstance(trace, Trace)

    with pytest.raises(NotReplayable, match="recorded no LLM calls"):
        assert_replays([trace], demo.create_agent)


def _plugin_args() -> list[str]:
    """Load the plugin explicitly unless its entry point is installed already."""
    installed = {ep.value for ep in entry_points(group="pytest11")}
    return (
        []
        if "myagent.testing.pytest_plugin" in installed
        else ["-p", "myagent.testing.pytest_plugin"]
    )


AGENT_MODULE = """
from myagent import create_toolcall_agent
from myagent.llm import OpenAICompatibleLLM
from myagent.tool import BaseTool, ToolResult


class Weather(BaseTool):
    name = "get_weather"
    description = "Get the current weather for a city"

    async def execute(self, city: str) -> ToolResult:
        return ToolResult(output=f"Sunny in {city}")


def create_agent(base_url):
    llm = OpenAICompatibleLLM(model="m", base_url=base_url, api_key="k", retries=0, timeout=2)
    return create_toolcall_agent(name="weather", tools=[Weather()], llm=llm)
"""

RECORD_TEST = """
import pytest
from myagent.trace import InMemoryTraceStorage, TraceManager, set_trace_manager
from weather_agent import create_agent


@pytest.fixture(autouse=True)
def manager():
    m = TraceManager(InMemoryTraceStorage())
    set_trace_manager(m)
    yield m
    m.close()


def test_weather():
    import asyncio
    answer = asyncio.run(create_agent("BASE_URL").run("Weather in Oslo?"))
    assert answer == "Sunny, they say."
"""

REPLAY_TEST = """
from pathlib import Path
from myagent.testing import assert_replays
from weather_agent import create_agent


def test_weather_replays_offline():
    (cassette,) = Path("CASSETTES").glob("*.json")
    (result,) = assert_replays(cassette, lambda: create_agent("http://127.0.0.1:9/v1"))
    assert result.answer == "Sunny, they say."
"""


def test_the_record_plugin_writes_cassettes_that_replay_offline(
    pytester: pytest.Pytester, openai_server: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.openai_server import OpenAITestServer

    assert isinstance(openai_server, OpenAITestServer)
    monkeypatch.setenv("PYTHONPATH", f"{SRC}:{pytester.path}")
    cassettes = pytester.path / "cassettes"
    openai_server.enqueue(tool_calls=[("get_weather", {"city": "Oslo"})])
    openai_server.enqueue("Sunny, they say.")
    pytester.makepyfile(weather_agent=AGENT_MODULE)
    pytester.makepyfile(test_record=RECORD_TEST.replace("BASE_URL", openai_server.base_url))

    recorded = pytester.runpytest_subprocess(
        *_plugin_args(),
        "-p",
        "no:cacheprovider",
        "--myagent-record",
        str(cassettes),
        "test_record.py",
    )

    recorded.assert_outcomes(passed=1)
    (cassette,) = cassettes.glob("*.json")
    assert cassette.name == "test_record.py_test_weather.json"
    (trace,) = read_traces(cassette)
    assert [r.run_type for r in trace.runs] == ["think", "tool", "think"]
    served = len(openai_server.requests)
    openai_server.stop()  # nothing answers any more

    pytester.makepyfile(test_replay=REPLAY_TEST.replace("CASSETTES", str(cassettes)))
    replayed = pytester.runpytest_subprocess(
        *_plugin_args(), "-p", "no:cacheprovider", "test_replay.py"
    )

    replayed.assert_outcomes(passed=1)
    assert len(openai_server.requests) == served == 2


def test_a_file_exported_by_the_viewer_replays(
    sqlite_manager: TraceManager, tmp_path: Path, viewer_factory: Any
) -> None:
    import asyncio

    from myagent.trace import SQLiteTraceStorage

    agent = demo.create_agent("calculator-agent")
    asyncio.run(agent.run("Calculate 7 * 6"))
    sqlite_manager.flush()
    viewer = viewer_factory(SQLiteTraceStorage(tmp_path / "traces.db"))
    export = httpx.get(
        f"{viewer.url}/api/export", params={"format": "json", "trace_id": agent.last_trace_id}
    )
    path = tmp_path / "export.json"
    path.write_bytes(export.content)

    (result,) = assert_replays(path, demo.create_agent)

    assert result.original.trace_id == agent.last_trace_id
    assert result.answer == "Here is what I found. calculator: 42"


CASSETTE_TEST = """
import os

import pytest

from myagent.trace import InMemoryTraceStorage, TraceManager, set_trace_manager
from weather_agent import create_agent


@pytest.fixture(autouse=True)
def manager():
    m = TraceManager(InMemoryTraceStorage())
    set_trace_manager(m)
    yield m
    m.close()


def test_weather(myagent_cassette):
    url = os.environ.get("WEATHER_URL", "http://127.0.0.1:9/v1")
    answer = myagent_cassette.run(lambda: create_agent(url), "Weather in Oslo?")
    assert answer == "Sunny, they say."
"""


def test_the_cassette_fixture_runs_live_when_recording_and_replays_otherwise(
    pytester: pytest.Pytester, openai_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", f"{SRC}:{pytester.path}")
    openai_server.enqueue(tool_calls=[("get_weather", {"city": "Oslo"})])
    openai_server.enqueue("Sunny, they say.")
    pytester.makepyfile(weather_agent=AGENT_MODULE, test_cassette=CASSETTE_TEST)
    args = [*_plugin_args(), "-p", "no:cacheprovider", "test_cassette.py"]

    missing = pytester.runpytest_subprocess(*args)
    monkeypatch.setenv("WEATHER_URL", openai_server.base_url)
    recorded = pytester.runpytest_subprocess(*args, "--myagent-record", "cassettes")
    served = len(openai_server.requests)
    openai_server.stop()
    monkeypatch.delenv("WEATHER_URL")
    replayed = pytester.runpytest_subprocess(*args)

    missing.assert_outcomes(failed=1)
    missing.stdout.fnmatch_lines(["*no cassette at *cassettes/test_cassette.py_test_weather.json*"])
    recorded.assert_outcomes(passed=1)
    assert served == 2
    assert (pytester.path / "cassettes" / "test_cassette.py_test_weather.json").is_file()
    replayed.assert_outcomes(passed=1)


def test_loading_the_pytest_plugin_imports_nothing_heavy() -> None:
    import subprocess
    import sys

    code = (
        "import sys, myagent.testing.pytest_plugin; "
        "print(sorted(m for m in sys.modules if m.startswith(('myagent', 'openai'))))"
    )
    env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)

    assert out.stdout.strip() == "['myagent', 'myagent.testing', 'myagent.testing.pytest_plugin']"
