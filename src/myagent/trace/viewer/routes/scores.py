"""Scores in the viewer: score a trace or a record, list a trace's scores, the score
columns of a list page, score names and configs, a score's mean over time, and the saved
annotation queues."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field

from myagent.trace.ids import now_us
from myagent.trace.redaction import Redactor
from myagent.trace.scores import (
    SCORE_SOURCES,
    Score,
    ScoreConfig,
    ScoreError,
    make_score,
)
from myagent.trace.scoring import redact_score
from myagent.trace.storage.base import TraceStorage
from myagent.trace.viewer.params import ID_PATTERN
from myagent.trace.viewer.routes.traces import Filter, Source, TraceId
from myagent.trace.viewer.source import TraceSource

router = APIRouter(prefix="/api", tags=["scores"])

MAX_SCORES_PER_TRACE = 100_000
"""Scores one trace may carry; more are refused (409) so one trace cannot fill storage."""


class ScoreIn(BaseModel):
    """A score from the viewer or an API client."""

    name: str = Field(max_length=100)
    value: bool | float | str
    comment: str | None = Field(default=None, max_length=10_000)
    record_id: str | None = Field(default=None, pattern=ID_PATTERN)
    source: str = "human"
    author: str | None = Field(default=None, max_length=200)


class ScoreConfigIn(BaseModel):
    """What values a score name takes."""

    name: str = Field(max_length=100)
    data_type: str = "numeric"
    categories: list[str] | None = Field(default=None, max_length=100)
    min_value: float | None = None
    max_value: float | None = None
    description: str | None = Field(default=None, max_length=2000)


def _storage(src: TraceSource) -> TraceStorage:
    if not src.storage.supports_eval:
        raise HTTPException(501, "this storage keeps no scores")
    return src.storage


def _redactor(src: TraceSource) -> Redactor | None:
    """The manager's redactor when the viewer serves one (and it redacts), else the
    default redactor: scores never reach storage unredacted."""
    manager = src.manager
    if manager is None:
        return Redactor()
    return manager.redactor if manager.config.redact else None


async def store_checked(src: TraceSource, trace_id: str, body: ScoreIn) -> Score:
    """Validate a score (404 unknown trace or record, 422 bad value, 409 too many),
    redact it and store it."""
    storage = _storage(src)
    trace = await src.trace(trace_id)
    if trace is None:
        raise HTTPException(404, "no such trace")
    if body.record_id is not None and not any(r.run_id == body.record_id for r in trace.runs):
        raise HTTPException(404, "no such record in this trace")
    if body.source not in SCORE_SOURCES:
        raise HTTPException(422, f"source must be one of {SCORE_SOURCES}")
    if await storage.count_scores(trace_ids=[trace_id]) >= MAX_SCORES_PER_TRACE:
        raise HTTPException(409, f"a trace carries at most {MAX_SCORES_PER_TRACE} scores")
    configs = {c.name: c for c in await storage.score_configs()}
    try:
        score = make_score(
            trace_id,
            body.name,
            body.value,
            run_id=body.record_id,
            comment=body.comment or None,
            source=body.source,
            author=body.author,
            config=configs.get(body.name),
        )
    except ScoreError as exc:
        raise HTTPException(422, str(exc)) from None
    score = redact_score(score, _redactor(src))
    await storage.store_scores([score])
    return score


@router.post("/traces/{trace_id}/scores", status_code=201)
async def add_score(trace_id: TraceId, body: ScoreIn, src: Source) -> dict[str, Any]:
    """Score a trace (or one of its records with `record_id`): a number, a boolean or a
    label, with an optional comment. 404 unknown trace, 422 bad value (NaN, a label
    outside the score's categories)."""
    return (await store_checked(src, trace_id, body)).to_dict()


@router.get("/traces/{trace_id}/scores")
async def list_scores(
    trace_id: TraceId,
    src: Source,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """A trace's scores, oldest first, a page at a time, with the total."""
    storage = _storage(src)
    items = await storage.query_scores(trace_ids=[trace_id], limit=limit, offset=offset)
    total = await storage.count_scores(trace_ids=[trace_id])
    return {"items": [s.to_dict() for s in items], "total": total}


@router.delete("/scores/{score_id}")
async def delete_score(
    score_id: Annotated[str, Path(pattern=ID_PATTERN)], src: Source
) -> dict[str, int]:
    """Delete one score."""
    return {"deleted": await _storage(src).delete_scores([score_id])}


@router.get("/scores/columns")
async def score_columns(
    src: Source,
    trace_id: Annotated[list[str], Query(max_length=500)],
    name: Annotated[list[str], Query(max_length=20)],
) -> dict[str, dict[str, Any]]:
    """The list's score columns: per trace id, the latest value of each named score (a
    number, true/false, a label)."""
    scores = await _storage(src).query_scores(trace_ids=trace_id, names=name, limit=None)
    out: dict[str, dict[str, Any]] = {}
    for score in scores:  # oldest first: the latest wins
        if score.run_id is None:
            out.setdefault(score.trace_id, {})[score.name] = score.display
    return out


@router.get("/scores/names")
async def score_names(src: Source) -> dict[str, Any]:
    """Score names in use and the declared configs (labels of categorical scores)."""
    storage = _storage(src)
    configs = await storage.score_configs()
    names = sorted(set(await storage.score_names()) | {c.name for c in configs})
    return {"names": names, "configs": [c.to_dict() for c in configs]}


@router.put("/scores/configs")
async def put_config(body: ScoreConfigIn, src: Source) -> dict[str, Any]:
    """Declare what values a score takes (its labels, its range)."""
    if body.data_type not in ("numeric", "boolean", "categorical"):
        raise HTTPException(422, "data_type must be numeric, boolean or categorical")
    try:
        make_score("x", body.name, 0)  # the name rules
    except ScoreError as exc:
        raise HTTPException(422, str(exc)) from None
    config = ScoreConfig.from_dict(body.model_dump())
    await _storage(src).store_score_config(config)
    return config.to_dict()


@router.get("/scores/series")
async def score_series(
    src: Source,
    filter: Filter,
    name: Annotated[str, Query(max_length=100)],
    interval: Annotated[int, Query(ge=1, le=366 * 86_400)] = 3600,
) -> dict[str, Any]:
    """Mean of score `name` per interval (seconds) of the start times of the traces
    matching the filter: the dashboard's score chart."""
    buckets = await _storage(src).score_series(name, filter, interval_us=interval * 1_000_000)
    return {"name": name, "interval": interval, "buckets": [b.to_dict() for b in buckets]}


class QueueIn(BaseModel):
    """An annotation queue: a name and a filter in the trace list's address syntax
    (`status=error&agent=x&start=-7d&score=no human score`)."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[^/\x00-\x1f]+$")
    filter: str = Field(default="", max_length=2000)
    description: str | None = Field(default=None, max_length=2000)


@router.get("/queues")
async def list_queues(src: Source) -> dict[str, Any]:
    """The saved annotation queues, by name."""
    return {"items": await _storage(src).queues()}


@router.put("/queues")
async def put_queue(body: QueueIn, src: Source) -> dict[str, Any]:
    """Save (or replace) an annotation queue."""
    queue = {**body.model_dump(), "updated_us": now_us()}
    await _storage(src).store_queue(queue)
    return queue


@router.delete("/queues/{name}")
async def delete_queue(name: Annotated[str, Path(max_length=100)], src: Source) -> dict[str, int]:
    """Delete an annotation queue (its scores stay)."""
    return {"deleted": await _storage(src).delete_queue(name)}
