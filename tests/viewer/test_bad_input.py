"""Forged cursors, integers beyond 64 bits and floods of repeated filters get a 4xx that
says what is wrong, never a 500, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from myagent.trace import SQLiteTraceStorage
from tests.support.viewer import seed_traces


@pytest.fixture(params=["sqlite", "postgres"])
def client(request: pytest.FixtureRequest, tmp_path: Path, viewer_factory: Any) -> Any:
    if request.param == "sqlite":
        seed_traces(tmp_path / "t.db")
        storage: Any = SQLiteTraceStorage(tmp_path / "t.db")
    else:
        storage = request.getfixturevalue("postgres_storage")
    viewer = viewer_factory(storage)
    with httpx.Client(base_url=viewer.url, timeout=30) as found:
        yield found


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_more_than_50_repeated_filters_get_a_422_that_says_so(client: httpx.Client) -> None:
    for name in ("tag", "tool", "meta", "model"):
        value = "k=v" if name == "meta" else "x"
        for path in ("/api/traces", "/api/traces/count", "/api/stats"):
            flood = client.get(path, params={name: [value] * 3000})
            assert flood.status_code == 422, (name, path)
            assert flood.json()["detail"] == (
                f"'{name}' is repeated 3000 times; at most 50 are accepted"
            )
        assert client.get("/api/traces", params={name: [value] * 51}).status_code == 422
        assert client.get("/api/traces", params={name: [value] * 50}).status_code == 200
    many_agents = client.get("/api/traces", params={"agent": ["a"] * 1001})
    assert many_agents.status_code == 422 and "at most 1000" in many_agents.json()["detail"]


def test_integers_beyond_64_bits_in_filters_get_a_422(client: httpx.Client) -> None:
    for meta in (
        "k:=9223372036854775808",
        "k:=18446744073709551615",
        'k:={"a":[9223372036854775808]}',
    ):
        for path in ("/api/traces", "/api/traces/count", "/api/stats"):
            response = client.get(path, params={"meta": meta})
            assert response.status_code == 422, (meta, path)
            assert "integers must fit in 64 bits" in response.json()["detail"]
    assert client.get("/api/traces", params={"meta": "k:=-9223372036854775808"}).status_code == 200
    assert client.get("/api/traces", params={"min_tokens": str(2**63)}).status_code == 422


@pytest.mark.parametrize(
    "cursor",
    [
        _cursor([2**63, "x"]),
        _cursor({"a": 1}),
        _cursor([1, 2]),
        _cursor(["1", "x"]),
        "not-base64!",
        "e30",  # {}
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_forged_cursors_get_a_422(client: httpx.Client, cursor: str) -> None:
    for order in ("-start_time", "tokens", "cost"):
        response = client.get("/api/traces", params={"cursor": cursor, "order": order})
        assert response.status_code == 422, order
        assert response.json()["detail"] == "invalid cursor"


def test_an_import_with_a_wrong_typed_id_gets_a_422(client: httpx.Client) -> None:
    for body in ('[{"trace_id": 5}]', '[{"trace_id": null}]', '[{"trace_id": ["a"]}]'):
        response = client.post(
            "/api/import",
            content=body,
            headers={"x-myagent-request": "1", "content-type": "application/json"},
        )
        assert response.status_code == 422, body
