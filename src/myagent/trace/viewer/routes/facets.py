"""Facets for the filter bar: the values of agent, model, tool and tag with trace counts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from myagent.trace.facets import FACET_FIELDS, FacetField
from myagent.trace.viewer.routes.traces import Source

router = APIRouter(prefix="/api", tags=["facets"])


@router.get("/facets")
async def facets(src: Source, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> dict[str, Any]:
    """Agent names (for the dashboard), and the most used values of every facet."""
    found = {}
    for field in FACET_FIELDS:
        values = await src.storage.facet_values(field, limit=limit)
        found[field] = [{"value": v.value, "count": v.count} for v in values]
    return {"agents": await src.storage.agent_names(), "facets": found}


@router.get("/facets/{field}")
async def facet(
    src: Source,
    field: Annotated[FacetField, Path(description="agent, model, tool or tag")],
    q: Annotated[str | None, Query(max_length=200, description="text the value contains")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Values of one filter field with how many traces carry each: those containing `q`
    (any case), values beginning with it first, then the most used."""
    values = await src.storage.facet_values(field, search=q, limit=limit)
    return {"field": field, "values": [{"value": v.value, "count": v.count} for v in values]}
