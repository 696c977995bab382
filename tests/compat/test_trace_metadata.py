"""Item 3: `trace_metadata=` on the agent factories lands on every trace the agent writes;
an unknown keyword is a clear TypeError, while every documented spelling is accepted."""

from __future__ import annotations

import pytest

from myagent import create_react_agent, create_toolcall_agent
from myagent.llm import ScriptedLLM
from myagent.trace import TraceFilter, TraceManager
from tests.compat.programs import web_search_agent
from tests.support.openai_server import OpenAITestServer


async def test_web_search_agent_metadata_lands_on_every_trace(
    old_env: OpenAITestServer, sqlite_manager: TraceManager
) -> None:
    for _ in range(2):
        old_env.enqueue(None, tool_calls=[("serper_search", {"query": "OpenAI news"})])
        old_env.enqueue("OpenAI announced o5: https://openai.example/o5")
    agent = web_search_agent.build_agent("search-session-1")

    await agent.run("Find OpenAI's latest launch, with links.")
    await agent.run("And again?")

    traces = sqlite_manager.get_traces_by_session("search-session-1")
    assert len(traces) == 2
    for trace in traces:
        assert trace.session_id == "search-session-1"
        assert trace.tags == ["web_search", "serper", "demo"]
        assert trace.metadata["user_id"] == "demo_user"
        assert trace.metadata["environment"] == "development"
        assert trace.metadata["version"] == "1.0.0"
        assert trace.metadata["search_engine"] == "serper"
        assert [r.run_type for r in trace.runs] == ["think", "tool", "think"]
    by_user = sqlite_manager.query_traces(TraceFilter(user_id="demo_user", tags=["serper"]))
    assert len(by_user) == 2


async def test_a_dict_is_accepted_and_a_run_session_id_wins(manager: TraceManager) -> None:
    agent = create_toolcall_agent(
        name="dict-meta",
        llm=ScriptedLLM(),
        trace_metadata={"session_id": "s-meta", "tags": ["t"], "custom_fields": {"k": 1}},
    )
    await agent.run("hello")
    await agent.run("hello", session_id="s-call")

    first, second = manager.get_traces_by_agent("dict-meta")
    assert (first.session_id, first.tags, first.metadata["k"]) == ("s-meta", ["t"], 1)
    assert second.session_id == "s-call" and second.tags == ["t"]


def test_unknown_keywords_raise_and_documented_ones_are_accepted() -> None:
    with pytest.raises(TypeError, match="trace_metadta"):
        create_react_agent(name="x", llm=ScriptedLLM(), trace_metadta={"tags": []})
    with pytest.raises(TypeError, match="unexpected keyword"):
        create_toolcall_agent(name="x", llm=ScriptedLLM(), duplicate_threshold=2)
    with pytest.raises(TypeError):
        create_toolcall_agent(name="x", llm=ScriptedLLM(), trace_metadata={"bogus": 1})
    agent = create_toolcall_agent(
        name="all-spellings",
        llm=ScriptedLLM(),
        tools=[],
        system_prompt="s",
        next_step_prompt="n",
        tool_choice="auto",
        max_steps=None,
        max_observe=100,
        description="documented extra",
        enable_tracing=True,
        trace_metadata=None,
        session_id="s",
        memory=None,
        stream=False,
        available_tools=[],
        tool_choices="auto",
    )
    assert agent.description == "documented extra" and agent.max_steps == 30
