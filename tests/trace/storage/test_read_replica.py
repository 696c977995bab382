"""PostgreSQL with a read replica (`read_url`, TRACE_DATABASE_READ_URL): reads go to a
real streaming standby, writes, retention and writer health to the primary, and the
viewer's live feed (change stamps polled on the replica) misses no trace."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from myagent.trace import ToolRecord, Trace, TraceConfig
from myagent.trace.config import create_storage
from myagent.trace.ids import now_us
from myagent.trace.storage.health import WriterHealth
from myagent.trace.storage.postgres import PostgresTraceStorage
from myagent.trace.viewer import server as viewer_server
from tests.support.postgres import PrivateServer


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[PrivateServer, PrivateServer]]:
    primary = PrivateServer().init()
    replica: PrivateServer | None = None
    try:
        primary.start()
        replica = primary.standby()
        yield primary, replica
    finally:
        if replica is not None:
            replica.destroy()
        primary.destroy()


def in_recovery(rows: list[tuple[bool]]) -> bool:
    return bool(rows[0][0])


def traces(batch: int, count: int) -> list[Trace]:
    out = []
    for i in range(count):
        trace = Trace(name=f"b{batch}-{i}", agent_name=f"agent-{i % 2}")
        call = ToolRecord(name="search", tool_name="search", trace_id=trace.trace_id)
        call.end_us = call.start_us + 100
        trace.runs.append(call)
        trace.end_us, trace.status = trace.start_us + 1_000, "success"
        out.append(trace)
    return out


def test_reads_go_to_the_replica_and_writes_to_the_primary(
    servers: tuple[PrivateServer, PrivateServer],
) -> None:
    primary, replica = servers
    storage = PostgresTraceStorage(primary.url, read_url=replica.url, schema="split")
    try:
        assert in_recovery(storage._read("SELECT pg_is_in_recovery()"))
        assert in_recovery(
            storage._aggregate(lambda cur: cur.execute("SELECT pg_is_in_recovery()").fetchall())
        )
        assert not in_recovery(storage._read_primary("SELECT pg_is_in_recovery()"))
        written = traces(0, 5)
        storage.write_traces(written)  # the replica refuses writes: this is the primary
        deadline = time.monotonic() + 30
        while storage.count_traces_sync() < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert {t.trace_id for t in storage.query_traces_sync(None)} == {
            t.trace_id for t in written
        }
        health = WriterHealth(writer_id="w1", host="h", pid=1, started_us=1, updated_us=now_us())
        storage.store_writer_stats_sync(health)
        # read at once from the primary: no replication lag to wait for
        assert [h.writer_id for h in storage.writer_stats_sync()] == ["w1"]
        assert storage.cleanup_sync(max_count=0) == 5  # retention selects on the primary
    finally:
        storage.close_sync()


def test_the_live_feed_on_the_replica_misses_no_trace(
    servers: tuple[PrivateServer, PrivateServer],
) -> None:
    primary, replica = servers
    storage = PostgresTraceStorage(primary.url, read_url=replica.url, schema="feed")
    try:
        cursor = 0
        seen: dict[str, str] = {}
        expected: dict[str, str] = {}
        for batch in range(10):
            running = traces(batch, 20)
            for trace in running:
                trace.status, trace.end_us = "running", None
            storage.write_traces(running)  # progress first, then the final state
            for trace in running:
                trace.status, trace.end_us = "success", trace.start_us + 1_000
            storage.write_traces(running)
            expected.update((t.trace_id, "success") for t in running)
            for stamp, summary in storage.summaries_changed_since_sync(cursor):
                seen[summary.trace_id] = summary.status
                cursor = max(cursor, stamp)
        deadline = time.monotonic() + 30
        while seen != expected and time.monotonic() < deadline:
            for stamp, summary in storage.summaries_changed_since_sync(cursor):
                seen[summary.trace_id] = summary.status
                cursor = max(cursor, stamp)
            time.sleep(0.05)
        assert seen == expected
    finally:
        storage.close_sync()


def test_the_environment_names_the_read_replica(
    servers: tuple[PrivateServer, PrivateServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    primary, replica = servers
    env = {"TRACE_DATABASE_URL": primary.url, "TRACE_DATABASE_READ_URL": replica.url}
    config = TraceConfig.from_env(env)
    assert config.database_read_url == replica.url
    storage = create_storage(config)
    assert isinstance(storage, PostgresTraceStorage)
    assert (storage.url, storage.read_url) == (primary.url, replica.url)
    storage.close_sync()
    monkeypatch.setenv("TRACE_DATABASE_URL", primary.url)
    monkeypatch.setenv("TRACE_DATABASE_READ_URL", replica.url)
    viewer = viewer_server.storage_for(None)
    assert isinstance(viewer, PostgresTraceStorage) and viewer.read_url == replica.url
    try:
        written = traces(0, 3)
        viewer.write_traces(written)
        # the viewer app lists what the replica has replayed: all three, soon
        with TestClient(viewer_server.create_app(viewer), base_url="http://127.0.0.1") as client:
            deadline = time.monotonic() + 30
            listed: set[str] = set()
            while len(listed) < 3 and time.monotonic() < deadline:
                response = client.get("/api/traces?limit=50")
                assert response.status_code == 200, response.text
                listed = {item["trace_id"] for item in response.json()["items"]}
                time.sleep(0.05)
            assert listed == {t.trace_id for t in written}
    finally:
        viewer.close_sync()
