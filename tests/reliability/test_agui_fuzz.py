"""Property-based fuzzing of the AG-UI endpoint (hypothesis): whatever the body, content
type and thread token, a real server answers with a 4xx, a 503, or a stream that ends with
RUN_FINISHED/RUN_ERROR; never a 500."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from myagent.ws.agui import AguiApp
from tests.support.viewer import free_port
from tests.support.ws import make_factory

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ("threadId", "runId", "messages", "tools", "context", "state", "forwardedProps")


@st.composite
def run_inputs(draw: st.DrawFn) -> bytes:
    """A RunAgentInput with any field made odd, or any JSON, or any bytes."""
    kind = draw(st.sampled_from(["mutated", "json", "bytes", "message"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "json":
        return json.dumps(draw(JSON)).encode()
    body: dict[str, Any] = {
        "threadId": draw(st.text(min_size=1, max_size=20)),
        "runId": "r1",
        "messages": [{"id": "m1", "role": "user", "content": "hi"}],
        "tools": [],
        "context": [],
        "state": {},
        "forwardedProps": {},
    }
    if kind == "message":
        body["messages"] = [
            {"id": "m", "role": draw(st.sampled_from(["user", "assistant", "tool", 1])),
             "content": draw(JSON)}
            for _ in range(draw(st.integers(0, 3)))
        ]  # fmt: skip
    else:
        for field in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
            if draw(st.booleans()):
                body[field] = draw(JSON)
            else:
                del body[field]
    return json.dumps(body).encode()


@pytest.fixture(scope="module")
def agui_url() -> Iterator[str]:
    """A real AG-UI app served by uvicorn on 127.0.0.1 from a thread."""
    port = free_port()
    app = AguiApp(make_factory(["ok"]), max_threads=100_000)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(10)


def test_no_request_to_the_agui_endpoint_gets_a_server_error(agui_url: str) -> None:
    with httpx.Client(timeout=30) as client:

        @given(
            body=run_inputs(),
            content_type=st.sampled_from(
                [
                    "application/json",
                    "application/json; charset=utf-8",
                    "text/plain",
                    None,
                    "application/x-www-form-urlencoded",
                    "multipart/form-data; boundary=x",
                ]
            ),
            token=st.none() | st.text(max_size=10).filter(str.isprintable),
        )
        @settings(
            max_examples=300,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        def fuzz(body: bytes, content_type: str | None, token: str | None) -> None:
            headers = {} if content_type is None else {"content-type": content_type}
            if token is not None and token.isascii():
                headers["x-myagent-thread-token"] = token
            response = client.post(agui_url, content=body, headers=headers)
            assert response.status_code in (200, 400, 403, 413, 415, 422, 503), response.text
            if response.status_code == 200:
                events = [
                    json.loads(line[6:])
                    for line in response.text.split("\n")  # SSE splits on LF only
                    if line.startswith("data: ")
                ]
                assert events[-1]["type"] in ("RUN_FINISHED", "RUN_ERROR")
            else:
                assert response.json()["error"]

        fuzz()
