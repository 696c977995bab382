"""An offline, deterministic stand-in model for tests and the demo (no network, no real LLM)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from myagent.llm.base import LLMError, LLMResponse, LLMUsage, TokenCallback, ToolCall, emit_token

ScriptedToolCall = tuple[str, dict[str, Any] | str]
"""``(tool name, arguments)``: a dict is sent as JSON, a string as is (even if broken)."""

ScriptStep = str | Sequence[ScriptedToolCall | ToolCall] | LLMResponse | BaseException
"""A final answer, a list of tool calls, a ready response, or an exception to raise."""


def _wordset(words: str) -> frozenset[str]:
    """A set of the space-separated words."""
    return frozenset(words.split())


_GENERIC_WORDS = _wordset(
    "a an and are by do for from get give how in is it me of on or please run set tell the "
    "this to tool use what when where which with you your current data info value"
)
_CALC_WORDS = _wordset(
    "calc calculate calculator calculation compute math arithmetic expression evaluate"
)
_EXPRESSION_PARAMS = _wordset("expression expr formula equation math calculation computation input")
_PLACE_PARAMS = _wordset("city location place town country region where destination")
_QUERY_PARAMS = _wordset("query q search search_query topic term terms keywords question")
_SYNONYMS = {
    "weather": _wordset("temperature forecast rain raining sunny hot cold degrees humid wind"),
    "time": _wordset("clock hour"),
    "search": _wordset("find look lookup google"),
}
_PLACE_STOP_WORDS = _wordset("please today now tomorrow tonight right and or with this weekend")
_SPOKEN_OPERATORS = (
    (r"\bplus\b", "+"),
    (r"\bminus\b", "-"),
    (r"\bmultiplied by\b", "*"),
    (r"\btimes\b", "*"),
    (r"\bdivided by\b", "/"),
)


class ScriptedLLM:
    """Offline stand-in model for tests and the demo: replays a script, or follows simple rules.

    It never calls a real LLM; its ``model`` name says "scripted" so traces show it.
    """

    description = (
        "Offline scripted stand-in model: no real LLM is called. It replays a given script, "
        "or picks a tool by matching words and answers with the tool's output."
    )

    def __init__(
        self, script: Iterable[ScriptStep] | None = None, model: str = "scripted-offline"
    ) -> None:
        self.model = model
        self.script: list[ScriptStep] | None = list(script) if script is not None else None
        self.calls: list[dict[str, Any]] = []
        self._position = 0
        self._call_counter = 0

    def __repr__(self) -> str:
        mode = "rules" if self.script is None else f"script of {len(self.script)} steps"
        return f"ScriptedLLM(model={self.model!r}, {mode})"

    @property
    def remaining(self) -> int | None:
        """Steps left in the script, or None in rule-based mode."""
        return None if self.script is None else len(self.script) - self._position

    async def chat(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        on_token: TokenCallback | None = None,
    ) -> LLMResponse:
        """Answer from the script (or the rules); stream the final text to ``on_token`` if given."""
        self.calls.append(
            {"messages": [dict(m) for m in messages], "tools": tools, "tool_choice": tool_choice}
        )
        if self.script is None:
            step: ScriptStep = _decide(messages, tools or [], tool_choice)
            raw: dict[str, Any] = {"scripted": True, "mode": "rules"}
        else:
            if self._position >= len(self.script):
                raise LLMError(
                    f"ScriptedLLM script exhausted: all {len(self.script)} steps were used",
                    model=self.model,
                )
            step = self.script[self._position]
            raw = {"scripted": True, "mode": "script", "step": self._position}
            self._position += 1
        response = self._build(step, messages, raw)
        if on_token is not None and response.content:
            for chunk in _chunks(response.content):
                await emit_token(on_token, chunk)
        return response

    def _build(
        self, step: ScriptStep, messages: list[dict[str, Any]], raw: dict[str, Any]
    ) -> LLMResponse:
        """Turn one step into a response with deterministic fake usage."""
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, LLMResponse):
            return step
        prompt_tokens = max(1, sum(_message_length(m) for m in messages) // 4)
        if isinstance(step, str):
            content: str | None = step
            calls: list[ToolCall] = []
            finish_reason = "stop"
        else:
            content = None
            calls = [self._tool_call(item) for item in step]
            finish_reason = "tool_calls"
        produced = len(content or "") + sum(len(c.name) + len(c.arguments) for c in calls)
        completion_tokens = max(1, produced // 4)
        return LLMResponse(
            content=content,
            tool_calls=calls,
            model=self.model,
            usage=LLMUsage(prompt_tokens, completion_tokens, prompt_tokens + completion_tokens),
            cost_usd=None,
            finish_reason=finish_reason,
            raw=raw,
        )

    def _tool_call(self, item: ScriptedToolCall | ToolCall) -> ToolCall:
        """Give a scripted call a deterministic id; dict arguments become JSON text."""
        if isinstance(item, ToolCall):
            return item
        name, arguments = item
        self._call_counter += 1
        text = (
            arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
        )
        return ToolCall(id=f"call_scripted_{self._call_counter}", name=name, arguments=text)


def _decide(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]], tool_choice: Any
) -> ScriptStep:
    """The rule-based mode: call matching tools for a user message, then report their output."""
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        return _summarise_tool_results(messages)
    text = _text(last.get("content")) if last.get("role") == "user" else ""
    if tools and text and tool_choice != "none":
        calls = _choose_calls(text, tools, tool_choice)
        if calls:
            return calls
    said = text or next(
        (_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), ""
    )
    return f"I am an offline scripted model and have no tool for this. You said: {said}"


def _choose_calls(
    text: str, tools: list[dict[str, Any]], tool_choice: Any
) -> list[ScriptedToolCall]:
    """A call to the best-matching tool, or one per clause when clauses ask for other tools."""
    picked: list[tuple[dict[str, Any], str]] = []
    if isinstance(tool_choice, dict):
        forced = (tool_choice.get("function") or {}).get("name")
        picked = [(f, text) for f in map(_function, tools) if f.get("name") == forced][:1]
    else:
        clauses = [c for c in re.split(r"[;?!]|\band\b|\balso\b|\bthen\b", text) if c.strip()]
        if len(clauses) > 1:
            for clause in clauses:
                function = _best_function(clause, tools)
                if function is not None and all(function is not f for f, _ in picked):
                    picked.append((function, clause))
        if len(picked) < 2:
            function = _best_function(text, tools)
            if function is None and tool_choice == "required":
                function = _function(tools[0])
            picked = [(function, text)] if function is not None else []
    return [(str(f.get("name", "")), _arguments_for(f, clause)) for f, clause in picked]


def _function(tool: dict[str, Any]) -> dict[str, Any]:
    """The function part of an OpenAI tool dict (or the dict itself if it is already that)."""
    function = tool.get("function")
    return function if isinstance(function, dict) else tool


def _best_function(text: str, tools: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The tool whose name (3 points a word) or description (1 point) words match the text best."""
    words = set(_words(text))
    has_math = _expression(text) is not None
    best: dict[str, Any] | None = None
    best_score = 0
    for function in map(_function, tools):
        name_words = _words(_split_name(str(function.get("name", ""))))
        desc_words = {w for w in _words(function.get("description", "")) if len(w) >= 4}
        score = 3 * sum(1 for w in name_words if w not in _GENERIC_WORDS and _matches(w, words))
        score += sum(1 for w in desc_words if w not in _GENERIC_WORDS and _matches(w, words))
        if has_math and _CALC_WORDS.intersection([*name_words, *desc_words]):
            score += 5
        if score > best_score:
            best, best_score = function, score
    return best


