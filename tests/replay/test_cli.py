"""`myagent export` and `myagent replay` over a real SQLite trace database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from examples import demo
from myagent import create_toolcall_agent
from myagent.agent import ToolCallAgent
from myagent.cli import main
from myagent.replay import read_traces
from myagent.testing import assert_replays
from myagent.trace import SQLiteTraceStorage, TraceManager


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)


def terse_agent() -> ToolCallAgent:
    """The weather agent with another system prompt (a regression to catch)."""
    return create_toolcall_agent(
        name="weather-agent", tools=[demo.WeatherTool()], system_prompt="Be terse."
    )


async def recorded(manager: TraceManager) -> str:
    agent = demo.create_agent("weather-agent")
    await agent.run("What's the weather in NYC?")
    manager.flush()
    assert agent.last_trace_id is not None
    return agent.last_trace_id


def test_export_then_replay_from_the_database_and_the_file(
    sqlite_manager: TraceManager,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    viewer_factory: Any,
) -> None:
    trace_id = asyncio.run(recorded(sqlite_manager))
    db = str(tmp_path / "traces.db")
    exported = tmp_path / "failure.json"

    assert main(["export", trace_id, "--db", db, "-o", str(exported)]) == 0
    (trace,) = read_traces(exported)
    assert trace.trace_id == trace_id and len(trace.runs) == 3

    assert main(["replay", trace_id, "--db", db, "--viewer-url", "http://127.0.0.1:9000"]) == 0
    out = capsys.readouterr().out
    assert f"replay of {trace_id} (recorded): reproduced" in out
    replay_id = out.split("replay trace: ")[1].split()[0]
    assert f"http://127.0.0.1:9000/compare?a={trace_id}&b={replay_id}" in out
    stored = SQLiteTraceStorage(db).query_traces_sync(limit=10)
    replayed = next(t for t in stored if t.trace_id == replay_id)
    assert replayed.metadata["replay_of"] == trace_id and "replay" in replayed.tags
    viewer = viewer_factory(SQLiteTraceStorage(db))  # the compare view opens the pair
    pair = httpx.get(f"{viewer.url}/api/compare", params={"a": trace_id, "b": replay_id}).json()
    assert len(pair["pairs"]) == 3 and all(p["a"] and p["b"] for p in pair["pairs"])
    assert pair["deltas"]["records"] == 0 and pair["deltas"]["errors"] == 0

    status = main(["replay", str(exported), "--agent", "tests.replay.test_cli:terse_agent"])
    assert status == 1
    out = capsys.readouterr().out
    assert "DIVERGED" in out and "divergence at step 1 (messages)" in out


def test_replay_says_why_it_cannot(
    sqlite_manager: TraceManager, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "traces.db")
    trace_id = sqlite_manager.start_trace(agent_name="workflow", input_data="x")
    sqlite_manager.add_step(trace_id=trace_id, step_name="load", result=1)
    sqlite_manager.end_trace(trace_id)
    sqlite_manager.flush()

    assert main(["replay", "0" * 32, "--db", db]) == 2
    assert "no trace" in capsys.readouterr().err
    assert main(["replay", trace_id, "--db", db, "--agent", "examples.demo:create_agent"]) == 2
    assert "recorded no LLM calls" in capsys.readouterr().err
    assert main(["export", "0" * 32, "--db", db]) == 2


def test_export_by_filter_builds_a_suite_and_replay_speaks_json(
    sqlite_manager: TraceManager, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(demo.run_agents())
    sqlite_manager.flush()
    db = str(tmp_path / "traces.db")
    suite = tmp_path / "suite.json"

    assert main(["export", "--db", db, "--agent-name", "calculator-agent", "-o", str(suite)]) == 0
    assert main(["export", "--db", db]) == 2
    assert "name trace ids" in capsys.readouterr().err
    traces = read_traces(suite)
    assert sorted(t.input for t in traces) == ["Calculate 12 * (3 + 4)", "Calculate 7 * 6"]
    results = assert_replays(suite, demo.create_agent)
    assert [r.ok for r in results] == [True, True]

    status = main(["replay", traces[0].trace_id, "--db", db, "--json"])
    got = json.loads(capsys.readouterr().out)
    assert status == 0 and got["ok"] is True and got["divergence"] is None
    assert got["original"] == traces[0].trace_id
    assert got["compare_url"] == (
        f"http://127.0.0.1:8080/compare?a={traces[0].trace_id}&b={got['replay']}"
    )
