"""Results that old code may also `await`: the earlier query API was async.

`Results` is a list and `Figures` a dict; awaiting either gives the value itself, so
`engine.query_traces(...)` and `await engine.query_traces(...)` both work.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

T = TypeVar("T")


class Results(list[T]):
    """A list of query results, awaitable; `.results` and `.total_count` as before."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, Results[T]]:
        yield from ()
        return self

    @property
    def results(self) -> list[T]:
        """The results themselves (the earlier QueryResult's field)."""
        return self

    @property
    def total_count(self) -> int:
        """How many results there are."""
        return len(self)


class Figures(dict[str, Any]):
    """A dict of figures, awaitable."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, Figures]:
        yield from ()
        return self
