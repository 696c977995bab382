"""ToolCollection: lookup, order, duplicates, OpenAI params and execution."""

from __future__ import annotations

import logging

import pytest

from myagent.tool import BaseTool, Terminate, ToolCollection, ToolError, ToolFailure, ToolResult
from myagent.trace import TraceManager


class Echo(BaseTool):
    name = "echo"
    description = "Echo text"

    async def execute(self, text: str) -> str:
        return text


class Fails(BaseTool):
    name = "fails"

    async def execute(self) -> str:
        raise ToolError("disk full")


def test_lookup_order_and_membership() -> None:
    echo = Echo()
    tools = ToolCollection(echo, Terminate())

    assert tools.tool_names == ["echo", "terminate"]
    assert tools.get_tool("echo") is echo
    assert tools["echo"] is echo
    assert "echo" in tools and echo in tools and "nope" not in tools
    assert len(tools) == 2
    assert [t.name for t in tools] == ["echo", "terminate"]
    assert tools.get_tool("nope") is None


def test_duplicate_names_are_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    first = Echo()
    with caplog.at_level(logging.WARNING, logger="myagent.tool"):
        tools = ToolCollection(first, Echo())

    assert tools.tools == (first,)
    assert "already exists" in caplog.text


def test_remove_and_params() -> None:
    tools = ToolCollection(Echo(), Terminate())
    removed = tools.remove_tool("terminate")

    assert isinstance(removed, Terminate)
    assert tools.remove_tool("terminate") is None
    assert [p["function"]["name"] for p in tools.to_params()] == ["echo"]


def test_functions_become_tools_and_classes_are_refused() -> None:
    async def shout(text: str) -> str:
        """Shout text."""
        return text.upper()

    tools = ToolCollection(shout)
    assert tools["shout"].description == "Shout text."
    with pytest.raises(TypeError, match=r"Echo\(\)"):
        ToolCollection(Echo)  # type: ignore[arg-type]


def test_of_accepts_a_collection_a_list_or_none() -> None:
    existing = ToolCollection(Echo())
    assert ToolCollection.of(existing) is existing
    assert ToolCollection.of([Echo()]).tool_names == ["echo"]
    assert len(ToolCollection.of(None)) == 0


async def test_execute_runs_traced_and_turns_failures_into_tool_failures(
    manager: TraceManager,
) -> None:
    tools = ToolCollection(Echo(), Fails())

    async with manager.trace("outer") as trace:
        ok = await tools.execute(name="echo", tool_input={"text": "hi"})
        unknown = await tools.execute(name="nope")
        failed = await tools.execute(name="fails")

    assert ok == ToolResult(output="hi")
    assert isinstance(unknown, ToolFailure) and unknown.error == "Tool nope is invalid"
    assert isinstance(failed, ToolFailure) and failed.error == "disk full"
    assert [(r.tool_name, r.success) for r in trace.tool_records] == [
        ("echo", True),
        ("fails", False),
    ]
