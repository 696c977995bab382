"""A time budget for the queries of one request: the caller sets it, the storage stops a
query that runs past it (SQLite's progress handler, PostgreSQL's `statement_timeout`).

The budget lives in a context variable, so it follows the request into the worker thread
that runs its query (`asyncio.to_thread` copies the context) and touches no other query:
the background writer's connections never see one.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_DEADLINE: ContextVar[float | None] = ContextVar("myagent_query_deadline", default=None)

PROGRESS_STEPS = 10_000
"""SQLite virtual-machine steps between two looks at the clock (a few microseconds)."""


@contextmanager
def query_budget(seconds: float) -> Iterator[None]:
    """Queries started inside the block are stopped once `seconds` have passed."""
    token = _DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def remaining() -> float | None:
    """Seconds left of the current budget (None when there is none)."""
    deadline = _DEADLINE.get()
    return None if deadline is None else deadline - time.monotonic()


def expired() -> bool:
    """True when a budget is set and has run out."""
    left = remaining()
    return left is not None and left <= 0


def _sqlite_progress() -> int:
    return 1 if expired() else 0  # non-zero aborts the statement ("interrupted")


def watch_sqlite(conn: sqlite3.Connection) -> None:
    """Make `conn` stop a statement that runs past the current context's budget."""
    conn.set_progress_handler(_sqlite_progress, PROGRESS_STEPS)


def limit_postgres(cursor: Any) -> None:
    """Give the cursor's transaction a `statement_timeout` of the budget left (if any)."""
    left = remaining()
    if left is not None:
        milliseconds = max(1, int(left * 1000))
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", (str(milliseconds),))
