"""docs/replay.md's workflow end to end: a production failure recorded against a real
(loopback) OpenAI-wire endpoint, exported, fixed and re-run with --continue-live --save,
then a regression test that replays offline and catches the old behaviour."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from myagent import create_toolcall_agent
from myagent.agent import ToolCallAgent
from myagent.cli import main
from myagent.llm import OpenAICompatibleLLM
from myagent.replay import read_traces
from myagent.testing import assert_replays
from myagent.tool import BaseTool, ToolResult
from myagent.trace import TraceManager
from tests.support.openai_server import OpenAITestServer

ENDPOINT = {"url": "http://127.0.0.1:9/v1"}  # where the "real" model is; port 9: nowhere
BUGGY_PROMPT = "You answer weather questions."
FIXED_PROMPT = "You answer weather questions. Use the city the user names, exactly."


class Weather(BaseTool):
    name = "get_weather"
    description = "Get the current weather for a city"

    async def execute(self, city: str) -> ToolResult:
        """Look it up.

        Args:
            city: the city
        """
        return ToolResult(output={"NYC": "Sunny, 72°F"}.get(city, "Cloudy, 15°C"))


def _agent(prompt: str) -> ToolCallAgent:
    llm = OpenAICompatibleLLM(model="m", base_url=ENDPOINT["url"], api_key="k", retries=0)
    return create_toolcall_agent(
        name="weather", tools=[Weather()], llm=llm, system_prompt=prompt, add_terminate=False
    )


def buggy_agent() -> ToolCallAgent:
    return _agent(BUGGY_PROMPT)


def fixed_agent() -> ToolCallAgent:
    return _agent(FIXED_PROMPT)


def test_from_a_production_failure_to_a_regression_test(
    sqlite_manager: TraceManager,
    tmp_path: Path,
    openai_server: OpenAITestServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ENDPOINT["url"] = openai_server.base_url
    db, case = str(tmp_path / "traces.db"), tmp_path / "case.json"
    openai_server.enqueue(tool_calls=[("get_weather", {"city": "Paris"})])  # the bug
    openai_server.enqueue("It is cloudy in New York.")
    production = buggy_agent()
    asyncio.run(production.run("Weather in NYC?"))
    sqlite_manager.flush()

    # 1. the failure, kept as a trace file
    assert main(["export", production.last_trace_id or "", "--db", db, "-o", str(case)]) == 0
    # 2. the fix, re-run from the recording; the real model answers from the divergence on
    openai_server.enqueue(tool_calls=[("get_weather", {"city": "NYC"})])
    openai_server.enqueue("It is sunny in New York.")
    fixed = f"{__name__}:fixed_agent"
    args = ["replay", str(case), "--db", db, "--agent", fixed, "--continue-live"]
    assert main([*args, "--save", str(case)]) == 1  # it diverged, as a fix must
    out = capsys.readouterr().out
    assert "divergence at step 1 (messages): message 0 (system)" in out
    assert "answer: It is sunny in New York." in out
    (saved,) = read_traces(case)
    assert saved.output == "It is sunny in New York."
    assert saved.tool_records[0].input_params == {"city": "NYC"}

    # 3. the regression test: offline, and it catches the old prompt coming back
    ENDPOINT["url"] = "http://127.0.0.1:9/v1"
    served = len(openai_server.requests)
    openai_server.stop()
    (result,) = assert_replays(case, fixed_agent)
    assert result.answer == "It is sunny in New York."
    with pytest.raises(AssertionError, match=r"divergence at step 1 \(messages\)"):
        assert_replays(case, buggy_agent)
    assert served == 4
