"""create_toolcall_agent / create_react_agent: keyword compatibility and the default LLM."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

import myagent
from myagent.agent import ToolCallAgent, create_react_agent, create_toolcall_agent, default_llm
from myagent.llm import OpenAICompatibleLLM, ScriptedLLM
from myagent.tool import BaseTool, Terminate, ToolCollection
from myagent.trace import TraceManager
from tests.support.openai_server import OpenAITestServer


class Echo(BaseTool):
    name = "echo"

    async def execute(self, text: str) -> str:
        return text


def test_default_llm_is_the_offline_model_and_says_so_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("myagent.llm.default._warned_offline", False)
    with caplog.at_level(logging.WARNING, logger="myagent.llm"):
        agent = create_toolcall_agent(name="offline")
        again = create_toolcall_agent(name="offline-again")

    assert isinstance(agent.llm, ScriptedLLM) and isinstance(again.llm, ScriptedLLM)
    warnings = [r for r in caplog.records if "offline ScriptedLLM" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "no OPENAI_API_KEY or OPENAI_BASE_URL is set" in warnings[0].getMessage()


@pytest.mark.parametrize("variable", ["OPENAI_BASE_URL", "OPENAI_API_BASE"])
async def test_default_llm_reaches_the_endpoint_named_by_the_environment(
    variable: str,
    monkeypatch: pytest.MonkeyPatch,
    manager: TraceManager,
    openai_server: OpenAITestServer,
) -> None:
    monkeypatch.setenv(variable, openai_server.base_url)
    monkeypatch.setenv("LLM_MODEL", "local-model")
    openai_server.enqueue("hi from the server")

    agent = create_toolcall_agent(name="env-agent", tools=[Echo()])

    assert isinstance(agent.llm, OpenAICompatibleLLM)
    assert await agent.run("hello") == "hi from the server"
    assert openai_server.requests[0]["model"] == "local-model"


def test_default_llm_uses_the_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    llm = default_llm()
    assert isinstance(llm, OpenAICompatibleLLM) and llm.model == "gpt-4o-mini"


def test_keywords_of_earlier_versions_are_accepted() -> None:
    tools = ToolCollection(Echo())
    agent = create_toolcall_agent(
        name="compat",
        llm=ScriptedLLM(),
        tools=tools,
        system_prompt="sys",
        next_step_prompt="next?",
        tool_choice="required",
        max_steps=4,
        max_observe=500,
        description="An agent kept for old code",
    )

    assert isinstance(agent, ToolCallAgent)
    assert agent.available_tools is agent.tools is tools
    assert agent.tools.tool_names == ["echo", "terminate"]
    assert (agent.system_prompt, agent.next_step_prompt) == ("sys", "next?")
    assert (agent.tool_choice, agent.tool_choices) == ("required", "required")
    assert (agent.max_steps, agent.max_observe) == (4, 500)
    assert agent.description == "An agent kept for old code"


def test_an_unknown_keyword_is_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) team; accepted: "):
        create_toolcall_agent(name="typo", llm=ScriptedLLM(), team="blue")
    with pytest.raises(TypeError, match="team"):
        create_react_agent(name="typo", llm=ScriptedLLM(), team="blue")


def test_positional_name_and_tools_and_a_model_name_string() -> None:
    agent = create_toolcall_agent("pos", [Echo()], "gpt-4o")

    assert agent.name == "pos"
    assert isinstance(agent.llm, OpenAICompatibleLLM) and agent.llm.model == "gpt-4o"


def test_terminate_is_added_once_unless_declined() -> None:
    assert create_toolcall_agent(tools=[Terminate()], llm=ScriptedLLM()).tools.tool_names == [
        "terminate"
    ]
    declined = create_toolcall_agent(tools=[Echo()], llm=ScriptedLLM(), add_terminate=False)
    assert declined.tools.tool_names == ["echo"]


def test_create_react_agent_is_an_alias() -> None:
    agent = create_react_agent(tools=[Echo()], llm=ScriptedLLM(), max_steps=2)

    assert isinstance(agent, ToolCallAgent)
    assert (agent.name, agent.max_steps) == ("react-agent", 2)
    assert agent.tools.tool_names == ["echo", "terminate"]
    assert myagent.create_react_agent is create_react_agent
    assert myagent.create_toolcall_agent is create_toolcall_agent


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_steps"):
        create_toolcall_agent(llm=ScriptedLLM(), max_steps=0)
    with pytest.raises(TypeError, match="instance"):
        create_toolcall_agent(llm=ScriptedLLM(), tools=[Echo])  # type: ignore[list-item]


def test_importing_myagent_is_light() -> None:
    code = (
        "import sys, threading, myagent; "
        "assert 'openai' not in sys.modules and 'myagent.agent' not in sys.modules; "
        "assert threading.active_count() == 1; "
        "assert callable(myagent.create_toolcall_agent); print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr
