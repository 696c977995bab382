"""The playground: a recorded LLM call, edited and sent again from the server.

`GET /api/playground/config` says whether a model endpoint is configured and which
models to offer (the endpoint's `/v1/models`, then the price table's); `GET
/api/playground/source/{trace}/{run}` gives a think record's prompt in editable form;
`POST /api/playground/run` sends the edited prompt to the configured OpenAI-compatible
endpoint (the API key stays on the server), streams the answer as server-sent events,
and saves the run as a trace tagged `playground` linked to its source record.
Runs are allowed with a viewer token or from this machine only; the request must be
JSON and carry `X-Myagent-Request: 1` (a page on another site cannot send that).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import openai
from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from myagent.access import is_loopback
from myagent.trace import tool_schemas
from myagent.trace.ids import now_us
from myagent.trace.records import ThinkRecord, Trace, TraceStatus
from myagent.trace.redaction import Redactor
from myagent.trace.viewer.params import ID_PATTERN
from myagent.trace.viewer.routes.traces import Settings, Source
from myagent.trace.viewer.settings import ViewerSettings
from myagent.trace.viewer.source import TraceSource

router = APIRouter(prefix="/api/playground", tags=["playground"])
TAG = "playground"
NOT_CONFIGURED = (
    "No model endpoint is configured for the playground: start the viewer with "
    "OPENAI_BASE_URL (an OpenAI-compatible endpoint) and/or OPENAI_API_KEY set."
)
_PRICE_PREFIXES = ("gpt-", "o1", "o3", "o4", "chatgpt-")


class PlaygroundRun(BaseModel):
    """An edited prompt to send: messages (without the system prompt), the system
    prompt, model, temperature, tool schemas and tool_choice, and the record it came from."""

    trace_id: str | None = Field(None, pattern=ID_PATTERN)
    run_id: str | None = Field(None, pattern=ID_PATTERN)
    model: str = Field(min_length=1, max_length=200)
    system_prompt: str | None = None
    messages: list[dict[str, Any]] = Field(min_length=1, max_length=2000)
    temperature: float | None = Field(None, ge=0, le=2)
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None


def _allowed(request: Request) -> None:
    """Runs spend money: only with a viewer token (checked by the middleware) or from
    loopback. The middleware's write guard already admits only same-origin JSON
    requests carrying X-Myagent-Request."""
    settings: ViewerSettings = request.app.state.settings
    client = request.client.host if request.client else ""
    if not settings.token and not is_loopback(client):
        raise HTTPException(403, "the playground runs only on loopback or with a viewer token")


def _client(settings: ViewerSettings) -> openai.AsyncOpenAI | None:
    """A client for the configured endpoint, or None when none is configured."""
    if not settings.llm_base_url and not settings.llm_api_key:
        return None
    return openai.AsyncOpenAI(
        base_url=settings.llm_base_url or None,
        api_key=settings.llm_api_key or "not-needed",
        timeout=120,
        max_retries=0,
    )


def _price_table_models() -> list[str]:
    """Chat models the price table knows for OpenAI (the wire format we speak)."""
    try:
        from genai_prices import data

        provider = next(p for p in data.providers if p.id == "openai")
        return sorted(m.id for m in provider.models if m.id.startswith(_PRICE_PREFIXES))
    except Exception:
        return []


@router.get("/config")
async def config(cfg: Settings) -> dict[str, Any]:
    """Whether an endpoint is configured (with a message when not), and the models to
    offer: the endpoint's own list first, then the price table's."""
    client = _client(cfg)
    models: list[dict[str, str]] = []
    if client is not None:
        try:
            async with client:
                listed = await client.with_options(timeout=5).models.list()
                models = [{"id": m.id, "source": "endpoint"} async for m in listed]
        except Exception:
            models = []
    known = {m["id"] for m in models}
    models += [{"id": m, "source": "prices"} for m in _price_table_models() if m not in known]
    return {
        "configured": client is not None,
        "endpoint": cfg.llm_base_url or ("https://api.openai.com/v1" if client else None),
        "message": None if client is not None else NOT_CONFIGURED,
        "default_model": cfg.llm_model,
        "models": models,
    }


@router.get("/source/{trace_id}/{run_id}")
async def source(
    src: Source,
    trace_id: Annotated[str, Path(pattern=ID_PATTERN)],
    run_id: Annotated[str, Path(pattern=ID_PATTERN)],
) -> dict[str, Any]:
    """A think record's prompt in editable form, with the recorded answer to compare."""
    trace = await src.trace(trace_id)
    record = next((r for r in trace.runs if r.run_id == run_id), None) if trace else None
    if trace is None or not isinstance(record, ThinkRecord):
        raise HTTPException(404, f"no think record {run_id} in trace {trace_id}")
    messages = [m for m in record.messages if isinstance(m, dict)]
    system = None
    if messages and messages[0].get("role") == "system":
        system = str(messages.pop(0).get("content") or "")
    elif record.system_prompts:
        system = str(record.system_prompts[0])
    return {
        "trace_id": trace_id,
        "run_id": run_id,
        "agent_name": record.agent_name,
        "model": record.model,
        "temperature": record.metadata.get("temperature"),
        "system_prompt": system,
        "messages": messages,
        "tools": tool_schemas.schemas_of(trace.metadata, record.metadata),
        "tool_choice": record.metadata.get("tool_choice"),
        "recorded": {"content": record.llm_response, "tool_calls": record.tool_calls},
    }


