"""Storage backends: the `TraceStorage` interface, in-memory and SQLite."""

from myagent.trace.storage.base import TraceStorage
from myagent.trace.storage.memory import InMemoryTraceStorage
from myagent.trace.storage.sqlite import SQLiteTraceStorage

__all__ = ["InMemoryTraceStorage", "SQLiteTraceStorage", "TraceStorage"]
