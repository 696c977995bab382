"""Secret canaries of every kind, planted in every field, never leave the process.

One trace carries a canary of every secret format the redactor knows (API keys, AWS key
pairs, tokens, JWTs, URL credentials, query secrets, connection strings, PEM keys,
`password=` in logs, secret keys in dicts, bytes keys, dataclass fields) in every field:
names, agent, session, tags, metadata keys and values, input, output, messages, tool
parameters and outputs, errors, stack traces and logs. Then the raw bytes of every way
out are grepped: the SQLite file and its -wal, a pg_dump of the PostgreSQL schema,
TraceExporter's JSON, JSONL, CSV and pandas output, the OTLP exporter's request bodies,
an in-memory sink, and every GET route of the viewer (the app's route table, not a
hand-picked list), the live feed and the in-process viewer of a running trace.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from myagent.trace import (
    InMemoryTraceStorage,
    SQLiteTraceStorage,
    StepRecord,
    ThinkRecord,
    ToolRecord,
    TraceManager,
)
from myagent.trace.export import TraceExporter
from myagent.trace.otel import enable_otlp_export
from myagent.trace.storage.base import TraceStorage
from myagent.trace.sync_bridge import run_sync
from myagent.trace.viewer.payloads import RECORD_FIELDS, TRACE_FIELDS
from tests.reliability.test_viewer_attacks import _routes
from tests.support.otlp_receiver import OTLPReceiver

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJDQU5BUlkifQ.c2lnbmF0dXJlQ0FOQVJZ"
BASIC = base64.b64encode(b"CANARY:basic-pw").decode()
AWS_SECRET = "CANARY" + "a1" * 17  # 40 characters, as AWS secret access keys are

TEXTS = [
    "sk-proj-CANARYopenai0123456789abcdef",
    "sk-ant-api03-CANARYanthropic0123456789",
    "AKIACANARY0123456789",
    f"AKIAIOSFODNN7EXAMPLE {AWS_SECRET}",
    "aws_secret_access_key=CANARYawssecret",
    "ghp_CANARYabcdefghijklmnopqrstuvwxyz012345",
    "AIzaCANARY" + "b" * 29,
    "xoxb-CANARY-123456789012",
    "https://hooks.slack.com/services/T0CANARY/B0CANARY/CANARYwebhook",
    "sk_live_CANARYstripe0123456789",
    "rk_live_CANARYrestricted012345",
    JWT,
    "Server=db;User Id=sa;Password=CANARY-connstr-pw;Encrypt=true",
    "Driver={x};Pwd=CANARY-pwd-val;",
    "DefaultEndpointsProtocol=https;AccountKey=CANARYazurekey0123==;EndpointSuffix=x",
    "postgresql://admin:CANARY-db-pass@db.internal:5432/app",
    "redis://:CANARY-redis-pw@cache:6379/0",
    "https://api.example.com/v1?api_key=CANARY-query-key&q=1",
    "grant_type=x&client_secret=CANARY-client-secret&scope=a",
    "?refresh_token=CANARY-refresh&x=1",
    "https://b.s3.amazonaws.com/k?X-Amz-Date=1&X-Amz-Signature=CANARYamzsig&x=1",
    "Bearer CANARYbearertoken123456",
    f"Authorization: Basic {BASIC}",
    "login failed password=CANARY-log-pw user=bob",
    "-----BEGIN RSA PRIVATE KEY-----\nCANARYpemBODY0123\n-----END RSA PRIVATE KEY-----",
]
EVERY = " | ".join(TEXTS)
"""All canary texts in one string, planted in every text field."""

SECRET_KEYS: dict[Any, Any] = {
    "password": "CANARY-pw-key",
    "passphrase": "CANARY-passphrase",
    "dsn_pass": "CANARY-dsn-pass",
    "api_key": "CANARY-api-key",
    b"api_key": "CANARY-bytes-key",
    "sk-proj-CANARYdictkey0123456789abcd": "a secret as a key",
}
GREP = ["CANARY", JWT, BASIC, "Q0FOQVJZ"]
"""Every canary holds one of these (CANARY itself, or its base64 forms)."""


@dataclasses.dataclass
class Login:
    """A dataclass value: its fields get the key rules."""

    user: str
    password: str


def _assert_clean(where: str, data: str | bytes) -> None:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    for needle in GREP:
        assert needle not in text, f"{needle!r} leaked in {where}: ...{_around(text, needle)}..."


def _around(text: str, needle: str) -> str:
    at = text.find(needle)
    return text[max(0, at - 80) : at + 80]


def _seed(manager: TraceManager, name: str = "canary") -> str:
    """One trace with every canary in every field; returns its id."""
    tool_args = json.dumps({"city": "NYC", "token": "CANARY-json-token", "note": EVERY})
    scope = manager.trace(
        f"{name} {EVERY}",
        agent_name=f"agent {EVERY}",
        input={**SECRET_KEYS, "question": EVERY},
        session_id=f"session {TEXTS[0]}",
        metadata={**SECRET_KEYS, "note": EVERY, "login": Login("bob", "CANARY-dc-pw")},
        tags=["plain", f"tag {EVERY}"],
    )
    try:
        with scope as trace:
            think = manager.start_run(
                ThinkRecord,
                f"think {EVERY}",
                agent_name=f"agent {EVERY}",
                model=f"model {EVERY}",
                input=EVERY,
                system_prompts=[EVERY],
                messages=[{"role": "user", "content": EVERY, **SECRET_KEYS}],
                metadata={**SECRET_KEYS, "note": EVERY},
            )
            manager.end_run(
                think,
                llm_response=EVERY,
                tool_calls=[{"id": f"call {TEXTS[1]}", "name": "t", "arguments": tool_args}],
            )
            try:
                with manager.run(
                    f"tool {EVERY}",
                    ToolRecord,
                    parent=think,
                    tool_name=f"tool {EVERY}",
                    tool_call_id=f"call {EVERY}",
                    input_params={**SECRET_KEYS, "q": EVERY, "login": Login("a", "CANARY-dc2")},
                ) as tool:
                    tool.output = EVERY  # type: ignore[attr-defined]
                    manager.add_log_entry(level="INFO", message=f"log {EVERY}")
                    raise ValueError(f"tool failed {EVERY}")
            except ValueError:
                pass
            step = manager.start_run(StepRecord, f"step {EVERY}", inputs={"pw": EVERY})
            manager.end_run(step, output=Login("c", "CANARY-dc3"), error=f"step error {EVERY}")
            trace.output = {**SECRET_KEYS, "answer": EVERY}
            raise RuntimeError(f"trace failed {EVERY}")
    except RuntimeError:
        pass
    return trace.trace_id


def _fill(path: str, trace: Any, run_id: str, field: str) -> str:
    values = {
        "trace_id": trace.trace_id,
        "run_id": run_id,
        "field": field,
        "session_id": quote(trace.session_id or "x", safe=""),
    }
    return re.sub(r"{(\w+)(:\w+)?}", lambda m: values.get(m.group(1), "x"), path)


QUERIES = {
    "/api/traces/{trace_id}/search": ["?q=password", "?q=key", "?q=REDACTED"],
    "/api/export": ["?format=json", "?format=jsonl", "?format=csv"],
    "/api/compare": ["?a={trace_id}&b={trace_id}"],
    "/api/traces": ["", "?q=REDACTED", "?limit=500"],
    "/api/runs": ["", "?q=REDACTED"],
}


def _viewer_responses(url: str, app: Any, trace: Any) -> dict[str, bytes]:
    """Every GET route of the app's route table with the trace's ids, fields and
    session filled in (the live feed is read on its own)."""
    out: dict[str, bytes] = {}
    with httpx.Client(base_url=url, timeout=15) as client:
        for route in _routes(app.routes):
            path = route.path
            if "GET" not in (getattr(route, "methods", None) or ()):
                continue
            if not path.startswith("/api/") or path in ("/api/live", "/api/docs"):
                continue
            fields = (
                TRACE_FIELDS if "/payload/" in path and "records" not in path else RECORD_FIELDS
            )
            runs = [r.run_id for r in trace.runs] if "{run_id}" in path else ["x"]
            for run_id in runs:
                for field in fields if "{field}" in path else ["x"]:
                    for query in QUERIES.get(path, [""]):
                        target = _fill(path + query, trace, run_id, field)
                        for extra in ("", "&download=true" if "?" in target else "?download=true"):
                            response = client.get(target + extra)
                            assert response.status_code < 500, (target, response.status_code)
                            out[target + extra] = response.content
    return out


def _live_events(url: str, manager: TraceManager) -> bytes:
    """The live feed's bytes while a canary trace is written."""
    got = b""
    with httpx.Client(base_url=url, timeout=20) as client:
        with client.stream("GET", "/api/live") as stream:
            trace_id = _seed(manager, "live")
            assert manager.flush(10)
            deadline = time.monotonic() + 15
            for chunk in stream.iter_bytes():
                got += chunk
                if trace_id.encode() in got or time.monotonic() > deadline:
                    break
    assert trace_id.encode() in got  # the feed did carry the trace
    return got


