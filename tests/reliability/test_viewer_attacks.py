"""Hostile input against a real viewer: injection and traversal in every parameter, and a
token that guards every route of the app's route table.

Body size limits (413, with and without Content-Length) are proved in
tests/viewer/test_security.py::test_request_bodies_over_the_limit_are_refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from myagent.trace import SQLiteTraceStorage, TraceManager
from tests.support.viewer import write_agent_trace

ATTACKS = [
    "' OR '1'='1",
    "x'; DROP TABLE traces; --",
    '" OR 1=1 --',
    "x') UNION SELECT trace_id, input, output FROM traces --",
    "%",
    "_",
    "*",
    "../../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "\x00",
    "a" * 5000,
]
TOKEN = "attack-test-token"
SECRET_OUTPUT = "internal-only-answer-7731"
STREAMING = {"/api/live"}  # an endless event stream: checked for the token only


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[SQLiteTraceStorage, list[str]]]:
    """A SQLite file holding two ordinary agent traces."""
    manager = TraceManager(SQLiteTraceStorage(tmp_path / "v.db"))
    ids = [
        write_agent_trace(
            manager,
            agent=agent,
            question=f"question for {agent}",
            tool="lookup",
            params={"key": agent},
            output=SECRET_OUTPUT,
            answer="done",
            session=f"s-{agent}",
            tags=["t"],
        )
        for agent in ("alpha", "beta")
    ]
    assert manager.flush(10)
    manager.close()
    yield SQLiteTraceStorage(tmp_path / "v.db"), ids


def _operations(client: httpx.Client) -> list[tuple[str, list[dict[str, Any]]]]:
    spec = client.get("/api/openapi.json").json()
    return [
        (path, op.get("parameters", []))
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method == "get" and path not in STREAMING
    ]


def _is_text_filter(param: dict[str, Any]) -> bool:
    """A repeatable string filter (agent, session, tag, tool...): an attack matches nothing."""
    options = param["schema"].get("anyOf", [])
    return any(o.get("type") == "array" and o["items"].get("type") == "string" for o in options)


def test_injection_and_traversal_in_every_query_parameter_never_fail_or_leak(
    seeded: tuple[SQLiteTraceStorage, list[str]], viewer_factory: Any
) -> None:
    """Guarantee: SQL injection and path traversal strings in any query parameter of any
    route give no 500, and as a filter they match no trace (nothing leaks)."""
    storage, ids = seeded
    viewer = viewer_factory(storage)
    with httpx.Client(base_url=viewer.url, timeout=20) as client:
        trace = client.get(f"/api/traces/{ids[0]}").json()
        run_id = trace["runs"][0]["run_id"] if "runs" in trace else trace["records"][0]["run_id"]
        fill = {"trace_id": ids[0], "run_id": run_id, "session_id": "s-alpha", "field": "input"}
        fill |= {"name": "support", "item_id": "x", "experiment_id": "x"}  # evaluation routes
        checked = 0
        for path, params in _operations(client):
            url = re.sub(r"{(\w+)}", lambda m: fill[m.group(1)], path)
            for param in params:
                if param["in"] != "query":
                    continue
                for attack in ATTACKS:
                    response = client.get(url, params={param["name"]: attack})
                    checked += 1
                    assert response.status_code < 500, (path, param["name"], attack)
                    assert SECRET_OUTPUT not in response.text or not _is_text_filter(param)
                    if path == "/api/traces/count" and _is_text_filter(param):
                        assert response.status_code == 422 or response.json()["count"] == 0, (
                            param["name"],
                            attack,
                        )
        assert checked > 500


def test_hostile_ids_in_paths_are_refused_with_404_or_422(
    seeded: tuple[SQLiteTraceStorage, list[str]], viewer_factory: Any
) -> None:
    """Guarantee: injection or traversal strings in trace and record ids are refused
    (404/422), a session id matches nothing, never a 500, no file outside the UI served."""
    storage, ids = seeded
    viewer = viewer_factory(storage)
    with httpx.Client(base_url=viewer.url, timeout=20) as client:
        for path, _ in _operations(client):
            names = re.findall(r"{(\w+)}", path)
            for name in names:
                if name == "field":
                    continue
                for attack in ATTACKS:
                    values = {n: "x" for n in names} | {"field": "input"}
                    values[name] = quote(attack, safe="")
                    url = path.format(**values)
                    response = client.get(url)
                    if name == "session_id":  # free text: an unknown session is empty
                        assert response.status_code in (200, 404, 422), url
                    else:
                        assert response.status_code in (404, 422), (url, response.status_code)
                    assert SECRET_OUTPUT not in response.text
                    assert not any(trace_id in response.text for trace_id in ids)
        for page in ("/..%2F..%2F..%2Fetc%2Fpasswd", "/assets/..%2F..%2F..%2Fetc%2Fpasswd"):
            response = client.get(page)
            assert response.status_code < 500 and "root:" not in response.text


def _routes(routes: list[Any]) -> Iterator[Any]:
    """Every route of the app, flattening included routers."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)
        else:
            yield route


OPEN_ROUTES = {
    "/api/health": "liveness, says whether a token is required",
    "/api/auth": "the sign-in endpoint itself",
    "/{path:path}": "the UI shell and its static files, which hold no trace data",
    "/docs/oauth2-redirect": "FastAPI's static OAuth helper page",
}


def test_with_a_token_every_route_in_the_route_table_refuses_requests_without_it(
    seeded: tuple[SQLiteTraceStorage, list[str]], viewer_factory: Any
) -> None:
    """Guarantee: with a token set, every route of the app (not a hand-picked list) answers
    401 without it; the few open routes serve no trace data."""
    storage, ids = seeded
    viewer = viewer_factory(storage, token=TOKEN)
    routes = list(_routes(viewer.app.routes))
    assert len(routes) > 20
    with httpx.Client(base_url=viewer.url, timeout=20) as client:
        for route in routes:
            url = re.sub(r"{(\w+)(:\w+)?}", "x", route.path)
            for method in sorted((getattr(route, "methods", None) or {"GET"}) - {"HEAD"}):
                response = client.request(method, url)
                if route.path in OPEN_ROUTES:
                    assert response.status_code != 500
                    assert SECRET_OUTPUT not in response.text and ids[0] not in response.text
                else:
                    assert response.status_code == 401, (method, route.path)
        authed = client.get(f"/api/traces/{ids[0]}", headers={"x-trace-token": TOKEN})
        assert authed.status_code == 200 and SECRET_OUTPUT in authed.text
