"""Find in one trace: which records contain a text, and where inside their payloads.

Every LLM call resends the conversation so far, so a value seen once matches every later
call's prompt. A record's *own* content is what it added: a tool's arguments and output,
an LLM call's response, tool calls and the messages that are new since the previous call;
the rest (earlier messages, a repeated system prompt or input) is its history. Records
whose own content matches come first; those matching only in history are told apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from myagent.trace.records import ThinkRecord, Trace
from myagent.trace.viewer.payloads import RECORD_FIELDS

SNIPPET_CHARS = 60
"""Characters kept on each side of a match in a snippet."""
MAX_PLACES = 5
"""Places reported per record (the first ones in field order)."""
HISTORY_FIELDS = ("messages", "system_prompts", "input")
"""Think-record fields that repeat what earlier calls already sent."""


@dataclass
class Place:
    """One match inside a record: its field, the JSON path of the value holding it, and
    the text around it (`before`, `match`, `after`)."""

    field: str
    path: str
    before: str
    match: str
    after: str
    history: bool = False


@dataclass
class Hit:
    """A record that contains the text: the fields, whether its own content does, and
    the first places."""

    run_id: str
    fields: list[str] = field(default_factory=list)
    own: bool = False
    places: list[Place] = field(default_factory=list)


def _key(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str)


def _places(value: Any, needle: str, path: str, out: list[tuple[str, str, int]]) -> None:
    """(path, text, index) of each string leaf (or key) containing `needle`, in order."""
    if len(out) >= MAX_PLACES:
        return
    if isinstance(value, str):
        at = value.lower().find(needle)
        if at >= 0:
            out.append((path, value, at))
    elif isinstance(value, dict):
        for key, item in value.items():
            _places(item, needle, f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _places(item, needle, f"{path}[{i}]", out)
    elif value is not None and not isinstance(value, bool):
        text = str(value)
        at = text.lower().find(needle)
        if at >= 0:
            out.append((path, text, at))


def _snippet(field_name: str, path: str, text: str, at: int, size: int, history: bool) -> Place:
    start, end = max(0, at - SNIPPET_CHARS), min(len(text), at + size + SNIPPET_CHARS)
    return Place(
        field=field_name,
        path=path,
        before=("…" if start else "") + text[start:at],
        match=text[at : at + size],
        after=text[at + size : end] + ("…" if end < len(text) else ""),
        history=history,
    )


def find_in_trace(trace: Trace, query: str) -> list[Hit]:
    """Records of `trace` containing `query` (any case), in record order, each with
    where it matched and whether the record's own content did."""
    needle = query.lower()
    seen_messages: set[bytes] = set()
    seen_values: dict[str, set[bytes]] = {"system_prompts": set(), "input": set()}
    hits = []
    for run in sorted(trace.runs, key=lambda r: r.start_us):
        data = run.to_dict()
        hit = Hit(run_id=run.run_id)
        for name in ("name", "tool_name", "model", *RECORD_FIELDS):
            value = data.get(name)
            if value is None:
                continue
            if name == "messages" and isinstance(value, list) and isinstance(run, ThinkRecord):
                items = [
                    (f"messages[{i}]", m, _key(m) in seen_messages) for i, m in enumerate(value)
                ]
            else:
                repeated = False
                if isinstance(run, ThinkRecord) and name in seen_values:
                    repeated = _key(value) in seen_values[name]
                items = [(name, value, repeated)]
            for path, item, history in items:
                found: list[tuple[str, str, int]] = []
                _places(item, needle, path, found)
                if not found:
                    continue
                if name not in hit.fields:
                    hit.fields.append(name)
                hit.own = hit.own or not history
                for where, text, at in found:
                    if len(hit.places) < MAX_PLACES:
                        hit.places.append(_snippet(name, where, text, at, len(needle), history))
        if isinstance(run, ThinkRecord):
            seen_messages.update(_key(m) for m in data.get("messages") or [])
            for name, values in seen_values.items():
                if data.get(name) is not None:
                    values.add(_key(data[name]))
        if hit.fields:
            hit.places.sort(key=lambda p: p.history)  # own places first
            hits.append(hit)
    return hits