def _arguments_for(function: dict[str, Any], text: str) -> dict[str, Any]:
    """Fill the tool's parameters with plausible values pulled from the user's text."""
    schema = function.get("parameters") or {}
    properties: dict[str, Any] = schema.get("properties") or {}
    required: list[str] = list(schema.get("required") or [])
    tool_name = _split_name(str(function.get("name", "")))
    name_and_description = f"{tool_name} {function.get('description', '')}"
    is_calc = bool(_CALC_WORDS.intersection(_words(name_and_description)))
    arguments: dict[str, Any] = {}
    for name in required or list(properties):
        value = _value_for(name, properties.get(name) or {}, text, is_calc)
        if value is None and name in required:
            value = text
        if value is not None:
            arguments[name] = value
    return arguments


def _value_for(name: str, schema: dict[str, Any], text: str, is_calc: bool) -> Any:
    """One argument value, guessed from the parameter's name and JSON Schema type."""
    kind = schema.get("type", "string")
    enum = schema.get("enum")
    if enum:
        lowered = text.lower()
        return next((v for v in enum if str(v).lower() in lowered), enum[0])
    if kind in ("integer", "number"):
        match = re.search(r"-?\d+(?:\.\d+)?", text)
        if match is None:
            return None
        number = float(match.group())
        return int(number) if kind == "integer" or number.is_integer() else number
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    if kind == "object":
        return {}
    key = name.lower()
    if key in _EXPRESSION_PARAMS or is_calc:
        return _expression(text) or text
    if key in _PLACE_PARAMS or any(p in key for p in ("city", "location")):
        return _place(text)
    if key in _QUERY_PARAMS:
        match = re.search(r"\b(?:for|about)\s+(.+)", text)
        if match is not None:
            return match.group(1).strip().rstrip("?!. ")
    return text.strip().rstrip("?!. ")


