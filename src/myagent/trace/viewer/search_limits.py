"""Bounds on what one full-text search may cost the viewer: how many and how long its
words are, how long its queries run, and how many searches run at once.

A search (`q`) is the one filter whose cost the caller chooses; a page of another site can
no longer fire it (see security.py), and these bounds keep a user's own searches from
starving every other request of the worker threads that queries run on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from myagent.trace.filters import TraceFilter
from myagent.trace.storage.budget import expired, query_budget
from myagent.trace.storage.memory import search_words
from myagent.trace.viewer.params import trace_filter
from myagent.trace.viewer.settings import ViewerSettings


class SearchGate:
    """How many searches of one app are running (checked and counted on the event loop)."""

    def __init__(self) -> None:
        self.running = 0


def check_terms(text: str, settings: ViewerSettings) -> None:
    """422 when the search has too many words or a word that is too long."""
    words = search_words(text)
    if len(words) > settings.max_search_terms:
        raise HTTPException(
            422, f"the search has {len(words)} words; at most {settings.max_search_terms}"
        )
    longest = max(words, key=len, default="")
    if len(longest) > settings.max_search_term_chars:
        raise HTTPException(
            422,
            f"a search word has {len(longest)} characters; "
            f"at most {settings.max_search_term_chars}",
        )


async def bounded_filter(
    request: Request, filter: Annotated[TraceFilter, Depends(trace_filter)]
) -> AsyncIterator[TraceFilter]:
    """The request's filter; with a search, its words checked, a slot taken (503 when all
    are busy) and its queries run under the time budget (503 when it runs out)."""
    if not filter.text:
        yield filter
        return
    settings: ViewerSettings = request.app.state.settings
    check_terms(filter.text, settings)
    gate: SearchGate = request.app.state.searches
    if gate.running >= settings.max_concurrent_searches:
        raise HTTPException(
            503,
            f"{gate.running} searches are running (the limit); try again in a moment",
            headers={"retry-after": "1"},
        )
    gate.running += 1
    try:
        with query_budget(settings.search_timeout):
            try:
                yield filter
            except Exception:
                if expired():
                    raise HTTPException(
                        503,
                        f"the search ran over its {settings.search_timeout:g} s budget and "
                        "was stopped; narrow it (longer words, a time range, other filters)",
                    ) from None
                raise
    finally:
        gate.running -= 1


BoundedFilter = Annotated[TraceFilter, Depends(bounded_filter, scope="function")]
"""A TraceFilter query dependency whose search is bounded (see `bounded_filter`)."""
