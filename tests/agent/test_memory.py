"""Memory: history kept between runs, trimmed so it never starts mid tool exchange."""

from __future__ import annotations

import pytest

from myagent.agent import Memory


def _exchange(n: int) -> list[dict[str, object]]:
    return [
        {"role": "user", "content": f"q{n}"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": f"c{n}"}]},
        {"role": "tool", "tool_call_id": f"c{n}", "content": "r"},
        {"role": "assistant", "content": f"a{n}"},
    ]


def test_trim_restarts_at_a_user_message() -> None:
    memory = Memory(_exchange(1) + _exchange(2), max_messages=6)
    memory.trim()

    assert memory.messages == _exchange(2)


def test_trim_keeps_everything_within_the_limit() -> None:
    memory = Memory(_exchange(1), max_messages=10)
    memory.trim()
    assert len(memory) == 4


def test_truncate_clear_and_recent() -> None:
    memory = Memory(_exchange(1))
    assert memory.get_recent_messages(1) == [{"role": "assistant", "content": "a1"}]
    memory.truncate(1)
    assert [m["content"] for m in memory] == ["q1"]
    memory.clear()
    assert len(memory) == 0


def test_max_messages_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Memory(max_messages=0)
