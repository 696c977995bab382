"""The redactor's memos: what it has redacted already, so a value seen again costs a
dict lookup instead of a walk and a pattern scan.

Texts are remembered by themselves, JSON containers by their JSON (`memo_key`); an entry
is the redacted copy, or `UNCHANGED` when redacting changed nothing (the value given is
then returned, so clean values are never copied). Each memo is bounded by a byte budget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

KEY_MEMO_BYTES = 64 * 1024
TEXT_MEMO_BYTES = 256 * 1024
"""How much a redactor remembers (keys, then texts and JSON containers): enough for an
agent's system prompt, tool schemas and recent messages, small enough not to matter."""
MEMO_TEXT_CHARS = 16_384
"""Longer texts are redacted every time rather than kept."""
MEMO_KEY_CHARS = 1024
"""Longer mapping keys are checked every time rather than kept."""
MEMO_DEPTH = 4
"""Containers nested deeper are not looked up in the memo (each lookup encodes the
container, so deep nesting would encode the same bytes once per level)."""
MISSING = object()
UNCHANGED = object()
"""Memo entry: redacting this value changes nothing (the value given is returned)."""


def memo_key(value: dict[Any, Any] | list[Any]) -> bytes | None:
    """A plain JSON container's JSON, the key its redacted copy is remembered under;
    None when it cannot be (foreign types, cycles, too large). Whether it nests too deep
    to be remembered is asked only when it is not found (`shallow`): what the memo holds
    was shallow enough when it was put there."""
    try:
        key = orjson.dumps(value, option=_KEY_JSON)
    except (orjson.JSONEncodeError, TypeError):
        return None
    return None if len(key) > MEMO_TEXT_CHARS else key


def shallow(key: bytes) -> bool:
    """Whether the container of JSON `key` may be remembered: found at any depth up to
    `MEMO_DEPTH`, it stays clear of the redactor's nesting limit (deeper, the result
    would depend on where it sits)."""
    return key.count(b"[") + key.count(b"{") + MEMO_DEPTH < 60


_KEY_JSON = (
    orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
"""Anything but plain JSON types raises (no default), so such containers are not kept."""


class Memo:
    """A bounded memo: forgets everything once its keys pass `budget` bytes (a cheap
    bound with no per-entry bookkeeping; racing writer threads only blur the count)."""

    __slots__ = ("_budget", "_size", "clean", "entries")

    def __init__(self, budget: int) -> None:
        self.entries: dict[Any, Any] = {}
        """What is remembered (hot paths read it directly; write through `put`)."""
        self.clean: set[Any] = {None}
        """None and every key remembered as `UNCHANGED`: values known to need nothing,
        so a set operation can clear several at once."""
        self._size = 0
        self._budget = budget

    def get(self, key: Any, default: Any = None) -> Any:
        found: Any = self.entries.get(key, default)
        return found

    def redacted(
        self,
        key: str | bytes,
        value: Any,
        redact: Callable[[], Any],
        keep: Callable[[Any], bool] | None = None,
    ) -> Any:
        """`value` redacted: remembered under `key`, else `redact()` (then remembered,
        if `keep(key)` says so); `value` itself when redacting changes nothing, so clean
        values are not copied."""
        found = self.entries.get(key, MISSING)
        if found is MISSING:
            found = redact()
            found = UNCHANGED if found == value else found
            if keep is None or keep(key):
                self.put(key, found)
        return value if found is UNCHANGED else found

    def put(self, key: str | bytes, value: Any) -> None:
        # the key, the dict entry and headers, and a kept copy (Python objects take ~8x
        # the bytes of their JSON)
        cost = len(key) * (1 if value is UNCHANGED or type(value) is bool else 9) + 100
        if self._size + cost > self._budget:
            self.entries.clear()
            self.clean.clear()
            self.clean.add(None)
            self._size = 0
        if type(key) is bytes:  # orjson's bytes keep a 4 KiB buffer: keep a right-sized copy
            key = bytes(memoryview(key))
        self.entries[key] = value
        if value is UNCHANGED:
            self.clean.add(key)
        self._size += cost
