"""The live feed: one poller per app turns storage changes into events for subscribers.

The poller runs only while someone listens. Each tick asks the source what changed
since the last stamp (one indexed query on SQLite, so a trace another process is
writing shows within a tick), then hands each subscriber the changes its filter lets
through.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from dataclasses import dataclass, field

from myagent.trace.filters import TraceFilter
from myagent.trace.viewer.source import Change, TraceSource

logger = logging.getLogger("myagent.trace.viewer")
QUEUE_SIZE = 1000


@dataclass(eq=False)
class Subscription:
    """One listener: its filter (None: every trace) and its queue of summaries."""

    filter: TraceFilter | None
    queue: asyncio.Queue[Change | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False


class LiveHub:
    """Polls a TraceSource for changes and fans them out to subscriptions."""

    def __init__(self, source: TraceSource, interval: float = 0.5) -> None:
        self.source = source
        self.interval = interval
        self._subs: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._cursor: int | None = None

    def subscribe(self, filter: TraceFilter | None) -> Subscription:
        """Start listening; the poller starts with the first listener."""
        sub = Subscription(filter)
        self._subs.add(sub)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="trace-viewer-live")
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop listening (the poller stops with the last listener)."""
        self._subs.discard(sub)

    async def close(self) -> None:
        """Stop the poller and wake every listener so its stream ends."""
        for sub in list(self._subs):
            with contextlib.suppress(asyncio.QueueFull):
                sub.queue.put_nowait(None)
        self._subs.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        if self._cursor is None:
            self._cursor = await self.source.start_cursor()
        failures = 0
        while self._subs:
            try:
                changed, self._cursor = await self.source.changes(self._cursor)
                if changed:
                    await self._deliver(changed)
                failures = 0
            except Exception as exc:  # a locked or vanished file must not end the feed
                failures += 1
                if failures == 1:
                    logger.warning("trace viewer live feed: poll failed (%s)", exc)
            await asyncio.sleep(self.interval)

    async def _deliver(self, changed: list[Change]) -> None:
        by_id = {summary.trace_id: (stamp, summary) for stamp, summary in changed}
        for sub in list(self._subs):
            if sub.filter is None:
                passed = list(by_id.values())
            else:
                wanted = set(by_id)
                if sub.filter.trace_ids is not None:
                    wanted &= set(sub.filter.trace_ids)
                if not wanted:
                    continue
                narrowed = dataclasses.replace(sub.filter, trace_ids=sorted(wanted))
                matched = await self.source.page(narrowed, limit=len(wanted))
                passed = [by_id[s.trace_id] for s in matched if s.trace_id in by_id]
            for change in passed:
                try:
                    sub.queue.put_nowait(change)
                except asyncio.QueueFull:
                    sub.overflowed = True
