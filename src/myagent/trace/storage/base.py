"""The storage extension point: one required async method, `store_trace`.

Everything else has a default so a write-only backend (ship traces somewhere) is a
five-line class. Backends that can answer queries override the query methods and
run them in their own query language, never by loading every trace into Python.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime

from myagent.trace.filters import RunFilter, TraceFilter
from myagent.trace.records import RunRecord, Trace


class TraceStorage(ABC):
    """Where finished traces go. Subclass and implement `store_trace`."""

    supports_partial: bool = False
    """True when `store_partial` persists running traces (for live views across processes)."""

    @abstractmethod
    async def store_trace(self, trace: Trace) -> None:
        """Persist one finished trace. Called once per trace; may be retried on failure."""

    async def store_traces(self, traces: Sequence[Trace]) -> None:
        """Persist a batch of finished traces; override to write them in one transaction."""
        for trace in traces:
            await self.store_trace(trace)

    async def store_partial(self, traces: Sequence[Trace]) -> None:
        """Persist traces that are still running, with the records they have so far."""

    async def get_trace(self, trace_id: str) -> Trace | None:
        """One trace with all its records, or None."""
        return None

    async def query_traces(
        self,
        filter: TraceFilter | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        order_by: str = "-start_time",
    ) -> list[Trace]:
        """Traces matching `filter`, whole, in `order_by` order (see `TRACE_ORDERS`)."""
        return []

    async def count_traces(self, filter: TraceFilter | None = None) -> int:
        """How many traces match `filter`."""
        return len(await self.query_traces(filter))

    async def query_runs(
        self, filter: RunFilter | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[RunRecord]:
        """Records matching `filter`, oldest first."""
        return []

    async def count_runs(self, filter: RunFilter | None = None) -> int:
        """How many records match `filter`."""
        return len(await self.query_runs(filter))

    async def delete_traces(self, trace_ids: Sequence[str]) -> int:
        """Delete traces (and their records); returns how many existed."""
        return 0

    async def cleanup(
        self, *, older_than: datetime | None = None, max_count: int | None = None
    ) -> int:
        """Retention: delete traces started before `older_than`, then all but the newest
        `max_count`. Returns how many were deleted."""
        return 0

    async def close(self) -> None:
        """Release connections and files."""
