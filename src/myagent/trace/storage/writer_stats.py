"""One background writer's counters, and the one warning per kind of fault or drop."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from myagent.trace.redaction import redact_error

logger = logging.getLogger("myagent.trace")


@dataclass(slots=True)
class WriterStats:
    """Counters of one writer; read them through `TraceManager.stats`."""

    submitted: int = 0
    written: int = 0
    partial_writes: int = 0
    write_errors: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _logged: set[str] = field(default_factory=set, repr=False)

    def drop(self, reason: str, count: int) -> None:
        """Count `count` traces dropped for `reason`; the first drop of a reason warns."""
        with self._lock:
            self.dropped[reason] = self.dropped.get(reason, 0) + count
        if reason not in self._logged:
            self._logged.add(reason)
            logger.warning(
                "myagent tracing dropped traces (%s); further drops are counted in "
                "TraceManager.stats['writer']['dropped'] without more warnings",
                reason,
            )

    def undrop(self, reason: str, count: int) -> int:
        """Take back up to `count` drops of `reason` (they landed after all); returns how
        many were taken back."""
        with self._lock:
            taken = min(count, self.dropped.get(reason, 0))
            if taken:
                self.dropped[reason] -= taken
                if not self.dropped[reason]:
                    del self.dropped[reason]
            return taken

    def note(self, where: str, exc: BaseException) -> None:
        """Keep `exc` as the last error; the first fault of each kind (`where`) warns."""
        error = redact_error(f"{type(exc).__name__}: {exc}")  # it may quote a secret
        self.last_error = f"{where}: {error}"
        if where not in self._logged:
            self._logged.add(where)
            logger.warning(
                "myagent tracing: %s failed (%s); counted in TraceManager.stats, logged once",
                where,
                error,
            )
