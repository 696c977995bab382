"""Storage backends: the `TraceStorage` interface, in-memory, SQLite and PostgreSQL.

`PostgresTraceStorage` is imported on first use: it needs the `postgres` extra.
"""

from typing import TYPE_CHECKING, Any

from myagent.trace.storage.base import TraceStorage
from myagent.trace.storage.memory import InMemoryTraceStorage
from myagent.trace.storage.sqlite import SQLiteTraceStorage

if TYPE_CHECKING:
    from myagent.trace.storage.postgres import PostgresTraceStorage

__all__ = ["InMemoryTraceStorage", "PostgresTraceStorage", "SQLiteTraceStorage", "TraceStorage"]


def __getattr__(name: str) -> Any:
    """Import the PostgreSQL backend only when asked for (it needs psycopg)."""
    if name == "PostgresTraceStorage":
        from myagent.trace.storage.postgres import PostgresTraceStorage

        return PostgresTraceStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
