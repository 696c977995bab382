"""An aggregate reads one snapshot: traces committed by a writer between its statements
(the counts, then the percentile ranks) change nothing in its answer, on SQLite and
PostgreSQL. Before, the ranks could be read from a later state than the count (a
KeyError, or percentiles of other rows)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from myagent.trace import SQLiteTraceStorage, ToolRecord, Trace
from myagent.trace.filters import RunFilter, TraceFilter
from myagent.trace.storage import postgres_analytics, sqlite_analytics
from myagent.trace.storage.postgres import PostgresTraceStorage
from myagent.trace.storage.sql_storage import SQLTraceStorage
from tests.support.postgres import fresh_storage


def batch(tag: int, count: int = 7) -> list[Trace]:
    out = []
    for i in range(count):
        trace = Trace(name=f"{tag}-{i}", agent_name="a", start_us=1_000_000 * i)
        call = ToolRecord(name="t", tool_name="t", trace_id=trace.trace_id, start_us=trace.start_us)
        call.end_us = call.start_us + 10 * (i + 1) * (tag + 1)
        trace.runs.append(call)
        trace.end_us, trace.status = trace.start_us + 100 * (i + 1) * (tag + 1), "success"
        out.append(trace)
    return out


@pytest.fixture(params=["sqlite", "postgres"])
def pair(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[SQLTraceStorage, SQLTraceStorage, Any]]:
    """The storage that aggregates, another one writing to the same database, and the
    analytics module whose `_ranked` / walk runs after the counts."""
    if request.param == "sqlite":
        reader, writer = (
            SQLiteTraceStorage(tmp_path / "s.db"),
            SQLiteTraceStorage(tmp_path / "s.db"),
        )
        yield reader, writer, sqlite_analytics
        reader.close_sync()
        writer.close_sync()
    else:
        for reader in fresh_storage(request.getfixturevalue("postgres_url")):
            writer = PostgresTraceStorage(reader.url, schema=reader.schema)
            yield reader, writer, postgres_analytics
            writer.close_sync()


def test_writes_between_an_aggregates_statements_do_not_change_it(
    pair: tuple[SQLTraceStorage, SQLTraceStorage, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    reader, writer, analytics = pair
    reader.write_traces(batch(0))
    tags = iter(range(1, 100))
    hooks = ["_ranked"] + (
        ["_walk_ranks", "_in_buckets"] if analytics is postgres_analytics else []
    )
    aggregates: list[Callable[[], Any]] = [
        lambda: reader.trace_stats_sync(TraceFilter(agent_names=["a"])),
        lambda: reader.tool_stats_sync(RunFilter(agent_names=["a"])),
        lambda: reader.tool_stats_sync(None),
    ]
    for aggregate in aggregates:
        expected = aggregate()
        with monkeypatch.context() as patch:
            for hook in hooks:
                original: Callable[..., Any] = getattr(analytics, hook)

                def after_a_write(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                    writer.write_traces(batch(next(tags)))  # commits between the statements
                    return _original(*args, **kwargs)

                patch.setattr(analytics, hook, after_a_write)
            assert aggregate() == expected
    assert next(tags) > len(aggregates)  # writes did happen in between
