"""Item 5: the WebSocket protocol details old clients read, over a real server and client,
with an old-style agent factory whose model is the loopback OpenAI-wire server."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import pytest

from myagent import create_react_agent
from myagent.tool.base_tool import BaseTool, ToolResult
from myagent.trace import TraceManager
from tests.support.openai_server import OpenAITestServer
from tests.support.ws import WsClient

SECRET = "old-clients-secret"


class ToolResultExpanded(ToolResult):
    data: dict[str, Any] | None = None


class ChartTool(BaseTool):
    name: str = "chart"
    description: str = "Chart some numbers"
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"kind": {"type": "string"}},
        "required": ["kind"],
    }

    async def execute(self, kind: str) -> ToolResult:
        if kind == "broken":
            return ToolResult(error="cannot chart that")
        return ToolResultExpanded(
            output="chart ready",
            system="rendered 3 points",
            data={"type": kind, "points": [1, 2, 3]},
        )


class DeleteTool(BaseTool):
    name: str = "delete_file"
    description: str = "Delete a file"
    user_confirm: bool = True

    async def execute(self, path: str) -> ToolResult:
        return ToolResult(output=f"deleted {path}")


def agent_factory_func() -> Any:
    return create_react_agent(name="old-ws-agent", tools=[ChartTool(), DeleteTool()])


async def test_tool_results_streaming_thinking_and_llm_message(
    old_env: OpenAITestServer, manager: TraceManager, ws_server_factory: Any
) -> None:
    old_env.enqueue(
        "Let me draw it.",
        tool_calls=[("chart", {"kind": "bar"}), ("chart", {"kind": "broken"})],
    )
    old_env.enqueue("Here is your bar chart.")
    server = await ws_server_factory(None, agent_factory_func=agent_factory_func)
    client = await WsClient.open(server.url)
    session_id = await client.create_session()

    frames = await client.ask(session_id, "Chart it")
    llm_message = await client.recv()

    thinking = [f for f in frames if f["event"] == "agent.thinking"]
    assert "Let me draw it." in [f["content"] for f in thinking]
    good, bad = [f for f in frames if f["event"] == "agent.tool_result"]
    assert good["content"] == "chart ready"  # the output alone
    assert good["metadata"]["status"] == "success" and good["metadata"]["success"] is True
    assert good["metadata"]["system"] == "rendered 3 points"
    assert good["metadata"]["data"] == {"type": "bar", "points": [1, 2, 3]}
    assert bad["metadata"]["status"] == "failed" and bad["metadata"]["success"] is False
    assert bad["metadata"]["error"] == "cannot chart that"
    chunks = [
        f for f in frames if f["event"] == "agent.partial_answer" and f["metadata"]["step"] == 2
    ]
    assert "".join(f["content"] for f in chunks) == "Here is your bar chart."
    assert chunks[-1]["metadata"]["is_final"] is True
    assert chunks[-1]["metadata"]["is_streaming"] is True  # as before
    assert llm_message["event"] == "agent.llm_message"
    messages = llm_message["content"]["messages"]
    assert llm_message["content"]["total_messages"] == len(messages) == 5
    assert messages[0] == {"role": "user", "content": "Chart it"}
    assert llm_message["metadata"]["final_response"] == "Here is your bar chart."
    (trace,) = await manager.aget_traces_by_session(session_id)
    assert [r.run_type for r in trace.runs] == ["think", "tool", "tool", "think"]
    chart = trace.tool_records[0]
    assert chart.metadata["data"] == {"type": "bar", "points": [1, 2, 3]}
    assert chart.metadata["system"] == "rendered 3 points" and chart.output == "chart ready"


async def test_a_repeated_or_unknown_confirmation_is_ignored_with_a_log_line(
    old_env: OpenAITestServer,
    manager: TraceManager,
    ws_server_factory: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    old_env.enqueue(None, tool_calls=[("delete_file", {"path": "/tmp/x"})])
    old_env.enqueue("Deleted.")
    server = await ws_server_factory(agent_factory_func)
    client = await WsClient.open(server.url)
    session_id = await client.create_session()
    await client.message(session_id, "delete /tmp/x")
    (confirm,) = [
        f
        for f in await client.recv_until("agent.user_confirm")
        if f["event"] == "agent.user_confirm"
    ]
    answer = {"event": "user.response", "session_id": session_id, "step_id": confirm["step_id"]}
    with caplog.at_level(logging.WARNING, logger="myagent.ws"):
        await client.send({**answer, "content": {"confirmed": True}})
        frames = await client.recv_until("agent.final_answer")
        await client.send({**answer, "content": {"confirmed": True}})  # repeated
        await client.send({**answer, "step_id": "confirm_nope", "content": {"confirmed": False}})
        await client.send({"event": "user.ping"})
        after = [await client.recv(), await client.recv()]
    assert frames[-1]["content"] == "Deleted."
    assert [f["event"] for f in after] == ["agent.llm_message", "system.pong"]  # no system.error
    ignored = [r for r in caplog.records if "ignored user.response" in r.getMessage()]
    assert len(ignored) == 2
    (trace,) = await manager.aget_traces_by_session(session_id)
    assert [r.run_type for r in trace.runs] == ["think", "tool", "think"]


async def test_signed_state_export_and_restore(
    old_env: OpenAITestServer, manager: TraceManager, ws_server_factory: Any
) -> None:
    old_env.enqueue("Nice to meet you, Ada.")
    old_env.enqueue("Your name is Ada.")
    server = await ws_server_factory(agent_factory_func, state_secret_key=SECRET)
    client = await WsClient.open(server.url)
    session_id = await client.create_session()
    await client.ask(session_id, "My name is Ada.")
    assert (await client.recv())["event"] == "agent.llm_message"

    await client.send({"event": "user.request_state", "session_id": session_id})
    exported = await client.recv()
    assert exported["event"] == "agent.state_exported"
    signed = exported["metadata"]["signed_state"]
    assert (
        exported["metadata"]["message_count"] == 2 and signed["state"]["session_id"] == session_id
    )
    await client.close()
    await server.stop()

    # another server process with the same key (the old session is gone)
    other = await ws_server_factory(agent_factory_func, state_secret_key=SECRET)
    fresh = await WsClient.open(other.url)
    forged = {**signed, "state": {**signed["state"], "current_step": 99}}
    await fresh.send({"event": "user.reconnect_with_state", "signed_state": forged})
    refused = await fresh.recv()
    assert refused["event"] == "system.error"
    assert refused["metadata"]["error_code"] == "invalid_state"
    assert "signature" in refused["content"]
    assert other.sessions.get(session_id) is None and len(other.sessions) == 0

    await fresh.send({"event": "user.reconnect_with_state", "signed_state": signed})
    restored = await fresh.recv()
    assert restored["event"] == "agent.state_restored"
    assert restored["metadata"]["original_session_id"] == session_id
    assert restored["metadata"]["message_count"] == 2
    assert restored["metadata"]["reconnect_token"]  # the new session can be reattached too
    new_id = restored["session_id"]
    assert new_id != session_id
    answer = await fresh.ask(new_id, "What is my name?")
    assert answer[-1]["content"] == "Your name is Ada."
    sent = old_env.requests[-1]["messages"]
    assert [m["content"] for m in sent if m["role"] != "system"][:3] == [
        "My name is Ada.",
        "Nice to meet you, Ada.",
        "What is my name?",
    ]
    traces = await manager.aget_traces_by_session(new_id)
    assert len(traces) == 1 and [r.run_type for r in traces[0].runs] == ["think"]

    wrong_key = await ws_server_factory(agent_factory_func, state_secret_key="another key")
    third = await WsClient.open(wrong_key.url)
    await third.send({"event": "user.reconnect_with_state", "content": {"signed_state": signed}})
    assert (await third.recv())["metadata"]["error_code"] == "invalid_state"
