"""AgentDriver: hooks around a run, handlers, and agents that send no events of their own."""

from __future__ import annotations

from typing import Any

from myagent.agent import create_toolcall_agent
from myagent.llm import ScriptedLLM
from myagent.trace import TraceManager
from myagent.ws.runner import RUN_STARTED, AgentDriver


class PlainAgent:
    """An agent of another framework: only `name` and `async run(text)`."""

    name = "plain"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    async def run(self, text: str) -> str:
        if self.fail:
            raise ValueError("bad input")
        return text.upper()


async def collect(driver: AgentDriver, text: str) -> tuple[Any, list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []

    async def sink(event: dict[str, Any]) -> None:
        events.append(event)

    result = await driver.run(text, sink, None)
    return result, events


async def test_agent_without_events_still_gets_run_started_final_answer_and_handlers() -> None:
    calls: list[tuple[str, str]] = []
    driver = AgentDriver(PlainAgent(), "s1", handlers=[lambda s, m: calls.append((s, m))])
    result, events = await collect(driver, "hi")
    assert result.answer == "HI" and result.error is None
    assert [e["type"] for e in events] == [RUN_STARTED, "final_answer"]
    assert events[1]["content"] == "HI"
    assert calls == [("s1", "hi")]


async def test_failing_agent_gives_an_error_event_and_result() -> None:
    result, events = await collect(AgentDriver(PlainAgent(fail=True), "s1"), "hi")
    assert isinstance(result.error, ValueError)
    assert [e["type"] for e in events] == [RUN_STARTED, "error"]
    assert events[1]["error"] == "bad input" and events[1]["error_type"] == "ValueError"


async def test_users_own_hooks_are_kept_and_still_called(manager: TraceManager) -> None:
    seen: list[str] = []
    agent = create_toolcall_agent(
        "a", [], llm=ScriptedLLM(["ok"]), on_event=lambda e: seen.append(e["type"])
    )
    driver = AgentDriver(agent, "s2")
    result, events = await collect(driver, "hi")
    assert result.answer == "ok"
    assert [e["type"] for e in events][:2] == [RUN_STARTED, "thinking"]
    assert "final_answer" in seen and seen == [e["type"] for e in events[1:]]
    assert agent.on_event is not None and agent.confirm is None  # restored
    (trace,) = await manager.aget_traces_by_session("s2")
    assert events[0]["trace_id"] == trace.trace_id == driver.trace_id
