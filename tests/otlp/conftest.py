"""A real viewer on 127.0.0.1 receiving OTLP into a real SQLite file."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from myagent.trace import SQLiteTraceStorage, Trace
from myagent.trace.otel.receiver import OTLPReceiver
from tests.support.viewer import ViewerTestServer


@dataclass
class Collector:
    """A viewer serving `POST /v1/traces` over a SQLite file, and helpers to read it back."""

    server: ViewerTestServer
    storage: SQLiteTraceStorage
    db: Path

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def endpoint(self) -> str:
        return self.server.url + "/v1/traces"

    @property
    def receiver(self) -> OTLPReceiver:
        receiver: OTLPReceiver = self.server.app.state.otlp
        return receiver

    def flush(self) -> None:
        """Wait until everything received reached the SQLite file."""
        state = getattr(self.server.app.state, "otlp", None)
        if state is not None:
            assert state.manager.flush(10)

    def trace(self, trace_id: str, runs: int | None = None) -> Trace:
        """The stored trace; a running one is written by the writer's next live snapshot
        (after `flush`), so it is waited for (with `runs` records, when given)."""
        self.flush()
        deadline = time.monotonic() + 10
        while True:
            trace = self.storage.get_trace_sync(trace_id)
            ready = trace is not None and (runs is None or len(trace.runs) == runs)
            if ready or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert trace is not None, f"trace {trace_id} not stored"
        return trace

    def traces(self) -> list[Trace]:
        self.flush()
        return self.storage.query_traces_sync(None, order_by="start_time")

    def post(self, body: bytes, content_type: str, **headers: str) -> httpx.Response:
        return httpx.post(
            self.endpoint, content=body, headers={"content-type": content_type, **headers}
        )


@pytest.fixture
def collector_factory(tmp_path: Path) -> Iterator[Callable[..., Collector]]:
    """Start collectors (`collector_factory(db=None, **viewer_settings)`); all stopped after."""
    started: list[ViewerTestServer] = []

    def start(db: Path | None = None, **settings: Any) -> Collector:
        path = db or tmp_path / "otlp.db"
        storage = SQLiteTraceStorage(path)
        server = ViewerTestServer(storage, **settings).start()
        started.append(server)
        return Collector(server, storage, path)

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def collector(collector_factory: Callable[..., Collector]) -> Collector:
    """One collector over tmp_path/otlp.db."""
    return collector_factory()
