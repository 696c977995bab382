"""The test run's own PostgreSQL database, a fresh storage schema per test, and private
throwaway servers for tests that stop and restart PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
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
            _fail_or_skip(f"PostgreSQL unreachable at {SERVER}: {exc}".strip())
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


class PrivateServer:
    """A throwaway PostgreSQL server of one test's own (initdb in a temporary directory,
    trust auth, 127.0.0.1 on a free port) that the test may stop and restart at will.

    Runs the server binaries as the `postgres` user when the tests run as root (initdb
    refuses root). `url` points at its `postgres` database.
    """

    def __init__(self) -> None:
        self.bin = _server_binaries()
        self.port = _free_port()
        self.run_as: list[str] = []
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                _fail_or_skip("tests run as root and there is no `postgres` user for initdb")
            self.run_as = ["runuser", "-u", "postgres", "--"]
        self.dir = Path(tempfile.mkdtemp(prefix="myagent-pg-"))
        if self.run_as:
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
        self.data = self.dir / "data"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        done = subprocess.run(
            [*self.run_as, str(self.bin / tool), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stdout}{done.stderr}")

    def init(self) -> PrivateServer:
        """Create the cluster (trust auth, no fsync: the data is thrown away)."""
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        return self

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.dir / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def standby(self) -> PrivateServer:
        """A streaming replica of this running server, started on a port of its own:
        `pg_basebackup -R` (base backup plus the settings that make it follow)."""
        replica = PrivateServer()
        source = f"host=127.0.0.1 port={self.port} user=postgres"
        replica._run(
            "pg_basebackup", "-D", str(replica.data), "-R", "-X", "stream", "-N", "-d", source
        )
        replica.start()
        return replica

    def stop(self) -> None:
        """Stop it the hard way (`-m immediate`: as if it crashed), sessions cut."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        """Stop the server if it runs and remove its files (never raises)."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(Exception):
                self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _server_binaries() -> Path:
    """The newest installed PostgreSQL server's bin directory (Debian's layout), else
    the one holding `initdb` on PATH."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb is None:
        _fail_or_skip("no PostgreSQL server binaries (initdb) to start a private server")
    return Path(initdb).parent


def _fail_or_skip(reason: str) -> NoReturn:
    """Fail under CI (CI=true), skip elsewhere."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
