"""Agent factories: with or without the session id, async, and loaded from files or modules."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from myagent.agent import ToolCallAgent, create_toolcall_agent
from myagent.llm import ScriptedLLM
from myagent.ws.factory import AgentFactory, copy_agent, load_factory


def _agent(name: str = "a") -> ToolCallAgent:
    return create_toolcall_agent(name, [], llm=ScriptedLLM())


async def test_factories_get_the_session_id_only_when_they_take_one() -> None:
    def plain() -> Any:
        return _agent("plain")

    def named(session_id: str) -> Any:
        return _agent(session_id)

    def optional(session_id: str | None = None) -> Any:
        return _agent(session_id or "none")

    async def coroutine(sid: str) -> Any:
        return _agent(sid)

    assert (await AgentFactory(plain).create("s1")).name == "plain"
    assert (await AgentFactory(named).create("s1")).name == "s1"
    assert (await AgentFactory(optional).create("s1")).name == "s1"
    assert (await AgentFactory(coroutine).create("s2")).name == "s2"
    with pytest.raises(TypeError):
        await AgentFactory(lambda: None).create("s")
    with pytest.raises(TypeError):
        AgentFactory("not callable")  # type: ignore[arg-type]
    ready = _agent("ready")
    copies = AgentFactory(ready)  # an agent instead of a factory: one copy per session
    first, second = await copies.create("s1"), await copies.create("s2")
    assert first.name == second.name == "ready" and first is not second is not ready


async def test_copied_agents_share_the_model_but_not_the_conversation() -> None:
    original = _agent()
    await original.run("hello")
    clone = copy_agent(original)
    assert clone.llm is original.llm
    assert len(clone.memory) == 0 and len(original.memory) == 2
    await clone.run("other")
    assert len(original.memory) == 2


def test_load_factory_from_files_and_modules(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "with_factory.py").write_text(
        textwrap.dedent(
            """
            from myagent import create_toolcall_agent
            def create_agent():
                return create_toolcall_agent("from-file", [])
            """
        )
    )
    (tmp_path / "with_agent.py").write_text(
        "from myagent import create_toolcall_agent\nagent = create_toolcall_agent('obj', [])\n"
    )
    (tmp_path / "nothing.py").write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("OPENAI_API_KEY", "")
    assert load_factory(str(tmp_path / "with_factory.py"))().name == "from-file"
    made = load_factory(str(tmp_path / "with_agent.py"))
    first, second = made(), made()
    assert first.name == second.name == "obj" and first is not second
    assert first.memory is not second.memory
    assert load_factory("with_factory:create_agent")().name == "from-file"
    with pytest.raises(LookupError):
        load_factory(str(tmp_path / "nothing.py"))
    with pytest.raises(LookupError):
        load_factory("with_factory:missing")
    with pytest.raises(FileNotFoundError):
        load_factory(str(tmp_path / "absent.py"))
    for name in [m for m in sys.modules if m.startswith("_myagent_serve_")]:
        del sys.modules[name]
