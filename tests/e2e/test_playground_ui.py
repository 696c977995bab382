"""The playground in a real browser: open a recorded LLM call, edit its prompt, run it
against the loopback OpenAI-wire server, watch the answer stream in beside the recorded
one with a diff, and find the saved run in the trace list."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from myagent import create_toolcall_agent
from myagent.llm import ScriptedLLM
from myagent.replay import replay
from myagent.trace import SQLiteTraceStorage, TraceManager, set_trace_manager
from tests.e2e.conftest import screenshot
from tests.support.openai_server import OpenAITestServer
from tests.support.viewer import ViewerTestServer

POET_PROMPT = "You write short poems."


def _in_thread(coro: Any) -> Any:
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API holds this thread's loop
        return pool.submit(asyncio.run, coro).result()


def _record(db: Path) -> str:
    """One recorded agent run (a single LLM call answering in words); its trace id."""
    manager = TraceManager(SQLiteTraceStorage(db))
    set_trace_manager(manager)
    try:
        agent = create_toolcall_agent(
            name="poet-agent",
            llm=ScriptedLLM(["Roses are red, violets are blue."]),
            system_prompt=POET_PROMPT,
        )
        _in_thread(agent.run("Write a poem about flowers."))
        manager.flush()
        assert agent.last_trace_id is not None
        return agent.last_trace_id
    finally:
        manager.close()


def test_edit_a_recorded_prompt_run_it_and_find_the_new_trace(
    page: Page, tmp_path: Path, openai_server: OpenAITestServer
) -> None:
    db = tmp_path / "traces.db"
    trace_id = _record(db)
    viewer = ViewerTestServer(
        SQLiteTraceStorage(db), llm_base_url=openai_server.base_url, llm_api_key="sk-secret"
    ).start()
    try:
        openai_server.enqueue("Roses are red, tulips are yellow.", chunk_size=3, delay=0.2)
        page.goto(f"{viewer.url}/traces/{trace_id}")
        page.locator(".tree-row.kind-think").first.click()
        page.get_by_test_id("open-in-playground").click()
        page.wait_for_url("**/playground?**")

        system = page.get_by_test_id("pg-system prompt").locator(".cm-content")
        expect(system).to_have_text("You write short poems.")
        expect(page.get_by_test_id("pg-recorded")).to_have_text("Roses are red, violets are blue.")
        system.click()
        page.keyboard.press("Control+a")
        page.keyboard.type("You write short poems about tulips.")
        page.get_by_test_id("pg-model").fill("loopback-model")
        page.get_by_test_id("pg-run").click()

        answer = page.get_by_test_id("pg-answer")
        expect(answer).to_have_text("Roses are red, tulips are yellow.")
        diff = page.get_by_test_id("pg-diff")
        expect(diff.locator(".diff-removed")).to_contain_text(["violets"])
        expect(diff.locator(".diff-added")).to_contain_text(["tulips"])
        link = page.get_by_test_id("pg-trace-link")
        expect(link).to_be_visible()
        screenshot(page, "playground")
        new_id = (link.text_content() or "").removeprefix("trace ").strip()

        sent = openai_server.requests[-1]
        assert sent["messages"][0]["content"] == "You write short poems about tulips."
        assert sent["model"] == "loopback-model" and sent["stream"] is True
        assert "sk-secret" not in page.content()

        page.goto(viewer.url)
        expect(page.locator(f"tr[data-trace-id='{new_id}']")).to_have_count(1)
        expect(page.locator(f"tr[data-trace-id='{new_id}']")).to_contain_text("playground")
        page.locator(f"tr[data-trace-id='{new_id}']").click()
        expect(page.get_by_text(f"playground run of {trace_id[:8]}")).to_be_visible()
    finally:
        viewer.stop()


def test_the_playground_says_when_no_endpoint_is_configured(page: Page, tmp_path: Path) -> None:
    db = tmp_path / "traces.db"
    trace_id = _record(db)
    viewer = ViewerTestServer(SQLiteTraceStorage(db), llm_base_url=None, llm_api_key=None).start()
    try:
        page.goto(f"{viewer.url}/traces/{trace_id}")
        page.locator(".tree-row.kind-think").first.click()
        page.get_by_test_id("open-in-playground").click()
        expect(page.get_by_test_id("playground-unconfigured")).to_contain_text(
            "No model endpoint is configured"
        )
        expect(page.get_by_test_id("pg-run")).to_be_disabled()
    finally:
        viewer.stop()


def test_a_replay_links_to_its_original_and_the_compare_view(page: Page, tmp_path: Path) -> None:
    db = tmp_path / "traces.db"
    trace_id = _record(db)
    manager = TraceManager(SQLiteTraceStorage(db))
    set_trace_manager(manager)
    try:
        result = _in_thread(
            replay(
                SQLiteTraceStorage(db).get_trace_sync(trace_id),
                lambda: create_toolcall_agent(name="poet-agent", system_prompt=POET_PROMPT),
            )
        )
        manager.flush()
    finally:
        manager.close()
    assert result.ok, result.report()
    viewer = ViewerTestServer(SQLiteTraceStorage(db)).start()
    try:
        page.goto(f"{viewer.url}/traces/{result.replay_trace_id}")
        link = page.get_by_test_id("replay-link")
        expect(link).to_contain_text(f"replay of {trace_id[:8]}")
        link.get_by_role("link", name="compare").click()
        page.wait_for_url(f"**/compare?a={trace_id}&b={result.replay_trace_id}")
        expect(page.get_by_test_id("compare-pairs")).to_be_visible()
    finally:
        viewer.stop()
