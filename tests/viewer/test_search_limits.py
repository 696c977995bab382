"""A search's cost is bounded: its words, its queries' time, and searches at once; real
viewers over real SQLite files."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from myagent.trace import SQLiteTraceStorage, TraceFilter
from myagent.trace.records import Trace
from myagent.trace.summary import TraceSummary


def _seed(path: Path, count: int) -> SQLiteTraceStorage:
    storage = SQLiteTraceStorage(path)
    traces = [
        Trace.from_dict(
            {
                "trace_id": f"t{i:06d}",
                "name": "run",
                "agent_name": "searcher",
                "input": f"weather report number {i} for paris and london",
                "status": "success",
                "start_time": "2026-01-01T00:00:00+00:00",
                "runs": [],
            }
        )
        for i in range(count)
    ]
    storage.write_traces(traces)
    return storage


def test_searches_with_too_many_or_too_long_words_get_a_422(
    tmp_path: Path, viewer_factory: Any
) -> None:
    viewer = viewer_factory(_seed(tmp_path / "t.db", 3), max_search_terms=4)
    with httpx.Client(base_url=viewer.url, timeout=10) as client:
        many = client.get("/api/traces", params={"q": "a b c d e"})
        assert many.status_code == 422
        assert many.json()["detail"] == "the search has 5 words; at most 4"
        long = client.get("/api/traces/count", params={"q": "x" * 65})
        assert long.status_code == 422
        assert "65 characters; at most 64" in long.json()["detail"]
        assert client.get("/api/traces", params={"q": "paris weather"}).status_code == 200


def test_a_search_past_its_time_budget_is_stopped_with_a_503(
    tmp_path: Path, viewer_factory: Any
) -> None:
    # 6,000 matches: each query below runs over 10,000 SQLite steps, where the clock is read
    storage = _seed(tmp_path / "t.db", 6000)
    stopped = viewer_factory(storage, search_timeout=1e-6)  # any real search runs past it
    with httpx.Client(base_url=stopped.url, timeout=30) as client:
        for path in ("/api/traces/count", "/api/traces", "/api/stats"):
            response = client.get(path, params={"q": "weather london"})
            assert response.status_code == 503, path
            assert "budget and was stopped" in response.json()["detail"]
        assert client.get("/api/traces/count").json()["count"] == 6000  # no search, no budget
        assert stopped.app.state.searches.running == 0  # every slot was given back
    unbounded = viewer_factory(SQLiteTraceStorage(tmp_path / "t.db"))
    with httpx.Client(base_url=unbounded.url, timeout=30) as client:
        counted = client.get("/api/traces/count", params={"q": "weather london"})
        assert counted.json()["count"] == 6000


class _HeldSearches(SQLiteTraceStorage):
    """A real SQLite storage whose searches wait until the test lets them go."""

    entered = threading.Event()
    release = threading.Event()

    def query_summaries_sync(
        self, filter: TraceFilter | None = None, **options: Any
    ) -> list[TraceSummary]:
        if filter is not None and filter.text:
            self.entered.set()
            self.release.wait(20)
        return super().query_summaries_sync(filter, **options)


def test_searches_beyond_the_concurrency_limit_are_refused_at_once(
    tmp_path: Path, viewer_factory: Any
) -> None:
    _seed(tmp_path / "t.db", 5).close_sync()
    viewer = viewer_factory(_HeldSearches(tmp_path / "t.db"), max_concurrent_searches=1)
    with httpx.Client(base_url=viewer.url, timeout=30) as client, ThreadPoolExecutor(1) as pool:
        first = pool.submit(client.get, "/api/traces", params={"q": "paris"})
        assert _HeldSearches.entered.wait(20)
        busy = client.get("/api/traces", params={"q": "london"})
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "1"
        assert "searches are running (the limit)" in busy.json()["detail"]
        assert client.get("/api/traces").status_code == 200  # other requests go on
        _HeldSearches.release.set()
        assert first.result().status_code == 200
        assert client.get("/api/traces", params={"q": "london"}).status_code == 200
