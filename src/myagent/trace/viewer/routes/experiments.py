"""Experiments in the viewer: each one's figures, its items, and two side by side."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query

from myagent.trace.eval_stats import compare_experiments, experiment_items, summarize
from myagent.trace.viewer.params import ID_PATTERN
from myagent.trace.viewer.payloads import json_response
from myagent.trace.viewer.routes.traces import Source

router = APIRouter(prefix="/api", tags=["experiments"])
ExperimentId = Annotated[str, Path(pattern=ID_PATTERN)]


@router.get("/experiments")
async def list_experiments(
    src: Source, dataset: Annotated[str | None, Query(max_length=200)] = None
) -> Any:
    """Experiments, newest first, each with its figures (score means, pass rate, p50/p95
    latency, tokens, cost)."""
    storage = src.storage
    out = []
    for info in await storage.experiments(dataset=dataset):
        items = await experiment_items(storage, info.experiment_id)
        out.append({**info.to_dict(), "summary": summarize(items)})
    return json_response({"items": out})


@router.get("/experiments/compare")
async def compare(
    src: Source,
    base: Annotated[str, Query(pattern=ID_PATTERN)],
    other: Annotated[str, Query(pattern=ID_PATTERN)],
) -> Any:
    """Two experiments item by item: both runs, score deltas (other minus base),
    regressions first."""
    return json_response(await compare_experiments(src.storage, base, other))


@router.get("/experiments/{experiment_id}")
async def get_experiment(experiment_id: ExperimentId, src: Source) -> Any:
    """One experiment: its description, figures and items."""
    storage = src.storage
    found = [e for e in await storage.experiments() if e.experiment_id == experiment_id]
    if not found:
        raise HTTPException(404, "no such experiment")
    items = await experiment_items(storage, experiment_id)
    return json_response({**found[0].to_dict(), "summary": summarize(items), "items": items})