def _event(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


class _Answer:
    """The streamed answer put together: text, tool calls (by index), usage, finish."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}
        self.usage: Any = None
        self.model: str | None = None
        self.finish_reason: str | None = None
        self.error: str | None = None

    def add(self, chunk: Any) -> str:
        """Take one stream chunk; returns its new text."""
        self.model = chunk.model or self.model
        if chunk.usage is not None:
            self.usage = chunk.usage
        text = ""
        for choice in chunk.choices:
            delta = choice.delta
            if delta.content:
                text += delta.content
            for call in delta.tool_calls or []:
                slot = self.calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                slot["id"] = call.id or slot["id"]
                if call.function is not None:
                    slot["name"] += call.function.name or ""
                    slot["arguments"] += call.function.arguments or ""
            self.finish_reason = choice.finish_reason or self.finish_reason
        self.parts.append(text)
        return text

    @property
    def content(self) -> str | None:
        text = "".join(self.parts)
        return text or (None if self.calls else "")

    @property
    def tool_calls(self) -> list[dict[str, str]]:
        return [self.calls[i] for i in sorted(self.calls)]


def _trace(
    run: PlaygroundRun, messages: list[dict[str, Any]], answer: _Answer, start: int
) -> Trace:
    """The playground run as a trace: one think record, linked to its source record."""
    user = next((m.get("content") for m in reversed(run.messages) if m.get("role") == "user"), "")
    trace = Trace(
        name=TAG,
        agent_name=TAG,
        input=user,
        output=answer.content if answer.error is None else None,
        tags=[TAG],
        start_us=start,
        metadata={"playground_of": {"trace_id": run.trace_id, "run_id": run.run_id}},
    )
    metadata: dict[str, Any] = {
        "temperature": run.temperature,
        "finish_reason": answer.finish_reason,
    }
    if run.tools:
        metadata[tool_schemas.KEY] = tool_schemas.remember(trace.metadata, run.tools)
    if run.tool_choice not in (None, "auto"):
        metadata["tool_choice"] = run.tool_choice
    usage = answer.usage
    record = ThinkRecord(
        name="think",
        trace_id=trace.trace_id,
        agent_name=TAG,
        input=user,
        system_prompts=[run.system_prompt] if run.system_prompt else [],
        messages=messages,
        llm_response=answer.content,
        tool_calls=answer.tool_calls,
        model=answer.model or run.model,
        prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
        completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
        tokens_used=getattr(usage, "total_tokens", 0) or 0,
        start_us=start,
        end_us=now_us(),
        success=answer.error is None,
        error=answer.error,
        error_type=None if answer.error is None else "LLMError",
        metadata=metadata,
    )
    trace.runs.append(record)
    trace.end_us = record.end_us
    trace.status = TraceStatus.SUCCESS if answer.error is None else TraceStatus.ERROR
    trace.error = answer.error
    return trace


async def _save(src: TraceSource, trace: Trace) -> None:
    """Store through the same redaction every stored trace gets."""
    manager = src.manager
    redactor = manager.redactor if manager is not None else Redactor()
    redact = manager is None or manager.config.redact
    await src.storage.store_traces([redactor.redact_trace(trace) if redact else trace])


async def _stream(
    client: openai.AsyncOpenAI, run: PlaygroundRun, src: TraceSource
) -> AsyncIterator[bytes]:
    messages: list[dict[str, Any]] = []
    if run.system_prompt:
        messages.append({"role": "system", "content": run.system_prompt})
    messages += run.messages
    options: dict[str, Any] = {"stream_options": {"include_usage": True}}
    if run.temperature is not None:
        options["temperature"] = run.temperature
    if run.tools:
        options["tools"] = run.tools
        if run.tool_choice is not None:
            options["tool_choice"] = run.tool_choice
    answer = _Answer()
    start = now_us()
    try:
        async with client:
            create: Any = client.chat.completions.create  # messages are the user's own JSON
            stream = await create(model=run.model, messages=messages, stream=True, **options)
            async for chunk in stream:
                text = answer.add(chunk)
                if text:
                    yield _event("delta", {"text": text})
    except Exception as exc:  # the endpoint's error is the run's result, shown and saved
        answer.error = f"{type(exc).__name__}: {exc}"
        yield _event("error", {"message": answer.error})
    trace = _trace(run, messages, answer, start)
    saved: str | None = trace.trace_id
    try:
        await _save(src, trace)
    except Exception as exc:
        saved = None
        yield _event("error", {"message": f"the run could not be saved: {exc}"})
    yield _event(
        "done",
        {
            "content": answer.content,
            "tool_calls": answer.tool_calls,
            "model": answer.model or run.model,
            "finish_reason": answer.finish_reason,
            "tokens": trace.tokens_used,
            "error": answer.error,
            "trace_id": saved,
        },
    )


@router.post("/run", dependencies=[Depends(_allowed)], response_class=StreamingResponse)
async def run(body: PlaygroundRun, src: Source, cfg: Settings) -> StreamingResponse:
    """Send the edited prompt to the configured endpoint; stream `delta` events (text),
    then `done` (answer, tool calls, tokens, the saved trace's id), or `error`."""
    client = _client(cfg)
    if client is None:
        raise HTTPException(409, NOT_CONFIGURED)
    return StreamingResponse(
        _stream(client, body, src),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )
