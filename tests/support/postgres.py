"""The test run's own PostgreSQL database, and a fresh storage schema per test."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from myagent.trace.storage.postgres import PostgresTraceStorage
from myagent.trace.sync_bridge import run_sync

SERVER = os.environ.get("MYAGENT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
"""The maintenance database of the server the tests use (CI starts it)."""


@dataclass(slots=True)
class RunDatabase:
    """A database named `myagent_test_<pid>_<random>`, created for one test run."""

    name: str
    url: str

    @staticmethod
    def create_or_skip() -> RunDatabase:
        """Create the run's database; when the server is unreachable, fail under CI and
        skip otherwise."""
        try:
            admin = psycopg.connect(SERVER, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            reason = f"PostgreSQL unreachable at {SERVER}: {exc}".strip()
            if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
                pytest.fail(reason)
            pytest.skip(reason)
        name = f"myagent_test_{os.getpid()}_{secrets.token_hex(4)}"
        with admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return RunDatabase(name, urlsplit(SERVER)._replace(path=f"/{name}").geturl())

    def drop(self) -> None:
        """Drop the database, ending any session still connected to it."""
        with psycopg.connect(SERVER, autocommit=True, connect_timeout=5) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )


def fresh_storage(url: str, **options: Any) -> Iterator[PostgresTraceStorage]:
    """A storage in a new schema of its own; closed and the schema dropped afterwards."""
    schema = f"t_{secrets.token_hex(6)}"
    storage = PostgresTraceStorage(url, schema=schema, **options)
    try:
        yield storage
    finally:
        run_sync(storage.close())
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


class PropertyBackend:
    """PostgreSQL for the property tests: one storage schema in the run's database,
    emptied before each example (hypothesis runs many), dropped at the end.

    `attach(request)` (from a module fixture) provides it; `stores()` is then the list
    to add to the backends under test: empty when no server runs outside CI, where the
    `postgres_url` fixture skips (under CI it fails instead).
    """

    def __init__(self) -> None:
        self.storage: PostgresTraceStorage | None = None

    def attach(self, request: pytest.FixtureRequest) -> Iterator[None]:
        """Generator body of a module fixture: set up, yield, tear down."""
        try:
            url = request.getfixturevalue("postgres_url")
        except pytest.skip.Exception:
            yield
            return
        gen = fresh_storage(url)
        self.storage = next(gen)
        try:
            yield
        finally:
            self.storage = None
            gen.close()

    def stores(self) -> list[PostgresTraceStorage]:
        """The attached storage, emptied, in a list (or an empty list)."""
        storage = self.storage
        if storage is None:
            return []
        with storage.pool().connection() as conn:
            conn.execute("DELETE FROM runs")
            conn.execute("DELETE FROM traces")
        return [storage]


property_postgres = PropertyBackend()
"""The PostgreSQL backend the property tests add to their backends."""
