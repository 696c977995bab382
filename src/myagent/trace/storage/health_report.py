"""Persisting one writer's counters into its storage: when they change, at a bounded
rate, best effort (a failure backs off and is logged once; it never raises)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from myagent.trace.redaction import redact_error
from myagent.trace.storage.base import TraceStorage
from myagent.trace.storage.health import WriterHealth

logger = logging.getLogger("myagent.trace")

HEALTH_INTERVAL = 1.0
"""Seconds between persisted health snapshots while counters change (flush and close
persist at once)."""
_HEALTH_BACKOFF_MAX = 30.0


class HealthReporter:
    """Upserts a writer's `WriterHealth` into a storage that keeps it, when it changed."""

    def __init__(self, storage: TraceStorage) -> None:
        self.storage = storage
        self.keeps = type(storage).store_writer_stats is not TraceStorage.store_writer_stats
        """False for storages that keep no writer counters: nothing is attempted."""
        self._persisted: tuple[Any, ...] | None = None
        self._due = 0.0
        self._delay = HEALTH_INTERVAL
        self._warned = False

    def due(self, force: bool) -> bool:
        """Whether a snapshot may be written now (always when forced)."""
        return self.keeps and (force or time.monotonic() >= self._due)

    def report(
        self, health: WriterHealth, call: Callable[[Coroutine[Any, Any, None]], None]
    ) -> None:
        """Write `health` through `call` (the writer's loop) unless it is unchanged since
        the last successful write; back off on failure."""
        signature = (
            health.submitted,
            health.written,
            health.write_errors,
            tuple(sorted(health.dropped.items())),
            health.buffer_depth,
            health.last_error,
            health.closed,
        )
        if signature == self._persisted:
            return
        now = time.monotonic()
        try:
            call(self.storage.store_writer_stats(health))
        except Exception as exc:
            self._delay = min(self._delay * 2, _HEALTH_BACKOFF_MAX)
            self._due = now + self._delay
            if not self._warned:
                self._warned = True
                logger.warning(
                    "myagent tracing: persisting writer counters failed (%s); "
                    "retried later, logged once",
                    redact_error(f"{type(exc).__name__}: {exc}"),
                )
            return
        self._persisted = signature
        self._delay = HEALTH_INTERVAL
        self._due = now + HEALTH_INTERVAL
