"""Tags and metadata every trace opened in a context carries, and a note of those traces.

`with trace_attributes(tags=[...], metadata={...}) as opened:` — every trace started in
this block (in this task and the tasks it spawns) gets the tags and metadata, and
`opened` lists them. Experiments use it to tag each run with its experiment and item
without the agent knowing; it travels with `contextvars`, so concurrent runs never mix.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from myagent.trace.records import Trace


@dataclass(slots=True)
class Baggage:
    """What new traces get, and the traces that got it."""

    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    opened: list[Trace] = field(default_factory=list)


baggage_var: ContextVar[Baggage | None] = ContextVar("myagent_trace_baggage", default=None)


@contextmanager
def trace_attributes(
    *, tags: Sequence[str] = (), metadata: dict[str, Any] | None = None
) -> Iterator[list[Trace]]:
    """Give every trace opened in this block these tags and metadata; yields the list of
    those traces (filled as they open). `trace_attributes()` with nothing stops an outer
    block's attributes from reaching traces opened inside."""
    token = baggage_var.set(Baggage(list(tags), dict(metadata or {})))
    try:
        found = baggage_var.get()
        assert found is not None
        yield found.opened
    finally:
        baggage_var.reset(token)


def apply_baggage(trace: Trace) -> None:
    """Add the current block's tags and metadata to a new trace (called by the manager)."""
    baggage = baggage_var.get()
    if baggage is None:
        return
    for tag in baggage.tags:
        if tag not in trace.tags:
            trace.tags.append(tag)
    for key, value in baggage.metadata.items():
        trace.metadata.setdefault(key, value)
    baggage.opened.append(trace)