def test_no_canary_in_sqlite_wal_sink_otlp_exports_or_any_viewer_response(
    tmp_path: Path, otlp_receiver: OTLPReceiver, viewer_factory: Any
) -> None:
    """Guarantee: no canary of any kind, planted in any field, reaches the SQLite file
    or its -wal, a sink, an OTLP request body, JSON/JSONL/CSV/pandas exports, any GET
    route of the viewer or its live feed."""
    db = tmp_path / "canary.db"
    sink = InMemoryTraceStorage()
    manager = TraceManager(SQLiteTraceStorage(db))
    manager.add_sink(sink, "collector")
    enable_otlp_export(manager, otlp_receiver.url)
    trace_id = _seed(manager)
    assert manager.flush(10)
    for file in tmp_path.iterdir():  # the database, its -wal and -shm
        _assert_clean(file.name, file.read_bytes())
    (request,) = otlp_receiver.wait_for_requests(1)
    _assert_clean("OTLP request body", request.request.SerializeToString())
    in_sink = run_sync(sink.get_trace(trace_id))
    assert in_sink is not None
    _assert_clean("sink", json.dumps(in_sink.to_dict(), default=str))

    storage = SQLiteTraceStorage(db)
    trace = storage.get_trace_sync(trace_id)
    assert trace is not None and len(trace.runs) == 3 and trace.logs
    assert trace.tool_records[0].stacktrace  # the traceback was kept, redacted
    exporter = TraceExporter()
    _assert_clean("to_json", exporter.to_json([trace]))
    jsonl, csv = io.StringIO(), io.StringIO()
    assert exporter.to_jsonl([trace], jsonl) == 1 and exporter.to_csv([trace], csv) > 0
    _assert_clean("to_jsonl", jsonl.getvalue())
    _assert_clean("to_csv", csv.getvalue())
    frame = exporter.to_dataframe([trace])
    _assert_clean("to_dataframe", frame.to_json(default_handler=str, date_format="iso"))

    viewer = viewer_factory(storage)
    responses = _viewer_responses(viewer.url, viewer.app, trace)
    assert len(responses) > 40
    assert trace_id.encode() in responses[f"/api/traces/{trace_id}"]  # the trace is served
    for path, body in responses.items():
        _assert_clean(f"viewer {path}", body)
    _assert_clean("viewer live feed", _live_events(viewer.url, manager))
    manager.close()


