"""Where the viewer reads traces: a storage backend, plus the live manager when in-process.

`start_trace_viewer` inside a user's process serves that process's TraceManager, so
running traces (even in in-memory storage) are visible, redacted like stored ones (on
a worker thread, never the event loop's); `trace_server.py` serves a storage (a SQLite
file another process writes) directly.
"""

from __future__ import annotations

import asyncio
from typing import Any

from myagent.trace.filters import TraceFilter
from myagent.trace.ids import now_us
from myagent.trace.manager import TraceManager
from myagent.trace.records import ON_TRACE, RunRecord, Trace
from myagent.trace.storage.base import TraceStorage
from myagent.trace.storage.health import WriterHealth, safe_error
from myagent.trace.summary import TraceSummary

Change = tuple[int, TraceSummary]
"""A change stamp and the trace's summary as of that change."""


class TraceSource:
    """Read access to traces for the viewer's routes and its live feed."""

    def __init__(self, storage: TraceStorage, manager: TraceManager | None = None) -> None:
        self.storage = storage
        self.manager = manager
        self._seen: dict[str, tuple[Any, ...]] = {}

    async def page(
        self,
        filter: TraceFilter | None,
        *,
        limit: int,
        after: tuple[float, str] | None = None,
        order_by: str = "-start_time",
    ) -> list[TraceSummary]:
        """One keyset page of trace summaries."""
        return await self.storage.query_summaries(
            filter, limit=limit, after=after, order_by=order_by
        )

    async def count(self, filter: TraceFilter | None) -> int:
        """How many traces match."""
        return await self.storage.count_traces(filter)

    async def _active(self, trace_id: str) -> Trace | None:
        """A running trace of this process as the viewer may show it: redacted as the
        writer would store it (on a worker thread: values can be megabytes)."""
        manager = self.manager
        if manager is None:
            return None
        active = manager.get_active_trace(trace_id)
        if active is None or not manager.config.redact:
            return active
        return await asyncio.to_thread(manager.redactor.redact_trace, active)

    async def trace(self, trace_id: str) -> Trace | None:
        """One whole trace: the live object while it runs in this process, else stored."""
        active = await self._active(trace_id)
        if active is not None:
            return active
        return await self.storage.get_trace(trace_id)

    async def record(self, trace_id: str, run_id: str) -> RunRecord | None:
        """One record with its full payload."""
        active = await self._active(trace_id)
        if active is not None:
            return next((r for r in list(active.runs) if r.run_id == run_id), None)
        record = await self.storage.get_record(trace_id, run_id)
        if record is not None and record.metadata.get(ON_TRACE):
            # its input/output are stored once, on the trace: read them from there
            trace = await self.storage.get_trace(trace_id)
            if trace is not None:
                return next((r for r in trace.runs if r.run_id == run_id), record)
        return record

    async def writers(self) -> tuple[list[WriterHealth], set[str]]:
        """Writers' counters, most recently updated first, and the ids of those read live:
        the rows writers persisted in storage, with this process's own writer (when the
        viewer serves a manager) read from memory instead."""
        found = {h.writer_id: h for h in await self.storage.writer_stats()}
        live: set[str] = set()
        if self.manager is not None:
            mine = WriterHealth.from_dict(self.manager.stats["writer"])
            found[mine.writer_id] = mine
            live.add(mine.writer_id)
        for health in found.values():  # rows written by older versions were not redacted
            health.last_error = safe_error(health.last_error)
        ordered = sorted(found.values(), key=lambda h: (h.updated_us, h.writer_id), reverse=True)
        return ordered, live

    # -- change feed ---------------------------------------------------------------

    async def start_cursor(self) -> int:
        """Where a new live feed starts: a little before now, so nothing just written is
        lost. Without change stamps, a first poll learns what exists (and sends nothing)."""
        if await self.storage.summaries_changed_since(now_us()) is None:
            await self.changes(0)
        return now_us() - 2_000_000

    async def changes(self, since: int) -> tuple[list[Change], int]:
        """Traces that changed after `since`, and the cursor to pass next time.

        Backends with change stamps (SQLite) answer from an index; others are polled:
        the running traces of this process and the newest stored ones, compared with
        what the last poll saw.
        """
        stamped = await self.storage.summaries_changed_since(since)
        if stamped is not None:
            return stamped, max([since, *(stamp for stamp, _ in stamped)])
        candidates = {s.trace_id: s for s in await self.storage.query_summaries(None, limit=200)}
        if self.manager is not None:
            # The manager lists its running traces only privately; read it defensively.
            for trace_id in list(getattr(self.manager, "_active", {})):
                live = await self._active(trace_id)
                if live is not None:
                    candidates[trace_id] = TraceSummary.from_trace(live)
        stamp = now_us()
        changed = []
        for summary in candidates.values():
            signature = (summary.status, summary.run_count, summary.end_us, summary.error_count)
            if self._seen.get(summary.trace_id) != signature:
                self._seen[summary.trace_id] = signature
                changed.append((stamp, summary))
        if len(self._seen) > 5000:
            self._seen = {k: self._seen[k] for k in candidates}
        return changed, stamp
