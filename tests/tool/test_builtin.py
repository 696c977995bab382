"""Terminate: the ready-made tool that ends a run."""

from __future__ import annotations

from myagent.tool import Terminate, ToolResult


async def test_terminate_reports_status_and_message() -> None:
    tool = Terminate()
    result = await tool.execute(status="success", message="All done")

    assert isinstance(result, ToolResult)
    assert result.output == "The interaction has been completed with status: success. All done"
    assert Terminate.name == tool.name == "terminate"


def test_terminate_schema_offers_status_and_message() -> None:
    parameters = Terminate().to_param()["function"]["parameters"]

    assert parameters["required"] == ["status"]
    assert parameters["properties"]["status"]["enum"] == ["success", "failure"]
    assert "message" in parameters["properties"]
    # Each instance owns its schema: editing one leaves the next untouched.
    parameters["required"].append("message")
    assert Terminate().parameters["required"] == ["status"]  # type: ignore[index]