def _summarise_tool_results(messages: list[dict[str, Any]]) -> str:
    """A final answer quoting every tool result that came back after the last assistant turn."""
    index = len(messages)
    while index > 0 and messages[index - 1].get("role") == "tool":
        index -= 1
    results = messages[index:]
    names: dict[str, str] = {}
    if index > 0 and messages[index - 1].get("role") == "assistant":
        for call in messages[index - 1].get("tool_calls") or []:
            names[str(call.get("id"))] = str((call.get("function") or {}).get("name", "tool"))
    parts = [
        f"{names.get(str(m.get('tool_call_id')), m.get('name') or 'the tool')}: "
        f"{_text(m.get('content')).strip()}"
        for m in results
    ]
    return "Here is what I found. " + "; ".join(parts)


def _expression(text: str) -> str | None:
    """The longest arithmetic expression in the text (e.g. ``12 * (3 + 4)``), if any."""
    spoken = text.lower()
    for pattern, operator in _SPOKEN_OPERATORS:
        spoken = re.sub(pattern, operator, spoken)
    candidates = [
        c.strip()
        for c in re.findall(r"[\d.\s+\-*/()%^]+", spoken)
        if re.search(r"\d\s*\)*\s*[-+*/%^]\s*\(*\s*-?\d", c)
    ]
    return max(candidates, key=len) if candidates else None


def _place(text: str) -> str:
    """A place name: capitalised words after in/for/at, else the last capitalised word."""
    match = re.search(r"\b(?:in|for|at|near|of)\s+([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)", text)
    if match is not None:
        return match.group(1)
    match = re.search(r"\b(?:in|for|at|near)\s+([A-Za-z][\w' -]*)", text)
    if match is not None:
        place = []
        for word in match.group(1).split()[:3]:
            if word.lower() in _PLACE_STOP_WORDS:
                break
            place.append(word)
        if place:
            return " ".join(place)
    capitalised = re.findall(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w'-]+", text)
    if capitalised:
        return str(capitalised[-1])
    words = re.findall(r"[\w'-]+", text)
    return words[-1] if words else text


def _split_name(name: str) -> str:
    """``get_weather``/``getWeather`` -> ``get weather``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").replace("-", " ")


def _words(text: Any) -> list[str]:
    """Lower-case alphanumeric words."""
    return re.findall(r"[a-z0-9]+", str(text).lower())


def _matches(word: str, words: set[str]) -> bool:
    """Whole-word match, or a shared stem (``calculate`` ~ ``calculator``)."""
    if word in words or not words.isdisjoint(_SYNONYMS.get(word, ())):
        return True
    for other in words:
        shortest = min(len(word), len(other))
        if shortest < 4:
            continue
        common = len(_common_prefix(word, other))
        if common >= 4 and common >= shortest - 2:
            return True
    return False


def _common_prefix(a: str, b: str) -> str:
    """The longest shared beginning of two words."""
    size = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        size += 1
    return a[:size]


def _text(content: Any) -> str:
    """Plain text of a message's content, whether a string or a list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content
        )
    return str(content)


def _message_length(message: dict[str, Any]) -> int:
    """Characters of text and tool arguments in a message, for the fake token counts."""
    length = len(_text(message.get("content")))
    for call in message.get("tool_calls") or []:
        length += len(str((call.get("function") or {}).get("arguments", "")))
    return length


def _chunks(text: str, pieces: int = 4) -> list[str]:
    """Split text at word starts into a few chunks whose concatenation is the text."""
    words = re.split(r"(?<=\s)(?=\S)", text)
    size = max(1, math.ceil(len(words) / pieces))
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]
