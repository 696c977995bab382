"""POST /api/import: redacted like live traces, validated whole, streamed, never replacing.

A trace file is checked before anything is stored (ids, run types, list and dict shapes,
64-bit integers) and answered with a 4xx naming the first fault; oversized and deeply
nested files get a clear 4xx with bounded memory; parsing, validation and redaction
run on worker threads, never the event loop's; a trace id already stored is skipped or
stored under a new id, and the answer says which.
"""

from __future__ import annotations

import resource
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from myagent.trace import SQLiteTraceStorage, ThinkRecord, TraceManager, importing
from myagent.trace.redaction import Redactor

HEADERS = {"X-Myagent-Request": "1", "Content-Type": "application/json"}
JSONL = {"X-Myagent-Request": "1", "Content-Type": "application/x-ndjson"}
SECRET = "sk-proj-IMPORTCANARYabcdefghijklmnop"


def _exported(tmp_path: Path, count: int = 2) -> list[dict[str, Any]]:
    """Traces as `/api/export` writes them (from a real manager, redaction off so the
    file holds a secret, as a file from elsewhere might)."""
    manager = TraceManager(SQLiteTraceStorage(tmp_path / "source.db"))
    manager.configure(redact=False)
    ids = []
    for i in range(count):
        with manager.trace(
            f"t{i}", agent_name="importer", input={"password": "pw", "q": SECRET}
        ) as t:
            think = manager.start_run(ThinkRecord, "think", messages=[{"content": SECRET}])
            manager.end_run(think, llm_response=f"key {SECRET}")
        ids.append(t.trace_id)
    assert manager.flush(10)
    out = []
    for trace_id in ids:
        trace = manager.get_trace(trace_id)
        assert trace is not None
        out.append(orjson.loads(orjson.dumps(trace.to_dict())))
    manager.close()
    return out


@pytest.fixture
def viewer(tmp_path: Path, viewer_factory: Any) -> Any:
    return viewer_factory(SQLiteTraceStorage(tmp_path / "viewer.db"))


def _post(
    viewer: Any, body: Any, headers: dict[str, str] = HEADERS, **params: str
) -> httpx.Response:
    with httpx.Client(base_url=viewer.url, timeout=120) as client:
        return client.post("/api/import", content=body, headers=headers, params=params)


def test_imported_traces_are_redacted_like_live_ones(tmp_path: Path, viewer: Any) -> None:
    traces = _exported(tmp_path)
    body = b"\n".join(orjson.dumps(t) for t in traces)
    result = _post(viewer, body, JSONL)
    assert result.status_code == 200, result.text
    assert result.json()["imported"] == 2 and result.json()["redacted"] is True
    with httpx.Client(base_url=viewer.url, timeout=10) as client:
        detail = client.get(f"/api/traces/{traces[0]['trace_id']}")
    assert detail.status_code == 200 and SECRET not in detail.text
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("viewer.db*"))
    assert SECRET.encode() not in raw and b'"pw"' not in raw


def _broken(tmp_path: Path) -> dict[str, Any]:
    cases: dict[str, Any] = {}
    good = _exported(tmp_path, 1)[0]

    def variant(change: Any) -> Any:
        item = orjson.loads(orjson.dumps(good))
        change(item)
        return item

    cases["bad trace id"] = variant(lambda t: t.update(trace_id="../etc/passwd"))
    cases["bad run id"] = variant(lambda t: t["runs"][0].update(run_id="a b"))
    cases["unknown run type"] = variant(lambda t: t["runs"][0].update(run_type="shell"))
    cases["runs not a list"] = variant(lambda t: t.update(runs={"a": 1}))
    cases["metadata not a dict"] = variant(lambda t: t.update(metadata=[1, 2]))
    cases["tags not strings"] = variant(lambda t: t.update(tags=[{"x": 1}]))
    cases["tokens past 64 bits"] = variant(lambda t: t["runs"][0].update(tokens_used=2**63))
    cases["tokens as a float"] = variant(lambda t: t["runs"][0].update(tokens_used=1e30))
    cases["time past 64 bits"] = variant(lambda t: t.update(start_us=2**64 - 1))
    cases["unknown status"] = variant(lambda t: t.update(status="exploded"))
    cases["logs not objects"] = variant(lambda t: t.update(logs=["x"]))
    cases["not an object"] = "just a string"
    return cases


