"""The first place a replay parts from its recording, with a readable diff.

Values are compared in their stored form: live values go through the same JSON
conversion (and the same redactor) the recording went through, so a secret that was
redacted in the recording does not count as a change.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from myagent.trace.redaction import Redactor
from myagent.trace.serialize import to_jsonable

KINDS = (
    "messages",  # the prompt sent to the model differs
    "tools",  # the tool schemas offered to the model differ
    "tool_choice",  # the tool_choice sent differs
    "extra_call",  # the agent called the model more often than recorded
    "missing_call",  # the agent stopped before the recorded calls ran out
    "tool",  # a tool call the recording has no output for (name or arguments differ)
    "records",  # the records differ (kinds, tool names, tool arguments)
    "answer",  # the final answer differs
)


@dataclass(slots=True, frozen=True)
class Divergence:
    """Where the replay first differed: the LLM call number (`step`, 1-based), what
    differed (`kind`, one of KINDS), the recorded record's id, and a unified diff."""

    step: int
    kind: str
    summary: str
    diff: str = ""
    run_id: str | None = None

    def describe(self) -> str:
        """Summary and diff, for a report or a failing test."""
        head = f"divergence at step {self.step} ({self.kind}): {self.summary}"
        return f"{head}\n{self.diff}" if self.diff else head

    def to_dict(self) -> dict[str, Any]:
        """Plain data (stored in the replay trace's metadata)."""
        return {
            "step": self.step,
            "kind": self.kind,
            "summary": self.summary,
            "diff": self.diff,
            "run_id": self.run_id,
        }


class Normalizer:
    """Turns live values into the form the recording holds (JSON, redacted if it was)."""

    def __init__(self, redactor: Redactor | None) -> None:
        self.redactor = redactor

    def __call__(self, value: Any) -> Any:
        plain = to_jsonable(value)
        return self.redactor.value(plain) if self.redactor is not None else plain

    def like(self, value: Any, recorded: Any) -> Any:
        """`value` in the recording's form; when it already equals `recorded` (plain JSON
        data, nothing redacted: the common case) no conversion is needed."""
        return recorded if value == recorded else self(value)


def json_lines(value: Any) -> list[str]:
    """A value as indented, key-sorted JSON lines, for line diffs."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str).splitlines()


def unified(recorded: Any, replayed: Any, context: int = 3) -> str:
    """A unified diff of two values (recorded first), as readable JSON lines."""
    lines = difflib.unified_diff(
        json_lines(recorded), json_lines(replayed), "recorded", "replay", n=context, lineterm=""
    )
    return "\n".join(lines)


def message_diff(recorded: list[Any], replayed: list[Any]) -> tuple[str, str]:
    """(summary naming the first differing message, diff of that message onwards)."""
    first = next(
        (i for i, (a, b) in enumerate(zip(recorded, replayed, strict=False)) if a != b),
        min(len(recorded), len(replayed)),
    )
    if first < min(len(recorded), len(replayed)):
        role = recorded[first].get("role") if isinstance(recorded[first], dict) else "?"
        summary = f"message {first} ({role}) sent to the model differs"
    else:
        summary = (
            f"the replay sent {len(replayed)} messages, the recording {len(recorded)} "
            f"(first {first} equal)"
        )
    return summary, unified(recorded[first:], replayed[first:])


def tool_names(schemas: Any) -> list[str]:
    """The function names in a list of OpenAI tool schemas."""
    names = []
    for item in schemas or []:
        if isinstance(item, dict):
            function = item.get("function")
            names.append(str(function.get("name")) if isinstance(function, dict) else "?")
    return names


def schema_summary(recorded: Any, replayed: Any) -> str:
    """What changed between two tool schema lists, in words."""
    before, after = tool_names(recorded), tool_names(replayed)
    added = [n for n in after if n not in before]
    removed = [n for n in before if n not in after]
    if added or removed:
        parts = [f"added {added}" if added else "", f"removed {removed}" if removed else ""]
        return "tools offered to the model changed: " + ", ".join(p for p in parts if p)
    changed = [
        name for name, a, b in zip(before, recorded or [], replayed or [], strict=False) if a != b
    ]
    if changed:
        return f"schema of tool(s) {changed} changed"
    return "tool order changed"
