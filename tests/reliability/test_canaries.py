"""Secret canaries planted in every field kind never leave the process unredacted.

The field list and canaries come from tests/trace/test_redaction.py (which checks the
SQLite file, its -wal and an in-memory sink); here every other way out is checked:
PostgreSQL, OTLP request bodies, TraceExporter files and every viewer response.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import psycopg

from myagent.trace import SQLiteTraceStorage, TraceManager
from myagent.trace.export import TraceExporter
from myagent.trace.otel import enable_otlp_export
from myagent.trace.storage.base import TraceStorage
from myagent.trace.viewer.payloads import RECORD_FIELDS, TRACE_FIELDS
from tests.support.otlp_receiver import OTLPReceiver
from tests.trace.test_redaction import SECRETS, _record_everywhere


def _assert_clean(where: str, data: str | bytes) -> None:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked in {where}"


def _viewer_responses(url: str, trace_id: str, trace: Any) -> dict[str, bytes]:
    """Every viewer API answer that can show this trace, by path."""
    paths = [
        "/api/traces",
        f"/api/traces/{trace_id}",
        f"/api/traces/{trace_id}/search?q=CANARY",
        f"/api/traces/{trace_id}/search?q=key",
        "/api/runs",
        "/api/errors",
        "/api/sessions",
        f"/api/sessions/{trace.session_id}",
        "/api/export?format=json",
        "/api/export?format=jsonl",
        "/api/export?format=csv",
        "/api/facets",
        "/api/stats",
        "/api/stats/tools",
    ]
    paths += [f"/api/traces/{trace_id}/payload/{field}" for field in TRACE_FIELDS]
    for run in trace.runs:
        paths.append(f"/api/traces/{trace_id}/records/{run.run_id}")
        paths += [
            f"/api/traces/{trace_id}/records/{run.run_id}/payload/{field}?download=true"
            for field in RECORD_FIELDS
        ]
    out = {}
    with httpx.Client(base_url=url, timeout=10) as client:
        for path in paths:
            response = client.get(path)
            assert response.status_code in (200, 404), (path, response.status_code)
            out[path] = response.content
    return out


def test_no_canary_in_otlp_bytes_exports_or_any_viewer_response(
    tmp_path: Path, otlp_receiver: OTLPReceiver, viewer_factory: Any
) -> None:
    """Guarantee: secrets in any field are absent from the SQLite file and -wal, the OTLP
    request bodies, JSON/JSONL/CSV exports, and every viewer response for the trace."""
    db = tmp_path / "canary.db"
    manager = TraceManager(SQLiteTraceStorage(db))
    enable_otlp_export(manager, otlp_receiver.url)
    trace_id = _record_everywhere(manager)
    assert manager.flush(10)
    for file in tmp_path.iterdir():
        _assert_clean(file.name, file.read_bytes())
    (request,) = otlp_receiver.wait_for_requests(1)
    _assert_clean("OTLP request body", request.request.SerializeToString())
    storage = SQLiteTraceStorage(db)
    trace = storage.get_trace_sync(trace_id)
    assert trace is not None and len(trace.runs) == 2
    exporter = TraceExporter()
    _assert_clean("to_json", exporter.to_json([trace]))
    jsonl, csv = io.StringIO(), io.StringIO()
    assert exporter.to_jsonl([trace], jsonl) == 1 and exporter.to_csv([trace], csv) > 0
    _assert_clean("to_jsonl", jsonl.getvalue())
    _assert_clean("to_csv", csv.getvalue())
    viewer = viewer_factory(storage)
    responses = _viewer_responses(viewer.url, trace_id, trace)
    assert trace_id.encode() in responses[f"/api/traces/{trace_id}"]  # the trace is served
    for path, body in responses.items():
        _assert_clean(f"viewer {path}", body)
    manager.close()


def test_no_canary_in_postgres_tables(postgres_storage: TraceStorage, postgres_url: str) -> None:
    """Guarantee: secrets in any field are absent from every PostgreSQL table's text."""
    manager = TraceManager(postgres_storage)
    trace_id = _record_everywhere(manager)
    assert manager.close(10)  # closed before the fixture drops the database
    schema = postgres_storage.schema  # type: ignore[attr-defined]
    with psycopg.connect(postgres_url) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            )
        ]
        assert "traces" in tables
        dump = []
        for table in tables:
            query = f'SELECT t::text FROM "{schema}"."{table}" t'
            dump += [row[0] for row in conn.execute(query)]  # type: ignore[arg-type]
    text = "\n".join(dump)
    assert trace_id in text
    _assert_clean("PostgreSQL", text)
