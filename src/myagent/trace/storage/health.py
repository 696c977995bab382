"""Writer health: one background writer's counters, as persisted beside its traces.

Each writer process upserts a `WriterHealth` row into its storage, so a viewer in
another process can show what was submitted, written and dropped (by reason) without
sharing memory with the writers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from myagent.trace.redaction import redact_error

LAST_ERROR_CHARS = 500
"""A persisted error message is cut to this many characters."""


def safe_error(message: str | None) -> str | None:
    """An error message fit to persist: secrets redacted, at most `LAST_ERROR_CHARS`."""
    if message is None:
        return None
    text = redact_error(message) or ""
    return text if len(text) <= LAST_ERROR_CHARS else text[: LAST_ERROR_CHARS - 1] + "…"


@dataclass(slots=True)
class WriterHealth:
    """Counters of one background writer in one process, with who and when."""

    writer_id: str
    host: str
    pid: int
    started_us: int
    updated_us: int
    submitted: int = 0
    written: int = 0
    partial_writes: int = 0
    write_errors: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    buffer_depth: int = 0
    last_error: str | None = None
    closed: bool = False

    @property
    def dropped_total(self) -> int:
        """Traces dropped for any reason."""
        return sum(self.dropped.values())

    def as_dict(self) -> dict[str, Any]:
        """A plain (JSON-ready) snapshot, with `dropped_total`."""
        out = asdict(self)
        out["dropped_total"] = self.dropped_total
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WriterHealth:
        """The inverse of `as_dict` (unknown keys, such as `dropped_total`, ignored)."""
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["dropped"] = {str(k): int(v) for k, v in dict(known.get("dropped") or {}).items()}
        return cls(**known)


COLUMNS = (
    "writer_id",
    "host",
    "pid",
    "started_us",
    "updated_us",
    "submitted",
    "written",
    "partial_writes",
    "write_errors",
    "dropped_total",
    "dropped",
    "buffer_depth",
    "last_error",
    "closed",
)
"""The `writer_health` table's columns, in the order of `health_row`."""


def health_row(health: WriterHealth) -> tuple[Any, ...]:
    """A row of `COLUMNS` for SQL backends: `dropped` as JSON text, the error made safe."""
    values = health.as_dict()
    values["dropped"] = orjson.dumps(health.dropped).decode()
    values["last_error"] = safe_error(health.last_error)
    return tuple(values[c] for c in COLUMNS)


def health_from_row(row: Iterable[Any]) -> WriterHealth:
    """A `WriterHealth` from a row of `COLUMNS` (`dropped` as JSON text or decoded)."""
    values = dict(zip(COLUMNS, row, strict=True))
    dropped = values["dropped"]
    values["dropped"] = orjson.loads(dropped) if isinstance(dropped, str | bytes) else dropped
    values["closed"] = bool(values["closed"])
    return WriterHealth.from_dict(values)


COUNTERS = ("submitted", "written", "partial_writes", "write_errors", "buffer_depth")


def health_totals(writers: Iterable[WriterHealth]) -> dict[str, Any]:
    """Sums over writers: each counter, drops by reason, `dropped_total`, `writers`."""
    totals: dict[str, Any] = dict.fromkeys(COUNTERS, 0)
    dropped: dict[str, int] = {}
    count = 0
    for writer in writers:
        count += 1
        for name in COUNTERS:
            totals[name] += getattr(writer, name)
        for reason, n in writer.dropped.items():
            dropped[reason] = dropped.get(reason, 0) + n
    totals["dropped"] = dropped
    totals["dropped_total"] = sum(dropped.values())
    totals["writers"] = count
    return totals
