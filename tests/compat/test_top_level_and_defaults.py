"""Item 6: the earlier top-level names (lazy), awaitable query-engine methods, the old
filter field names, and the earlier defaults (max_steps 30, port 8080, ./.env, a warning
when the offline model is used)."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from myagent import create_react_agent, create_toolcall_agent
from myagent.llm import ScriptedLLM
from myagent.trace import RunFilter, RunType, TraceFilter, TraceManager, TraceQueryEngine
from myagent.ws.server import AgentWebSocketServer
from tests.support.openai_server import OpenAITestServer

OLD_NAMES = [
    "BaseTool",
    "ToolResult",
    "Terminate",
    "ToolCollection",
    "LLM",
    "Message",
    "Role",
    "ToolCall",
    "ToolChoice",
    "TraceManager",
    "trace_run",
    "trace_agent_step",
    "trace_tool_call",
    "logger",
    "BaseAgent",
    "ReActAgent",
]


def test_old_top_level_names_are_there_and_import_myagent_stays_cheap() -> None:
    code = textwrap.dedent(
        f"""
        import sys, threading
        import myagent
        heavy = ("openai", "pydantic", "myagent.agent", "myagent.trace")
        heavy = [m for m in heavy if m in sys.modules]
        assert heavy == [], heavy
        from myagent import {", ".join(OLD_NAMES)}
        assert ReActAgent is BaseAgent is myagent.agent.ToolCallAgent
        assert TraceManager is myagent.trace.TraceManager and logger.name == "myagent"
        assert set({OLD_NAMES!r}) <= set(dir(myagent)) and threading.active_count() == 1
        print("ok")
        """
    )
    src = Path(__file__).resolve().parents[2] / "src"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.strip() == "ok", out.stderr


async def test_query_engine_methods_are_awaitable_and_callable(manager: TraceManager) -> None:
    agent = create_toolcall_agent(name="q", llm=ScriptedLLM(), session_id="s1")
    await agent.run("hello")
    engine = TraceQueryEngine(manager.storage)

    awaited = await engine.query_traces(TraceFilter(session_id="s1"))
    called = engine.query_traces(TraceFilter(session_id="s1"))
    assert [t.trace_id for t in awaited] == [t.trace_id for t in called] == [agent.last_trace_id]
    assert awaited.results == awaited and awaited.total_count == 1
    assert [t.trace_id for t in await engine.get_all_traces()] == [agent.last_trace_id]
    assert len(await engine.get_traces_by_agent("q")) == len(engine.get_traces_by_session("s1"))
    stats = await engine.get_trace_statistics()
    assert stats == engine.get_trace_statistics()
    assert stats["total_traces"] == 1 and stats["error_rate"] == 0.0
    assert stats["avg_duration_ms"] > 0 and stats["status_distribution"] == {"success": 1}
    runs = await engine.get_run_statistics()
    assert runs["total_runs"] == 1 and runs["type_distribution"] == {"think": 1}
    assert len(await engine.query_runs(RunFilter(trace_id=agent.last_trace_id))) == 1


def test_old_filter_field_names_are_aliases() -> None:
    old = TraceFilter(
        session_id="s",
        status="error",
        user_id="u",
        environment="prod",
        request_contains="weather",
        min_duration_ms=1500,
        max_duration_ms=3000,
    )
    assert old == TraceFilter(
        session_ids=["s"],
        statuses=["error"],
        metadata={"user_id": "u", "environment": "prod"},
        text="weather",
        min_duration=1.5,
        max_duration=3.0,
    )
    assert RunFilter(trace_id="t", run_type=RunType.AGENT, status="error") == RunFilter(
        trace_ids=["t"], run_types=["agent"], errors_only=True
    )
    assert RunFilter(has_errors=False) == RunFilter(success_only=True)


def test_earlier_defaults() -> None:
    assert create_toolcall_agent(llm=ScriptedLLM()).max_steps == 30
    assert create_react_agent(llm=ScriptedLLM(), max_steps=None).max_steps == 30
    assert AgentWebSocketServer(lambda: None).port == 8080


async def test_dotenv_in_the_working_directory_configures_the_default_model(
    openai_server: OpenAITestServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    manager: TraceManager,
) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text(
        f"OPENAI_API_KEY=sk-from-dotenv\nOPENAI_BASE_URL={openai_server.base_url}\n"
        "LLM_MODEL=dotenv-model\nUNRELATED=1\n"
    )
    monkeypatch.chdir(tmp_path)
    openai_server.enqueue("configured by .env")

    agent = create_react_agent(name="dotenv")

    assert await agent.run("hi") == "configured by .env"
    assert openai_server.requests[0]["model"] == "dotenv-model"
    assert openai_server.request_headers[0]["authorization"] == "Bearer sk-from-dotenv"
    (think,) = manager.get_traces_by_agent("dotenv")[0].runs
    assert think.model == "dotenv-model"


def test_the_offline_fallback_warns_once_saying_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("myagent.llm.default._warned_offline", False)
    with caplog.at_level(logging.WARNING):
        create_react_agent(name="a")
        create_react_agent(name="b")
    (warning,) = [r for r in caplog.records if "ScriptedLLM" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    assert "no OPENAI_API_KEY or OPENAI_BASE_URL is set (environment or ./.env)" in (
        warning.getMessage()
    )
