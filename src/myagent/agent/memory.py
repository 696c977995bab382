"""Memory: an agent's conversation history in OpenAI message format (system prompt excluded)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

Message = dict[str, Any]


class Memory:
    """The messages of past and current runs; `max_messages` bounds it between runs.

    Trimming drops the oldest messages and always restarts at a user message, so a kept
    history never opens with a tool result whose call was dropped.
    """

    def __init__(
        self, messages: Iterable[Message] | None = None, max_messages: int | None = None
    ) -> None:
        if max_messages is not None and max_messages < 1:
            raise ValueError("max_messages must be at least 1 (or None for no limit)")
        self.messages: list[Message] = list(messages or [])
        self.max_messages = max_messages

    def __len__(self) -> int:
        return len(self.messages)

    def __iter__(self) -> Iterator[Message]:
        return iter(self.messages)

    def __repr__(self) -> str:
        return f"Memory({len(self.messages)} messages, max_messages={self.max_messages})"

    def add(self, message: Message) -> None:
        """Append one message."""
        self.messages.append(message)

    def add_message(self, message: Message) -> None:
        """Alias of `add` (the name earlier versions used)."""
        self.add(message)

    def to_dict_list(self) -> list[Message]:
        """The messages as plain dicts."""
        return [dict(m) for m in self.messages]

    def add_messages(self, messages: Iterable[Message]) -> None:
        """Append several messages."""
        self.messages.extend(messages)

    def clear(self) -> None:
        """Forget everything."""
        self.messages.clear()

    def truncate(self, length: int) -> None:
        """Drop every message after the first `length` (undoes a failed run)."""
        del self.messages[length:]

    def trim(self) -> None:
        """Drop the oldest messages beyond `max_messages`, restarting at a user message."""
        if self.max_messages is None or len(self.messages) <= self.max_messages:
            return
        cut = len(self.messages) - self.max_messages
        while cut < len(self.messages) and self.messages[cut].get("role") != "user":
            cut += 1
        del self.messages[:cut]

    def get_recent_messages(self, count: int) -> list[Message]:
        """The last `count` messages."""
        return self.messages[-count:] if count > 0 else []
