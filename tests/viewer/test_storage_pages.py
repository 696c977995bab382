"""The storage methods the viewer added: keyset pages, search pages, change stamps, records."""

from __future__ import annotations

from pathlib import Path

import pytest

from myagent.trace import SQLiteTraceStorage, Trace
from myagent.trace.filters import TraceFilter
from myagent.trace.storage import sqlite_sql
from myagent.trace.storage.memory import InMemoryTraceStorage


def _traces(count: int) -> list[Trace]:
    words = ["alpha", "bravo", "charlie"]
    return [
        Trace(
            trace_id=f"t{i:04d}",
            agent_name=f"agent_{i % 3}",
            input=f"{words[i % 3]} question {i}",
            status="success",
            start_us=1_000_000 * (i // 2),  # pairs share a start time: the id breaks ties
            end_us=1_000_000 * (i // 2) + 10,
        )
        for i in range(count)
    ]


def _walk(storage: SQLiteTraceStorage | InMemoryTraceStorage, f: TraceFilter | None) -> list[str]:
    import asyncio

    seen: list[str] = []
    after = None
    while True:
        page = asyncio.run(storage.query_summaries(f, limit=4, after=after))
        if not page:
            return seen
        seen += [s.trace_id for s in page]
        after = (page[-1].start_us, page[-1].trace_id)


@pytest.mark.parametrize(
    ("batches", "chunk"), [((3, 5), 4000), ((), 3)], ids=["newest-first", "list-order chunks"]
)
def test_search_pages_walked_equal_the_plain_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batches: tuple[int, ...], chunk: int
) -> None:
    """Keyset pages of a search walked (every search is "common" here) equal the pages
    of the set-based plan."""
    storage = SQLiteTraceStorage(tmp_path / "t.db")
    storage.write_traces(_traces(60))
    for text in ("alpha", "question", "bravo 1", "nothing"):
        f = TraceFilter(text=text)
        plain = [s.trace_id for s in storage.query_summaries_sync(f, limit=100)]
        with monkeypatch.context() as patch:
            patch.setattr(sqlite_sql, "FTS_DIRECT_LIMIT", 2)
            patch.setattr(sqlite_sql, "WALK_BATCHES", batches)
            patch.setattr(sqlite_sql, "FTS_CHUNK", chunk)
            assert _walk(storage, f) == plain, text
    agent = TraceFilter(text="question", agent_names=["agent_1"])
    monkeypatch.setattr(sqlite_sql, "FTS_DIRECT_LIMIT", 2)
    monkeypatch.setattr(sqlite_sql, "WALK_BATCHES", batches)
    monkeypatch.setattr(sqlite_sql, "FTS_CHUNK", chunk)
    assert _walk(storage, agent) == [f"t{i:04d}" for i in range(58, -1, -1) if i % 3 == 1]
    storage.close_sync()


def test_memory_and_sqlite_pages_agree(tmp_path: Path) -> None:
    import asyncio

    traces = _traces(20)
    sqlite = SQLiteTraceStorage(tmp_path / "t.db")
    sqlite.write_traces(traces)
    memory = InMemoryTraceStorage()
    asyncio.run(memory.store_traces(traces))
    for f in (None, TraceFilter(agent_names=["agent_2"]), TraceFilter(text="charlie")):
        assert _walk(sqlite, f) == _walk(memory, f)
    sqlite.close_sync()


def test_change_stamps_increase_in_commit_order(tmp_path: Path) -> None:
    storage = SQLiteTraceStorage(tmp_path / "t.db")
    first, second = _traces(2)
    storage.write_traces([first], final=False)
    stamp, summary = storage.summaries_changed_since_sync(0)[0]
    assert summary.trace_id == first.trace_id
    storage.write_traces([second])
    storage.write_traces([first])  # a rewrite moves the trace after the other one
    changes = storage.summaries_changed_since_sync(stamp)
    assert [s.trace_id for _, s in changes] == [second.trace_id, first.trace_id]
    assert changes[0][0] > stamp and changes[1][0] > changes[0][0]
    assert storage.summaries_changed_since_sync(changes[1][0]) == []
    storage.close_sync()
