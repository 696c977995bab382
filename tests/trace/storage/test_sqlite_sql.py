"""The SQLite search planner: word expansion and the newest-first walk's exact stop."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from myagent.trace import SQLiteTraceStorage, Trace, TraceFilter
from myagent.trace.storage import sqlite_sql
from myagent.trace.storage.memory import InMemoryTraceStorage

BASE_US = 1_767_225_600_000_000


def _trace(i: int, start_us: int) -> Trace:
    return Trace(
        trace_id=f"t{i:05d}",
        agent_name=f"agent_{i % 4}",
        input=f"tango step{i}" if i % 3 else f"kilo step{i}",
        status="success",
        start_us=start_us,
        end_us=start_us + 10,
    )


def _stores(tmp_path: Path, traces: list[Trace]) -> tuple[SQLiteTraceStorage, InMemoryTraceStorage]:
    sqlite = SQLiteTraceStorage(tmp_path / "t.db")
    for at in range(0, len(traces), 500):  # rowids follow this write order
        sqlite.write_traces(traces[at : at + 500])
    memory = InMemoryTraceStorage()
    asyncio.run(memory.store_traces(traces))
    return sqlite, memory


def _ids(
    storage: SQLiteTraceStorage | InMemoryTraceStorage, f: TraceFilter, **kw: object
) -> list[str]:
    return [s.trace_id for s in asyncio.run(storage.query_summaries(f, **kw))]  # type: ignore[arg-type]


def test_the_newest_first_walk_settles_exactly_with_rowids_out_of_start_order(
    tmp_path: Path,
) -> None:
    """Rows are written a little out of start order (as traces finishing out of order
    are); the walk still stops early, and its pages are the in-memory pages."""
    rng = random.Random(3)
    starts = [BASE_US + i * 1_000_000 + rng.randint(-40, 40) * 1_000_000 for i in range(3000)]
    sqlite, memory = _stores(tmp_path, [_trace(i, s) for i, s in enumerate(starts)])
    conn = sqlite._conn()
    for f in (TraceFilter(text="tango"), TraceFilter(text="tang", agent_names=["agent_1"])):
        where, params = sqlite_sql.trace_where(TraceFilter(agent_names=f.agent_names), conn)
        match = sqlite_sql.fts_query(f.text or "", conn)
        for descending, order in ((True, "-start_time"), (False, "start_time")):
            page = sqlite_sql._walk_by_rowid(conn, match, where, params, 50, descending)
            assert page is not None, "the walk settled within its budget"
            want = _ids(memory, f, limit=50, order_by=order)
            assert [trace_id for _, trace_id in page] == want
            assert _ids(sqlite, f, limit=50, order_by=order) == want
        last = asyncio.run(memory.query_summaries(f, limit=50))[-1]
        after = (last.start_us, last.trace_id)
        assert _ids(sqlite, f, limit=50, after=after) == _ids(memory, f, limit=50, after=after)
    sqlite.close_sync()


def test_a_low_rowid_that_starts_last_still_comes_first(tmp_path: Path) -> None:
    """The first row written starts after every other one: no walk may stop before it."""
    traces = [_trace(i, BASE_US + i * 1_000_000) for i in range(3000)]
    traces[1].start_us = traces[1].end_us = BASE_US + 10**10  # starts last, written first
    sqlite, memory = _stores(tmp_path, traces)
    f = TraceFilter(text="tango")
    assert _ids(sqlite, f, limit=20)[0] == "t00001"
    assert _ids(sqlite, f, limit=20) == _ids(memory, f, limit=20)
    sqlite.close_sync()


_STEP99 = "(" + " OR ".join(f'"step{n}"' for n in [99, *range(990, 1000)]) + ")"


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("tango", '"tango"'),  # one term begins "tango"
        ("step99", _STEP99),  # eleven terms begin "step99"
        ("ta", '"ta"*'),  # 2-4 characters: the prefix index
        ("step", '"step"*'),
        ("steps", '"steps"'),  # begins no term: matches nothing
        ("step1", '"step1"*'),  # begins more terms than VOCAB_CAP
        ("Kilo, STEP99", '"kilo"* AND ' + _STEP99),
    ],
)
def test_search_words_expand_to_the_terms_they_begin(tmp_path: Path, text: str, query: str) -> None:
    sqlite, _ = _stores(tmp_path, [_trace(i, BASE_US + i) for i in range(1500)])
    assert sqlite_sql.fts_query(text, sqlite._conn()) == query
    sqlite.close_sync()
