"""The query time budget stops a long query on both SQL backends, and only inside it."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest

from myagent.trace import SQLiteTraceStorage
from myagent.trace.storage.budget import expired, query_budget, remaining

# a query that counts to 10^9: tens of seconds unless something stops it
LONG_SQLITE = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) "
    "SELECT count(*) FROM n"
)


def test_sqlite_stops_a_query_past_its_budget(tmp_path: Path) -> None:
    storage = SQLiteTraceStorage(tmp_path / "t.db")
    try:
        with query_budget(0.05), pytest.raises(sqlite3.OperationalError, match="interrupted"):
            storage._read(LONG_SQLITE)
        assert remaining() is None and not expired()  # the budget ends with its block
        assert storage._read("SELECT count(*) FROM traces") == [(0,)]  # others unaffected
    finally:
        storage.close_sync()


async def test_the_budget_follows_the_request_into_the_worker_thread(tmp_path: Path) -> None:
    storage = SQLiteTraceStorage(tmp_path / "t.db")
    try:
        with query_budget(0.05), pytest.raises(sqlite3.OperationalError):
            await asyncio.to_thread(storage._read, LONG_SQLITE)
    finally:
        storage.close_sync()


def test_postgres_stops_a_query_past_its_budget(postgres_storage: Any) -> None:
    with query_budget(0.05), pytest.raises(psycopg.errors.QueryCanceled):
        postgres_storage._read("SELECT pg_sleep(5)")
    # the timeout was local to that transaction: the pooled connection is not limited
    assert postgres_storage._read("SELECT pg_sleep(0.1), 1")[0][1] == 1
    assert postgres_storage._read("SHOW statement_timeout") == [("0",)]
