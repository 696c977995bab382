"""What a tool returns: `ToolResult` (output, error, system note), and how it reads as text."""

from __future__ import annotations

import json
from typing import Any, Self

from pydantic import BaseModel, ConfigDict


class ToolError(Exception):
    """Raise from a tool to report a failure the model should read (message only, no traceback)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ToolResult(BaseModel):
    """A tool's result: `output` for the model, or `error`; `system` is an extra note."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    output: Any = None
    error: str | None = None
    base64_image: str | None = None
    system: str | None = None

    def __bool__(self) -> bool:
        return any(getattr(self, name) for name in type(self).model_fields)

    def __add__(self, other: ToolResult) -> ToolResult:
        def combine(a: Any, b: Any, concatenate: bool = True) -> Any:
            if a and b:
                if concatenate:
                    return a + b
                raise ValueError("cannot combine tool results")
            return a or b

        return ToolResult(
            output=combine(self.output, other.output),
            error=combine(self.error, other.error),
            base64_image=combine(self.base64_image, other.base64_image, False),
            system=combine(self.system, other.system),
        )

    def __str__(self) -> str:
        return f"Error: {self.error}" if self.error else result_text(self.output)

    @property
    def success(self) -> bool:
        """True unless the result carries an error."""
        return not self.error

    def replace(self, **changes: Any) -> Self:
        """A copy with the given fields replaced."""
        return self.model_copy(update=changes)


class ToolFailure(ToolResult):
    """A ToolResult that reports a failure."""


class CLIResult(ToolResult):
    """A ToolResult meant to be shown as command-line output."""


def result_text(value: Any) -> str:
    """The text a tool's return value gives the model: JSON for data, str() otherwise."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, ToolResult):
        text = str(value)
        return f"{text}\n{value.system}" if value.system else text
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    if isinstance(value, dict | list | tuple | int | float | bool):
        try:
            return json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


_BASE_FIELDS = frozenset({"output", "error", "base64_image", "system"})


def result_extras(value: Any) -> dict[str, Any]:
    """Fields a ToolResult subclass adds (e.g. `data` for a chart), those that are set."""
    if not isinstance(value, ToolResult):
        return {}
    extras = {
        name: getattr(value, name)
        for name in type(value).model_fields
        if name not in _BASE_FIELDS and getattr(value, name) is not None
    }
    extras.update(value.model_extra or {})
    return extras


def result_content(value: Any) -> str:
    """The tool's output alone as text (a ToolResult's `system` note left out)."""
    if isinstance(value, ToolResult):
        return str(value)
    return result_text(value)


def result_error(value: Any) -> str | None:
    """The error a return value reports (a ToolResult with `error` set), else None."""
    if isinstance(value, ToolResult) and value.error:
        return str(value.error)
    return None
