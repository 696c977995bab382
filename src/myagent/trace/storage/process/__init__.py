"""The writer process (opt-in: `TraceConfig.writer_process`, `TRACE_WRITER_PROCESS=1`):
redaction, row building and SQL run in a child process; the traced program's process
only encodes each batch (one marshal call) and writes it to a pipe.

`ProcessStorage` is what the background writer writes to in this mode; `child` is the
child's program, `handoff` the batch encoding, `pipe` the framing and `spec` how the
child opens the same SQLite file or PostgreSQL database.
"""

from __future__ import annotations

import logging
import os

from myagent.trace.storage.base import TraceStorage
from myagent.trace.storage.process.spec import spec_of
from myagent.trace.storage.process.storage import ChildLost, ProcessStorage

__all__ = ["ChildLost", "ProcessStorage", "process_storage_for"]

logger = logging.getLogger("myagent.trace")


def process_storage_for(storage: TraceStorage, timeout: float = 30.0) -> ProcessStorage | None:
    """A `ProcessStorage` writing into `storage` through a writer process, or None when
    the mode cannot serve it (in-memory or custom storage, or no POSIX pipes): then the
    writer stays in this process (logged)."""
    spec = spec_of(storage) if os.name == "posix" else None
    if spec is None:
        logger.warning(
            "myagent tracing: the writer process serves SQLite files and PostgreSQL on "
            "POSIX only, not %s; the writer stays in this process",
            type(storage).__name__,
        )
        return None
    return ProcessStorage(storage, spec, timeout=timeout)
