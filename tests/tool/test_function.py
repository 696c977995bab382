"""@function_tool: plain functions as traced tools."""

from __future__ import annotations

import threading

from myagent.tool import FunctionTool, function_tool, tool
from myagent.trace import TraceManager


@function_tool
async def get_time(city: str, utc_offset: int = 0) -> str:
    """Current time in a city.

    Args:
        city: The city.
        utc_offset: Hours from UTC.
    """
    return f"12:00 in {city} ({utc_offset:+d})"


def test_name_description_and_schema_come_from_the_function() -> None:
    assert isinstance(get_time, FunctionTool)
    assert get_time.name == "get_time"
    assert get_time.description == "Current time in a city."
    assert get_time.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city."},
            "utc_offset": {"type": "integer", "default": 0, "description": "Hours from UTC."},
        },
        "required": ["city"],
    }


async def test_async_function_runs_traced(manager: TraceManager) -> None:
    async with manager.trace("outer") as trace:
        assert await get_time.execute(city="Oslo", utc_offset=1) == "12:00 in Oslo (+1)"

    assert [(r.tool_name, r.input_params) for r in trace.tool_records] == [
        ("get_time", {"city": "Oslo", "utc_offset": 1})
    ]


async def test_sync_function_runs_off_the_event_loop_thread(manager: TraceManager) -> None:
    @tool(name="where", description="Which thread runs me")
    def where() -> str:
        return threading.current_thread().name

    assert (where.name, where.description) == ("where", "Which thread runs me")
    assert await where.execute() != threading.current_thread().name


def test_options_reach_the_tool() -> None:
    @function_tool(enable_tracing=False, user_confirm=True)
    def delete_file(path: str) -> str:
        return path

    assert (delete_file.enable_tracing, delete_file.user_confirm) == (False, True)
    assert delete_file.validate_arguments({"path": "/tmp/x", "junk": 1}) == {"path": "/tmp/x"}
