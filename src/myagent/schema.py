"""The earlier `myagent.schema` names: message roles, tool choice, agent state, memory.

Messages are plain OpenAI-format dicts everywhere in this package; `Message` is such a
dict with the earlier constructors (`Message.user_message("hi")`, ...) and attribute
reads (`message.role`, `message.content`), so old code can build and read them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from myagent.agent.memory import Memory
from myagent.agent.toolcall import AgentState
from myagent.llm.base import ToolCall


class Role(StrEnum):
    """Who a message is from."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class ToolChoice(StrEnum):
    """Whether the model may, must or must not call tools (`tool_choice=`)."""

    NONE = "none"
    AUTO = "auto"
    REQUIRED = "required"


class Message(dict[str, Any]):
    """One chat message: an OpenAI-format dict with the earlier constructors."""

    def __init__(
        self,
        role: str,
        content: str | None = None,
        *,
        tool_calls: list[Any] | None = None,
        name: str | None = None,
        tool_call_id: str | None = None,
        base64_image: str | None = None,
    ) -> None:
        super().__init__(role=str(role), content=content)
        optional = {
            "tool_calls": None if tool_calls is None else [_call_dict(c) for c in tool_calls],
            "name": name,
            "tool_call_id": tool_call_id,
            "base64_image": base64_image,
        }
        self.update((key, value) for key, value in optional.items() if value is not None)

    @property
    def role(self) -> str:
        """system, user, assistant or tool."""
        return str(self["role"])

    @property
    def content(self) -> str | None:
        """The text, or None (an assistant message that only calls tools)."""
        value: str | None = self.get("content")
        return value

    @property
    def tool_calls(self) -> list[dict[str, Any]] | None:
        """The tool calls of an assistant message, in OpenAI format."""
        value: list[dict[str, Any]] | None = self.get("tool_calls")
        return value

    def to_dict(self) -> dict[str, Any]:
        """A plain dict copy."""
        return dict(self)

    @classmethod
    def user_message(cls, content: str, base64_image: str | None = None) -> Message:
        """A user message."""
        return cls(Role.USER, content, base64_image=base64_image)

    @classmethod
    def system_message(cls, content: str) -> Message:
        """A system message."""
        return cls(Role.SYSTEM, content)

    @classmethod
    def assistant_message(
        cls, content: str | None = None, base64_image: str | None = None
    ) -> Message:
        """An assistant message."""
        return cls(Role.ASSISTANT, content, base64_image=base64_image)

    @classmethod
    def tool_message(
        cls, content: str, name: str, tool_call_id: str, base64_image: str | None = None
    ) -> Message:
        """A tool result message answering the call `tool_call_id`."""
        return cls(
            Role.TOOL, content, name=name, tool_call_id=tool_call_id, base64_image=base64_image
        )

    @classmethod
    def from_tool_calls(
        cls, tool_calls: list[Any], content: str = "", base64_image: str | None = None
    ) -> Message:
        """An assistant message calling `tool_calls` (ToolCall objects or OpenAI dicts)."""
        return cls(Role.ASSISTANT, content, tool_calls=tool_calls, base64_image=base64_image)


def _call_dict(call: Any) -> Any:
    to_dict = getattr(call, "to_dict", None)
    return to_dict() if callable(to_dict) else call


__all__ = ["AgentState", "Memory", "Message", "Role", "ToolCall", "ToolChoice"]
