"""GenAI message shapes for opt-in content capture: chat messages → `{"role", "parts"}`.

The OpenTelemetry GenAI conventions put prompts and replies in `gen_ai.input.messages`
and `gen_ai.output.messages` as role + parts (text, tool_call, tool_call_response);
this turns OpenAI-format messages and our think records' replies into that shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from myagent.trace.serialize import to_jsonable


def text_part(text: Any) -> dict[str, Any]:
    """A text part: `{"type": "text", "content": ...}`."""
    return {"type": "text", "content": text if isinstance(text, str) else to_jsonable(text)}


def _parse_arguments(arguments: Any) -> Any:
    if isinstance(arguments, str):
        try:
            return orjson.loads(arguments)
        except orjson.JSONDecodeError:
            return arguments
    return arguments


def _tool_call_part(call: Any) -> dict[str, Any]:
    if not isinstance(call, Mapping):
        return {"type": "tool_call", "name": str(call)}
    function = call.get("function")
    source = function if isinstance(function, Mapping) else call
    return {
        "type": "tool_call",
        "id": call.get("id"),
        "name": source.get("name"),
        "arguments": _parse_arguments(source.get("arguments")),
    }


def _content_parts(content: Any) -> list[dict[str, Any]]:
    if content is None or content == "":
        return []
    if isinstance(content, list):
        parts: list[dict[str, Any]] = []
        for part in content:
            if isinstance(part, Mapping) and part.get("type") == "text":
                parts.append(text_part(part.get("text", part.get("content"))))
            elif isinstance(part, Mapping):
                parts.append(dict(to_jsonable(part)))
            else:
                parts.append(text_part(part))
        return parts
    return [text_part(content)]


def input_messages(messages: Sequence[Any]) -> list[dict[str, Any]]:
    """Chat messages (OpenAI format) in the GenAI `gen_ai.input.messages` shape."""
    result: list[dict[str, Any]] = []
    for message in messages:
        if not isinstance(message, Mapping):
            result.append({"role": "user", "parts": [text_part(message)]})
            continue
        role = str(message.get("role") or "user")
        if role == "tool":
            part = {
                "type": "tool_call_response",
                "id": message.get("tool_call_id"),
                "response": to_jsonable(message.get("content")),
            }
            result.append({"role": "tool", "parts": [part]})
            continue
        parts = _content_parts(message.get("content"))
        parts.extend(_tool_call_part(call) for call in message.get("tool_calls") or [])
        result.append({"role": role, "parts": parts})
    return result


def output_messages(
    response: Any, tool_calls: Sequence[Any], finish_reason: str | None
) -> list[dict[str, Any]]:
    """One assistant reply (text and tool calls) in the `gen_ai.output.messages` shape."""
    if isinstance(response, Mapping):
        parts = _content_parts(response.get("content"))
        tool_calls = list(tool_calls) or list(response.get("tool_calls") or [])
    else:
        parts = _content_parts(response)
    parts.extend(_tool_call_part(call) for call in tool_calls)
    reason = finish_reason or ("tool_call" if tool_calls else "stop")
    return [{"role": "assistant", "parts": parts, "finish_reason": reason}]


# -- the way back: GenAI and OpenInference messages → OpenAI-format chat messages ----


def _call_from_part(part: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": part.get("id"), "name": part.get("name"), "arguments": part.get("arguments")}


def chat_message(message: Any) -> dict[str, Any]:
    """One GenAI `{"role", "parts"}` message (decoded JSON) as an OpenAI-format chat message.

    Text parts join into `content`, `tool_call` parts become `tool_calls` (id, name,
    arguments) and a `tool_call_response` part a `tool` message; other parts are kept.
    Anything already in the OpenAI shape passes through.
    """
    if not isinstance(message, dict):
        return {"role": "user", "content": message}
    parts = message.get("parts")
    if not isinstance(parts, list):
        return dict(message)
    role = str(message.get("role") or "user")
    if len(parts) == 1:  # the usual message: one text part
        part = parts[0]
        if type(part) is dict and part.get("type") == "text":
            simple: dict[str, Any] = {"role": role, "content": part.get("content")}
            if message.get("finish_reason"):
                simple["finish_reason"] = message["finish_reason"]
            return simple
    texts: list[Any] = []
    calls: list[dict[str, Any]] = []
    other: list[Any] = []
    result: dict[str, Any] = {"role": role}
    for part in parts:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part, dict):
            texts.append(part.get("content"))
        elif kind == "tool_call" and isinstance(part, dict):
            calls.append(_call_from_part(part))
        elif kind == "tool_call_response" and isinstance(part, dict):
            result["tool_call_id"] = part.get("id")
            texts.append(part.get("response"))
        else:
            other.append(part)
    if len(texts) == 1 and not other:
        result["content"] = texts[0]
    elif texts or other:
        result["content"] = [text_part(t) for t in texts] + other
    if calls:
        result["tool_calls"] = calls
    if message.get("finish_reason"):
        result["finish_reason"] = message["finish_reason"]
    return result


def openinference_message(entry: Any) -> dict[str, Any]:
    """One unflattened OpenInference `llm.*_messages` entry as an OpenAI-format message."""
    message = entry.get("message", entry) if isinstance(entry, dict) else {}
    if not isinstance(message, dict):
        return {"role": "user", "content": message}
    result: dict[str, Any] = {"role": str(message.get("role") or "user")}
    content = message.get("content")
    contents = message.get("contents")
    if content is None and isinstance(contents, list):
        pieces = [c.get("message_content", c) for c in contents if isinstance(c, dict)]
        texts = [p.get("text") for p in pieces if isinstance(p, dict) and p.get("text")]
        content = "".join(str(t) for t in texts) if texts else None
    if content is not None:
        result["content"] = content
    calls = []
    for item in message.get("tool_calls") or []:
        call = item.get("tool_call", item) if isinstance(item, dict) else {}
        function = call.get("function") if isinstance(call, dict) else None
        function = function if isinstance(function, dict) else {}
        calls.append(
            {
                "id": call.get("id"),
                "name": function.get("name"),
                "arguments": _parse_arguments(function.get("arguments")),
            }
        )
    if calls:
        result["tool_calls"] = calls
    if message.get("tool_call_id"):
        result["tool_call_id"] = message["tool_call_id"]
    if message.get("name"):
        result["name"] = message["name"]
    return result


def parse_arguments(arguments: Any) -> Any:
    """Tool-call arguments as data when they are JSON text, else as given."""
    return _parse_arguments(arguments)
