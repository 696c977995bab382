"""BaseTool: both declaration styles, derived schemas, and one tool record per execution."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import pytest

from myagent.tool import BaseTool, ToolArgumentsError, ToolFailure, ToolResult
from myagent.trace import ToolRecord, Trace, TraceManager


class MyTool(BaseTool):
    name = "my_tool"
    description = "Example tool"
    enable_tracing = True  # Default

    async def execute(self, **kwargs):  # type: ignore[no-untyped-def]
        # Execution automatically traced
        return ToolResult(output="result")


class HighFrequencyTool(BaseTool):
    enable_tracing = False  # Skip tracing for performance

    async def execute(self, **kwargs: Any) -> str:
        return "fast"


class WeatherTool(BaseTool):
    name: str = "get_weather"
    description: str = "Current weather for a city"
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    }
    user_confirm: bool = False
    api_key: str = ""

    async def execute(self, city: str) -> ToolResult:
        return ToolResult(output=f"Sunny in {city}")


class Adder(BaseTool):
    """Add two integers."""

    async def execute(self, a: int, b: int = 2) -> int:
        """Add.

        Args:
            a: The first number.
            b: The second number,
                two by default.
        """
        return a + b


async def _traces(manager: TraceManager) -> list[Trace]:
    return await manager.aget_all_traces()


async def test_spec_tool_snippet_direct_call_is_one_traced_record(manager: TraceManager) -> None:
    result = await MyTool().execute()

    assert result.output == "result"
    traces = await _traces(manager)
    assert len(traces) == 1
    (record,) = traces[0].runs
    assert isinstance(record, ToolRecord)
    assert (record.tool_name, record.output, record.success) == ("my_tool", "result", True)
    assert traces[0].name == "my_tool"


async def test_direct_call_inside_a_trace_nests_under_the_current_record(
    manager: TraceManager,
) -> None:
    async with manager.trace("outer") as trace, manager.run("step") as step:
        await WeatherTool().execute(city="Paris")

    tool_records = trace.tool_records
    assert len(tool_records) == 1
    assert tool_records[0].parent_id == step.run_id
    assert tool_records[0].input_params == {"city": "Paris"}
    assert tool_records[0].output == "Sunny in Paris"
    assert len(await _traces(manager)) == 1


async def test_positional_arguments_are_recorded_by_name(manager: TraceManager) -> None:
    async with manager.trace("outer") as trace:
        await Adder().execute(1, 5)

    assert trace.tool_records[0].input_params == {"a": 1, "b": 5}
    assert trace.tool_records[0].output == 6


async def test_spec_high_frequency_tool_records_nothing(manager: TraceManager) -> None:
    assert await HighFrequencyTool().execute() == "fast"
    async with manager.trace("outer") as trace:
        await HighFrequencyTool().execute()

    assert trace.runs == []
    assert [t.name for t in await _traces(manager)] == ["outer"]


async def test_instance_can_switch_tracing_off(manager: TraceManager) -> None:
    tool = MyTool()
    tool.enable_tracing = False
    await tool.execute()

    assert await _traces(manager) == []


async def test_exception_is_recorded_then_reraised(manager: TraceManager) -> None:
    class Broken(BaseTool):
        name = "broken"

        async def execute(self) -> str:
            raise KeyError("missing")

    with pytest.raises(KeyError):
        await Broken().execute()

    (trace,) = await _traces(manager)
    record = trace.tool_records[0]
    assert not record.success
    assert record.error_type == "KeyError"
    assert record.stacktrace and "missing" in record.stacktrace
    assert trace.status == "error"


async def test_tool_result_error_marks_the_record_failed(manager: TraceManager) -> None:
    class Refuses(BaseTool):
        name = "refuses"

        async def execute(self) -> ToolResult:
            return ToolFailure(error="quota exceeded", system="try tomorrow")

    async with manager.trace("outer") as trace:
        result = await Refuses().execute()

    assert str(result) == "Error: quota exceeded"
    record = trace.tool_records[0]
    assert (record.success, record.error) == (False, "quota exceeded")
    assert record.metadata["system"] == "try tomorrow"


async def test_super_execute_chain_records_once(manager: TraceManager) -> None:
    class Louder(WeatherTool):
        async def execute(self, city: str) -> ToolResult:
            base = await super().execute(city=city)
            return base.replace(output=str(base.output).upper())

    async with manager.trace("outer") as trace:
        result = await Louder().execute(city="Oslo")

    assert result.output == "SUNNY IN OSLO"
    assert len(trace.tool_records) == 1
    assert trace.tool_records[0].output == "SUNNY IN OSLO"


async def test_a_tool_calling_another_tool_gets_a_child_record(manager: TraceManager) -> None:
    class Trip(BaseTool):
        name = "plan_trip"

        async def execute(self, city: str) -> str:
            weather = await WeatherTool().execute(city=city)
            return f"Pack for: {weather.output}"

    async with manager.trace("outer") as trace:
        await Trip().execute(city="Rome")

    outer, inner = trace.tool_records
    assert (outer.tool_name, inner.tool_name) == ("plan_trip", "get_weather")
    assert inner.parent_id == outer.run_id
    assert outer.parent_id is None


async def test_sync_execute_is_traced_too(manager: TraceManager) -> None:
    class Upper(BaseTool):
        name = "upper"

        def execute(self, text: str) -> str:  # type: ignore[override]
            return text.upper()

    async with manager.trace("outer") as trace:
        assert await Upper()(text="hi") == "HI"

    assert [r.output for r in trace.tool_records] == ["HI"]


async def test_concurrent_direct_calls_keep_their_own_records(manager: TraceManager) -> None:
    class Slow(BaseTool):
        name = "slow"

        async def execute(self, n: int) -> int:
            await asyncio.sleep(0)
            return n

    async def one(n: int) -> Trace:
        async with manager.trace(f"t{n}") as trace:
            await Slow().execute(n=n)
        return trace

    traces = await asyncio.gather(*(one(n) for n in range(20)))

    for n, trace in enumerate(traces):
        assert [r.input_params for r in trace.runs] == [{"n": n}]


def test_plain_attributes_read_on_class_and_instance() -> None:
    class Plain(BaseTool):
        name = "plain"
        description = "plain style"
        retries = 3

        async def execute(self) -> str:
            return "ok"

    tool = Plain()
    assert (Plain.name, Plain.description, Plain.retries) == ("plain", "plain style", 3)
    assert (tool.name, tool.description, tool.retries, tool.enable_tracing) == (
        "plain",
        "plain style",
        3,
        True,
    )
    assert HighFrequencyTool.enable_tracing is False


def test_pydantic_style_declaration_and_fields() -> None:
    tool = WeatherTool(api_key="secret")

    assert tool.api_key == "secret"
    assert tool.user_confirm is False
    assert tool.to_param() == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": WeatherTool.parameters,
        },
    }


def test_plain_init_may_set_its_own_attributes() -> None:
    class WithClient(BaseTool):
        name = "with_client"

        def __init__(self, endpoint: str) -> None:
            super().__init__()
            self.endpoint = endpoint

        async def execute(self) -> str:
            return self.endpoint

    assert WithClient("http://x").endpoint == "http://x"


def test_parameters_derived_from_execute_signature_and_docstring() -> None:
    tool = Adder()

    assert tool.name == "adder"
    assert tool.description == "Add two integers."
    assert tool.parameters == {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "description": "The first number."},
            "b": {
                "type": "integer",
                "default": 2,
                "description": "The second number, two by default.",
            },
        },
        "required": ["a"],
    }


def test_spec_tool_without_parameters_gets_an_open_object_schema() -> None:
    params = MyTool().to_param()["function"]["parameters"]
    assert params["type"] == "object"
    assert params["properties"] == {}


def test_validate_arguments_coerces_types_and_rejects_bad_ones() -> None:
    tool = Adder()

    assert tool.validate_arguments({"a": "7"}) == {"a": 7}
    with pytest.raises(ToolArgumentsError, match="a"):
        tool.validate_arguments({"a": "seven"})
    # An explicit schema is the tool's own business: arguments pass through untouched.
    assert WeatherTool().validate_arguments({"city": 1}) == {"city": 1}


async def test_call_asks_the_confirmation_handler_for_user_confirm_tools(
    manager: TraceManager,
) -> None:
    asked: list[dict[str, Any]] = []

    async def deny(tool: BaseTool, arguments: dict[str, Any]) -> bool:
        asked.append(arguments)
        return False

    tool = WeatherTool(user_confirm=True)
    tool.set_confirmation_handler(deny)
    result = await tool(city="Lima")

    assert isinstance(result, ToolFailure)
    assert asked == [{"city": "Lima"}]
    assert await _traces(manager) == []


def test_abstract_execute_is_required() -> None:
    class NoExecute(BaseTool):
        name = "nothing"

    with pytest.raises(TypeError):
        NoExecute()  # type: ignore[abstract]
