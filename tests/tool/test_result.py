"""ToolResult and the text a return value gives the model."""

from __future__ import annotations

from myagent.tool import ToolFailure, ToolResult
from myagent.tool.result import result_error, result_text


def test_str_is_output_or_error() -> None:
    assert str(ToolResult(output="ok")) == "ok"
    assert str(ToolResult(output="ok", error="bad")) == "Error: bad"
    assert str(ToolResult(output={"a": 1})) == '{"a": 1}'


def test_truthiness_addition_and_replace() -> None:
    assert not ToolResult()
    assert ToolResult(system="note")
    combined = ToolResult(output="a", system="x") + ToolResult(output="b")
    assert (combined.output, combined.system) == ("ab", "x")
    assert ToolResult(output="a").replace(error="e").error == "e"


def test_result_text_for_the_model() -> None:
    assert result_text(None) == ""
    assert result_text({"temp": 21, "city": "Köln"}) == '{"temp": 21, "city": "Köln"}'
    assert result_text(ToolResult(output="done", system="restarted")) == "done\nrestarted"
    assert result_text(3.5) == "3.5"
    assert result_error(ToolFailure(error="nope")) == "nope"
    assert result_error("plain") is None