def test_the_in_process_viewer_shows_a_running_trace_redacted(viewer_factory: Any) -> None:
    """Guarantee: `start_trace_viewer` in the traced process serves running traces
    through the redactor, like stored ones."""
    manager = TraceManager(InMemoryTraceStorage())
    viewer = viewer_factory(manager=manager)
    with manager.trace(f"running {EVERY}", input={**SECRET_KEYS, "q": EVERY}) as trace:
        think = manager.start_run(ThinkRecord, "think", messages=[{"content": EVERY}])
        manager.add_log_entry(message=f"log {EVERY}")
        responses = _viewer_responses(viewer.url, viewer.app, trace)
        assert trace.trace_id.encode() in responses[f"/api/traces/{trace.trace_id}"]
        for path, body in responses.items():
            _assert_clean(f"in-process viewer {path}", body)
        manager.end_run(think)
    manager.close()


def test_no_canary_in_a_pg_dump_of_the_postgres_schema(
    postgres_storage: TraceStorage, postgres_url: str
) -> None:
    """Guarantee: no canary reaches any PostgreSQL table (a pg_dump of the schema)."""
    manager = TraceManager(postgres_storage)
    trace_id = _seed(manager)
    assert manager.close(10)  # closed before the fixture drops the schema
    schema = postgres_storage.schema  # type: ignore[attr-defined]
    dump = subprocess.run(
        ["pg_dump", "--no-owner", "--schema", schema, postgres_url],
        capture_output=True,
        check=False,
        timeout=60,
    )
    if dump.returncode != 0:
        pytest.fail(f"pg_dump failed: {dump.stderr.decode()[-500:]}")
    assert trace_id.encode() in dump.stdout  # the trace is in the dump
    _assert_clean("pg_dump", dump.stdout)
