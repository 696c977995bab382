"""Property-based fuzzing of the viewer from its own OpenAPI document (schemathesis)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from myagent.trace import SQLiteTraceStorage, TraceManager
from tests.support.viewer import ViewerTestServer, write_agent_trace


@pytest.fixture(scope="module")
def viewer_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The OpenAPI document of a real viewer (over a seeded SQLite file), served on 127.0.0.1."""
    db = tmp_path_factory.mktemp("schema") / "v.db"
    manager = TraceManager(SQLiteTraceStorage(db))
    write_agent_trace(
        manager, agent="alpha", question="q", tool="lookup", params={"k": 1}, output="o", answer="a"
    )
    assert manager.flush(10)
    manager.close()
    server = ViewerTestServer(SQLiteTraceStorage(db)).start()
    try:
        yield schemathesis.openapi.from_url(f"{server.url}/api/openapi.json").exclude(
            path="/api/live"  # an endless event stream
        )
    finally:
        server.stop()


def test_no_generated_request_gets_a_server_error(viewer_schema: Any) -> None:
    """Guarantee: no request generated from the viewer's own OpenAPI document, for any of its
    operations, gets a 500 (a bounded run: a few examples per operation)."""
    operations = len(list(viewer_schema.get_all_operations()))
    assert operations > 15

    @given(case=viewer_schema.as_strategy())
    @settings(
        max_examples=operations * 10,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,  # the same examples on every run: CI stays deterministic
    )
    def fuzz(case: Any) -> None:
        # with the header the UI sends, so writes reach their routes past the write guard
        case.call_and_validate(checks=[not_a_server_error], headers={"x-myagent-request": "1"})

    fuzz()
