"""How trace content travels to the browser: short previews in the tree, full payloads on
demand, and anything over the inline limit as a download with its size stated.

This keeps a 5 MB tool output from ever landing in the page unasked.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response

from myagent.trace.records import RunRecord, ThinkRecord, ToolRecord, Trace
from myagent.trace.serialize import is_truncated
from myagent.trace.summary import TraceSummary

RECORD_FIELDS = (
    "input",
    "system_prompts",
    "messages",
    "llm_response",
    "tool_calls",
    "input_params",
    "output",
    "inputs",
    "error",
    "stacktrace",
    "metadata",
)
"""Record fields that may be large, each servable alone."""

TRACE_FIELDS = ("input", "output", "error", "metadata")
"""Trace fields that may be large, each servable alone."""

PREVIEWED = ("input", "llm_response", "input_params", "output", "inputs")
"""Fields previewed in outlines; `messages` is not (each LLM call repeats the whole
conversation, so previewing it would cost the square of a long run's length)."""


def as_text(value: Any) -> str:
    """A payload as text: strings as they are, anything else as indented JSON."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def preview(value: Any, chars: int) -> dict[str, Any] | None:
    """A short text preview of a value, its full size, and whether storage cut it."""
    if value is None or value == [] or value == {}:
        return None
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return {
        "text": text if len(text) <= chars else text[:chars] + "…",
        "size": len(text),
        "clipped": len(text) > chars,
        "stored_truncated": isinstance(value, str) and is_truncated(value),
    }


def record_outline(run: RunRecord, chars: int) -> dict[str, Any]:
    """One record for the tree, waterfall and transcript: no payload over `chars`."""
    out: dict[str, Any] = {
        "run_id": run.run_id,
        "parent_id": run.parent_id,
        "run_type": run.run_type,
        "name": run.name,
        "start_us": run.start_us,
        "end_us": run.end_us,
        "duration": run.duration,
        "success": run.success,
        "error": preview(run.error, chars),
        "error_type": run.error_type,
        "has_stacktrace": bool(run.stacktrace),
        "previews": {
            name: p
            for name in PREVIEWED
            if hasattr(run, name) and (p := preview(getattr(run, name), chars)) is not None
        },
    }
    if isinstance(run, ThinkRecord):
        out.update(
            model=run.model,
            agent_name=run.agent_name,
            tokens_used=run.tokens_used,
            prompt_tokens=run.prompt_tokens,
            completion_tokens=run.completion_tokens,
            cost_usd=run.cost_usd,
            tool_calls=[_call_outline(call) for call in (run.tool_calls or [])],
        )
    elif isinstance(run, ToolRecord):
        out.update(tool_name=run.tool_name, tool_call_id=run.tool_call_id)
    return out


def _call_outline(call: Any) -> dict[str, Any]:
    """A tool call decision's id and name (arguments come with the full record)."""
    if isinstance(call, dict):
        function = call["function"] if isinstance(call.get("function"), dict) else {}
        return {
            "id": call.get("id"),
            "name": call.get("name") or function.get("name"),
        }
    return {"id": None, "name": str(call)[:100]}


def trace_outline(trace: Trace, chars: int) -> dict[str, Any]:
    """A trace for the detail page: its summary, previews, logs and every record outline."""
    summary = TraceSummary.from_trace(trace).to_dict()
    summary.update(
        input=preview(trace.input, chars * 4),
        output=preview(trace.output, chars * 4),
        logs=[log.to_dict() for log in list(trace.logs)[-1000:]],
        records=[record_outline(run, chars) for run in list(trace.runs)],
    )
    return summary


def bounded_field(value: Any, limit: int, url: str) -> Any:
    """`value` as is when its text fits `limit`; else a stand-in that states the size,
    carries a preview and points to the download."""
    text = as_text(value) if value is not None else ""
    if len(text) <= limit:
        return value
    return {
        "$large": True,
        "size": len(text),
        "preview": text[: min(limit, 16_384)],
        "download": url,
        "note": f"{len(text):,} characters; the first {min(limit, 16_384):,} are shown",
    }


def bounded_record(run: RunRecord, limit: int, base_url: str) -> dict[str, Any]:
    """A record's full data, each oversized field replaced by a download stand-in."""
    data = run.to_dict()
    for name in RECORD_FIELDS:
        if name in data and data[name] is not None:
            data[name] = bounded_field(data[name], limit, f"{base_url}/payload/{name}")
    return data


def json_response(data: Any) -> Response:
    """JSON encoded by orjson straight to bytes (large outlines skip pydantic)."""
    return Response(orjson.dumps(data), media_type="application/json")
