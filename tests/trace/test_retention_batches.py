"""Retention deletes in batches of `RETENTION_BATCH` traces, one transaction each, oldest
first, so a writer never waits for the whole deletion; what it keeps is unchanged."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from myagent.trace import InMemoryTraceStorage, SQLiteTraceStorage, Trace, TraceStorage
from myagent.trace.ids import us_to_datetime
from myagent.trace.storage import sql_storage
from myagent.trace.storage.sql_storage import SQLTraceStorage
from myagent.trace.sync_bridge import run_sync
from tests.support.postgres import fresh_storage


def traces() -> list[Trace]:
    """25 finished traces; pairs share a start time, so ties are broken by trace id."""
    out = []
    for i in range(25):
        trace = Trace(name=f"t{i}", start_us=1_000_000 * (i // 2))
        trace.end_us, trace.status = trace.start_us + 10, "success"
        out.append(trace)
    return out


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SQLTraceStorage]:
    if request.param == "sqlite":
        sqlite = SQLiteTraceStorage(tmp_path / "r.db")
        yield sqlite
        sqlite.close_sync()
    else:
        yield from fresh_storage(request.getfixturevalue("postgres_url"))


def kept(storage: TraceStorage) -> list[str]:
    return [t.trace_id for t in run_sync(storage.query_traces(None, order_by="start_time"))]


def test_retention_deletes_oldest_first_in_batches(
    store: SQLTraceStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = traces()
    run_sync(store.store_traces(items))
    reference = InMemoryTraceStorage()
    run_sync(reference.store_traces(items))
    monkeypatch.setattr(sql_storage, "RETENTION_BATCH", 4)
    batches: list[list[str]] = []
    delete = store.delete_traces_sync

    def recording(trace_ids: Sequence[str]) -> int:
        batches.append(list(trace_ids))
        assert kept(store)[: len(trace_ids)] == list(trace_ids)  # the oldest go first
        return delete(trace_ids)

    monkeypatch.setattr(store, "delete_traces_sync", recording)
    cutoff = us_to_datetime(5_000_000)  # the first 10 traces started before it
    assert store.cleanup_sync(older_than=cutoff, max_count=7) == 18
    assert [len(b) for b in batches] == [4, 4, 2, 4, 4]
    assert run_sync(reference.cleanup(older_than=cutoff, max_count=7)) == 18
    assert kept(store) == kept(reference)
