"""Query parameters of the trace list, count, live feed and export: one TraceFilter."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import HTTPException, Query

from myagent.trace.filters import TRACE_ORDERS, TraceFilter
from myagent.trace.importing import ID_PATTERN as ID_PATTERN  # ids the API accepts
from myagent.trace.scores import ScoreCondition, ScoreError, parse_score_condition

MAX_COUNT = 2**62
"""Largest token count or offset accepted: beyond it SQLite integers overflow (a 500)."""
MAX_SECONDS = 1e9
"""Largest duration filter (about 31 years): beyond it microseconds overflow."""
MAX_COST = 1e12
"""Largest cost filter in USD."""
MAX_REPEATED = 50
"""Most times one of tag/tool/meta/model may repeat: each adds an expression to the query
(thousands made SQLite fail with "Expression tree is too large")."""
MAX_LISTED = 1000
"""Most values of agent/session/trace_id/status (each one list the query tests against)."""
INT64 = (-(2**63), 2**63 - 1)
"""The integers SQLite and PostgreSQL can compare with: larger ones are a 422, not a 500."""


def _check_int64(value: Any, what: str) -> None:
    """422 when `value` (a JSON value) holds an integer outside 64 bits."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, int) and not isinstance(item, bool):
            if not INT64[0] <= item <= INT64[1]:
                raise HTTPException(422, f"{what}: integers must fit in 64 bits (got {item})")
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _check_repeats(**values: list[str] | None) -> None:
    """422 naming the parameter given more times than the limit allows."""
    for name, items in values.items():
        limit = MAX_LISTED if name in ("agent", "session", "trace_id", "status") else MAX_REPEATED
        if items and len(items) > limit:
            raise HTTPException(
                422, f"'{name}' is repeated {len(items)} times; at most {limit} are accepted"
            )


OrderBy = Literal["start_time", "-start_time", "duration", "-duration", "tokens", "-tokens",
                  "cost", "-cost"]  # fmt: skip
assert set(OrderBy.__args__) == set(TRACE_ORDERS)  # type: ignore[attr-defined]


def _metadata(items: list[str]) -> dict[str, Any] | None:
    """`key=value` compares with a string; `key:=json` with a JSON value (42, true, null)."""
    if not items:
        return None
    found: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.rstrip(":"):
            raise HTTPException(422, f"meta {item!r}: expected key=value or key:=json")
        if key.endswith(":"):
            try:
                found[key[:-1]] = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise HTTPException(
                    422, f"meta {item!r}: the value after := must be JSON"
                ) from None
            _check_int64(found[key[:-1]], f"meta {key[:-1]!r}")
        else:
            found[key] = raw
    return found


def _scores(items: list[str]) -> list[ScoreCondition] | None:
    """`score.NAME >= 0.8`, `has score NAME`, `no human score` (see docs/evaluate.md)."""
    try:
        return [parse_score_condition(item) for item in items] or None
    except ScoreError as exc:
        raise HTTPException(422, str(exc)) from None


def trace_filter(
    agent: Annotated[list[str] | None, Query(description="agent name (repeatable)")] = None,
    session: Annotated[list[str] | None, Query(description="session id (repeatable)")] = None,
    trace_id: Annotated[list[str] | None, Query(description="trace id (repeatable)")] = None,
    status: Annotated[
        list[str] | None, Query(description="running, success, error, cancelled")
    ] = None,
    start: Annotated[datetime | None, Query(description="started at or after (ISO 8601)")] = None,
    end: Annotated[datetime | None, Query(description="started at or before (ISO 8601)")] = None,
    has_errors: Annotated[bool | None, Query(description="the trace or a record failed")] = None,
    min_duration: Annotated[
        float | None, Query(ge=0, le=MAX_SECONDS, description="seconds")
    ] = None,
    max_duration: Annotated[
        float | None, Query(ge=0, le=MAX_SECONDS, description="seconds")
    ] = None,
    tool: Annotated[list[str] | None, Query(description="tool used (repeatable)")] = None,
    tools_match: Annotated[Literal["all", "any"], Query()] = "all",
    min_tokens: Annotated[int | None, Query(ge=0, le=MAX_COUNT)] = None,
    max_tokens: Annotated[int | None, Query(ge=0, le=MAX_COUNT)] = None,
    min_cost: Annotated[float | None, Query(ge=0, le=MAX_COST, description="USD")] = None,
    model: Annotated[list[str] | None, Query(description="model used (repeatable)")] = None,
    q: Annotated[
        str | None, Query(max_length=500, description="full-text search of inputs, outputs, errors")
    ] = None,
    tag: Annotated[list[str] | None, Query(description="tag the trace must carry")] = None,
    meta: Annotated[
        list[str] | None, Query(description="metadata key=value (string) or key:=json")
    ] = None,
    score: Annotated[
        list[str] | None,
        Query(
            max_length=20,
            description="score condition: 'score.NAME >= 0.8', 'has score NAME', "
            "'no human score' (repeatable)",
        ),
    ] = None,
) -> TraceFilter:
    """Every TraceFilter field as a query parameter."""
    _check_repeats(
        agent=agent, session=session, trace_id=trace_id, status=status,
        tool=tool, model=model, tag=tag, meta=meta,
    )  # fmt: skip
    return TraceFilter(
        agent_names=agent or None,
        session_ids=session or None,
        trace_ids=trace_id or None,
        statuses=status or None,
        start_time=start,
        end_time=end,
        has_errors=has_errors,
        min_duration=min_duration,
        max_duration=max_duration,
        tools_used=tool or None,
        tools_match=tools_match,
        min_tokens=min_tokens,
        max_tokens=max_tokens,
        min_cost=min_cost,
        models=model or None,
        text=q or None,
        tags=tag or None,
        metadata=_metadata(meta or []),
        scores=_scores(score or []),
    )


def encode_cursor(value: float, trace_id: str) -> str:
    """An opaque keyset cursor: the last row's sort value and trace id."""
    return base64.urlsafe_b64encode(orjson.dumps([value, trace_id])).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[float, str] | None:
    """The (sort value, trace id) inside a cursor; 422 when it is not one of ours."""
    if not cursor:
        return None
    try:
        value, trace_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(value, int | float) or not isinstance(trace_id, str):
            raise ValueError
        if isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
            raise ValueError
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise HTTPException(422, "invalid cursor") from None
    return value, trace_id
