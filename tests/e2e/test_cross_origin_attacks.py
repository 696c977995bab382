"""In real Chromium, a page of another origin (another port on 127.0.0.1) attacks the
viewer and `myagent serve`: it can neither import a trace (no-cors fetch, form POST; with
and without a token, the victim signed in), nor open the agent WebSocket (nor can an
.html file opened from disk), nor start an AG-UI run. A front-end on an allowed origin
can."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Request, Response

from myagent.trace import SQLiteTraceStorage
from tests.support.pages import PageServer
from tests.support.viewer import planted_trace_file

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "a-long-enough-viewer-token"

FORM_POST = """([url, body]) => {
  // a text/plain form whose name=value body is the JSON document, posted into a frame
  const frame = document.createElement("iframe");
  frame.name = "sink";
  document.body.append(frame);
  const form = document.createElement("form");
  form.method = "POST";
  form.action = url;
  form.enctype = "text/plain";
  form.target = "sink";
  const field = document.createElement("input");
  field.name = body.slice(0, -1) + ',"pad":"';
  field.value = '"}';
  form.append(field);
  document.body.append(form);
  form.submit();
}"""

NO_CORS_POST = """async ([url, body]) => {
  // the reply is opaque, or blocked by Cross-Origin-Resource-Policy: the request went out
  try {
    await fetch(url, {method: "POST", mode: "no-cors", credentials: "include", body});
  } catch (error) {}
  return "sent";
}"""


def _responses(page: Page, path: str) -> list[Response]:
    seen: list[Response] = []
    page.on("response", lambda r: seen.append(r) if r.url.split("?")[0].endswith(path) else None)
    return seen


def _requests(page: Page, path: str) -> list[Request]:
    seen: list[Request] = []
    page.on("request", lambda r: seen.append(r) if r.url.split("?")[0].endswith(path) else None)
    return seen


@pytest.mark.parametrize("mode", ["no-token", "token"])
def test_a_page_of_another_origin_cannot_import_into_the_viewer(
    page: Page, tmp_path: Path, viewer_factory: Any, mode: str
) -> None:
    token = TOKEN if mode == "token" else None
    viewer = viewer_factory(SQLiteTraceStorage(tmp_path / "t.db"), token=token)
    if token:
        page.goto(f"{viewer.url}/?token={token}")  # the victim signed in: the cookie is set
        assert any(c["name"] == "trace_viewer_token" for c in page.context.cookies())
    sent = _requests(page, "/api/import")
    replies = _responses(page, "/api/import")
    searches = _requests(page, "/api/traces/count")
    body = planted_trace_file().decode()
    target = f"{viewer.url}/api/import"
    with PageServer() as attacker:
        page.goto(attacker.url)
        # the no-cors fetch reaches the server (its reply is then hidden from the page)
        assert page.evaluate(NO_CORS_POST, [target, body]) == "sent"
        with page.expect_response(lambda r: r.url == target):
            page.evaluate(FORM_POST, [target, body])
        page.evaluate(
            "async (url) => { try { await fetch(url, {mode: 'no-cors', credentials: 'include'}); }"
            " catch (e) {} }",
            f"{viewer.url}/api/traces/count?q=a",
        )
    assert [r.method for r in sent] == ["POST", "POST"]  # the fetch, then the form
    assert [r.status for r in replies] == [403]  # the form's reply (the fetch's is opaque)
    # the attacker's search went out (the signed-in viewer page may still be asking its own)
    assert len([r for r in searches if r.url.endswith("?q=a")]) == 1
    for request in sent:
        assert request.headers["content-type"].startswith("text/plain")
        assert "x-myagent-request" not in request.headers
    form = replies[0].request.all_headers()
    # what the guard keys on: Chromium names the other port's page as another origin
    assert form["sec-fetch-site"] == "same-site"
    assert form["origin"] == attacker.url
    if token:  # the victim's cookie rode along: only the guard stopped the attack
        assert "trace_viewer_token" in form.get("cookie", "")
    auth = {"authorization": f"Bearer {TOKEN}"} if token else {}
    with httpx.Client(base_url=viewer.url, headers=auth, timeout=10) as client:
        count = client.get("/api/traces/count", params={"agent": "planted_agent"}).json()
    assert count["count"] == 0


AGENT_FILE = """
from myagent import create_toolcall_agent
from myagent.llm import ScriptedLLM

