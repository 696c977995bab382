"""A seeded SQLite trace file and a real viewer over it, shared by a test module."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from myagent.trace import SQLiteTraceStorage
from tests.support.viewer import Seeded, ViewerTestServer, seed_traces


@dataclass
class Api:
    """A running viewer over a seeded file, and a client for it."""

    server: ViewerTestServer
    client: httpx.Client
    seeded: Seeded
    db: Path


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A real viewer on 127.0.0.1 over a SQLite file of varied traces (one module's worth)."""
    db = tmp_path_factory.mktemp("viewer") / "traces.db"
    seeded = seed_traces(db, big_output_chars=400_000)
    server = ViewerTestServer(SQLiteTraceStorage(db), inline_payload_bytes=100_000).start()
    client = httpx.Client(base_url=server.url, timeout=10)
    try:
        yield Api(server, client, seeded, db)
    finally:
        client.close()
        server.stop()