def test_every_malformed_trace_gets_a_4xx_and_nothing_is_stored(
    tmp_path: Path, viewer: Any
) -> None:
    """Guarantee: validated like live records; one bad trace refuses the whole file."""
    good = _exported(tmp_path, 1)[0]
    for name, bad in _broken(tmp_path).items():
        for body in (orjson.dumps([good, bad]), orjson.dumps(good) + b"\n" + orjson.dumps(bad)):
            response = _post(viewer, body)
            assert response.status_code == 422, (name, response.status_code, response.text)
            assert "not imported" in response.json()["detail"]
    with httpx.Client(base_url=viewer.url, timeout=10) as client:
        assert client.get("/api/traces/count").json()["count"] == 0  # the good one neither


def test_a_file_nested_10000_levels_deep_gets_a_422(viewer: Any) -> None:
    deep = b'{"trace_id": "abc", "metadata": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    for body in (deep, b"[" + deep + b"]"):
        response = _post(viewer, body)
        assert response.status_code == 422 and "not valid JSON" in response.text


def _chunks(total: int, first: bytes = b"", fill: bytes = b" ") -> Iterator[bytes]:
    yield first
    mib = 1024 * 1024
    block = (fill * (mib // len(fill) + 1))[:mib]
    sent = len(first)
    while sent < total:
        piece = block[: total - sent]
        sent += len(piece)
        yield piece


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_256_mib_file_gets_a_clear_413_with_bounded_memory(viewer: Any) -> None:
    """Guarantee: 256 MiB (the default limit) and more are refused with a 413, the body
    spooled to disk rather than held: the process grows far less than the file."""
    before = _peak_rss_mb()
    mib = 1024 * 1024
    over = _post(viewer, _chunks(256 * mib + 1, b"["))  # past max_import_bytes
    assert over.status_code == 413
    json_doc = _post(viewer, _chunks(256 * mib, b"[", b"[1],"))
    assert json_doc.status_code == 413 and "JSONL" in json_doc.text
    growth = _peak_rss_mb() - before
    assert growth < 160, f"the viewer's process grew {growth:.0f} MB for a 256 MiB file"


def test_a_stored_id_is_never_replaced(tmp_path: Path, viewer: Any) -> None:
    traces = _exported(tmp_path, 1)
    body = orjson.dumps({"traces": traces})
    first = _post(viewer, body).json()
    original = traces[0]["trace_id"]
    assert first["trace_ids"] == [original]
    skipped = _post(viewer, body).json()
    assert skipped["imported"] == 0 and skipped["skipped"] == [original]
    renamed = _post(viewer, body, on_conflict="new_id").json()
    assert renamed["imported"] == 1 and list(renamed["renamed"]) == [original]
    new_id = renamed["renamed"][original]
    assert renamed["trace_ids"] == [new_id] != [original]
    with httpx.Client(base_url=viewer.url, timeout=10) as client:
        assert client.get("/api/traces/count").json()["count"] == 2
        copy = client.get(f"/api/traces/{new_id}").json()
        assert len(copy["records"]) == 1 and copy["trace_id"] == new_id
        assert client.get(f"/api/traces/{original}").status_code == 200  # kept as it was


def test_parsing_validation_and_redaction_run_off_the_event_loop(
    tmp_path: Path, viewer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    validate = importing.validate
    redact = Redactor.redact_trace

    def spy_validate(data: Any, where: str) -> Any:
        seen.append(threading.current_thread().name)
        return validate(data, where)

    def spy_redact(self: Redactor, trace: Any) -> Any:
        seen.append(threading.current_thread().name)
        return redact(self, trace)

    monkeypatch.setattr(importing, "validate", spy_validate)
    monkeypatch.setattr(Redactor, "redact_trace", spy_redact)
    body = b"\n".join(orjson.dumps(t) for t in _exported(tmp_path, 3))
    assert _post(viewer, body, JSONL).status_code == 200
    assert len(seen) == 3 * 2 + 3  # validated twice (check, then store), redacted once
    assert viewer._thread.name not in seen