def create_agent():
    return create_toolcall_agent("served-agent", [], llm=ScriptedLLM(["served answer"]))
"""


class Served:
    """`myagent serve` as a real process, with the addresses it printed."""

    def __init__(self, process: subprocess.Popen[str], ws: str, agui: str) -> None:
        self.process, self.ws, self.agui = process, ws, agui


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Served, PageServer, PageServer]]:
    """`myagent serve` allowing one front-end page server; another page server attacks."""
    (tmp_path / "served_agent.py").write_text(textwrap.dedent(AGENT_FILE))
    with PageServer() as front_end, PageServer() as attacker:
        environ = {
            **os.environ,
            "TRACE_STORAGE": "sqlite",
            "TRACE_DATABASE_URL": f"sqlite:///{tmp_path / 'traces.db'}",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(tmp_path), str(ROOT)]),
        }
        environ.pop("OPENAI_API_KEY", None)
        environ.pop("OPENAI_BASE_URL", None)
        command = [sys.executable, "-m", "myagent.cli", "serve", "served_agent.py"]
        process = subprocess.Popen(
            [*command, "--port", "0", "--allow-origin", front_end.url],
            cwd=tmp_path,
            env=environ,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None
            ws = agui = ""
            while not (ws and agui):
                line = process.stdout.readline()
                assert line, "myagent serve exited"
                if found := re.search(r"(ws://\S+)", line):
                    ws = found.group(1)
                if found := re.search(r"(http://\S+)", line):
                    agui = found.group(1)
            yield Served(process, ws, agui), front_end, attacker
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(30)


OPEN_SOCKET = """(url) => new Promise((resolve) => {
  const socket = new WebSocket(url);
  socket.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    if (frame.event === "system.connected") {
      socket.send(JSON.stringify({event: "user.create_session"}));
    } else if (frame.event === "agent.session_created") {
      socket.close();
      resolve("session created");
    }
  };
  socket.onerror = () => resolve("refused");
})"""

CORS_RUN = """async ([url, body]) => {
  try {
    const reply = await fetch(url, {method: "POST", body,
                                    headers: {"content-type": "application/json"}});
    return await reply.text();
  } catch (error) {
    return "blocked: " + error;
  }
}"""


def test_a_page_of_another_origin_cannot_use_the_agent_servers(
    page: Page, tmp_path: Path, served: tuple[Served, PageServer, PageServer]
) -> None:
    server, front_end, attacker = served
    runs = _responses(page, "/")
    run_input = (
        '{"threadId":"t-attack","runId":"r1","messages":'
        '[{"id":"m1","role":"user","content":"attacker input"}]}'
    )
    page.goto(attacker.url)
    assert page.evaluate(OPEN_SOCKET, server.ws) == "refused"
    assert page.evaluate(NO_CORS_POST, [server.agui, run_input]) == "sent"
    with page.expect_response(lambda r: r.url == server.agui and r.request.method == "POST"):
        page.evaluate(FORM_POST, [server.agui, run_input])
    assert page.evaluate(CORS_RUN, [server.agui, run_input]).startswith("blocked")
    refused = [r.status for r in runs if r.url == server.agui and r.request.method == "POST"]
    assert refused == [403, 403]  # no-cors fetch and form: the page's Origin is refused
    # an .html file opened from disk (Origin: null) cannot either
    local = tmp_path / "downloaded.html"
    local.write_text("<!doctype html><title>local</title><p>opened from disk</p>")
    page.goto(local.as_uri())
    assert page.evaluate(OPEN_SOCKET, server.ws) == "refused"
    # a front-end on the allowed origin opens the socket and runs the agent over AG-UI
    page.goto(front_end.url)
    assert page.evaluate(OPEN_SOCKET, server.ws) == "session created"
    friendly = run_input.replace("attacker input", "front-end input").replace("t-attack", "t-ok")
    assert "served answer" in page.evaluate(CORS_RUN, [server.agui, friendly])
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(30) == 0
    storage = SQLiteTraceStorage(tmp_path / "traces.db")
    try:
        inputs = [t.input for t in storage.query_traces_sync()]
    finally:
        storage.close_sync()
    assert inputs == ["front-end input"]  # the attacker's input never ran
