"""Facets: the values a trace filter field takes in stored traces, with trace counts.

The viewer's filter comboboxes offer them (agent, model, tool, tag). SQL backends keep
the counts in a table their triggers maintain on every trace write, so a facet is read
from a few rows whatever the number of traces; this module defines what the counts
mean (`facet_counts_of`) and how matches of a typed text are ranked (`rank_facets`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

FacetField = Literal["agent", "model", "tool", "tag"]
FACET_FIELDS: tuple[FacetField, ...] = ("agent", "model", "tool", "tag")
"""Filter fields with facets; each is the trace list's query parameter of that name."""


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet and how many stored traces carry it."""

    value: str
    count: int


class Faceted(Protocol):
    """What facets are read from: a trace summary, or a storage's index entry."""

    @property
    def agent_name(self) -> str | None: ...
    @property
    def models(self) -> Sequence[Any]: ...
    @property
    def tools(self) -> Sequence[Any]: ...
    @property
    def tags(self) -> Sequence[Any]: ...


def trace_facet_values(summary: Faceted, field: FacetField) -> set[str]:
    """The distinct values of `field` one trace carries (one agent; its models, tools, tags)."""
    if field == "agent":
        return {summary.agent_name} if summary.agent_name else set()
    values = {"model": summary.models, "tool": summary.tools, "tag": summary.tags}[field]
    return {str(v) for v in values if v is not None}


def facet_counts_of(summaries: Iterable[Faceted], field: FacetField) -> Counter[str]:
    """Traces per value of `field` (a trace counts once per distinct value it carries)."""
    counts: Counter[str] = Counter()
    for summary in summaries:
        counts.update(trace_facet_values(summary, field))
    return counts


def rank_facets(
    counts: Iterable[tuple[str, int]], search: str | None = None, limit: int = 50
) -> list[FacetValue]:
    """Values containing `search` (case-insensitive), those beginning with it first, then
    by count (desc) and value; every value when `search` is empty. Zero counts are left out."""
    needle = (search or "").casefold()
    found = [
        (not value.casefold().startswith(needle), -count, value)
        for value, count in counts
        if count > 0 and needle in value.casefold()
    ]
    found.sort()
    return [FacetValue(value, -negative) for _, negative, value in found[:limit]]
