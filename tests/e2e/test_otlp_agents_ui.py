"""An OpenAI Agents SDK run received over OTLP, opened in the viewer in a real browser:
the record tree, the waterfall and the transcript show the agent, its LLM calls and tool."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from myagent.trace import SQLiteTraceStorage
from tests.support.agents_sdk import AGENT_NAME, ANSWER, QUESTION, run_weather_agent
from tests.support.openai_server import OpenAITestServer
from tests.support.viewer import ViewerTestServer


def test_an_agents_sdk_trace_received_over_otlp_opens_in_the_viewer(
    page: Page, tmp_path: Path, openai_server: OpenAITestServer
) -> None:
    server = ViewerTestServer(SQLiteTraceStorage(tmp_path / "otlp.db")).start()
    try:
        run_weather_agent(openai_server, server.url + "/v1/traces")
        server.app.state.otlp.manager.flush(10)
        page.goto(server.url)
        row = page.locator("tr[data-trace-id]")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(AGENT_NAME)
        row.click()
        page.wait_for_url("**/traces/*")
        tree = page.locator(".tree-row")
        expect(tree.filter(has_text=AGENT_NAME)).to_have_count(1)
        expect(page.locator(".tree-row.kind-tool")).to_contain_text("get_weather")
        expect(page.locator(".tree-row.kind-think")).to_have_count(2)
        waterfall = page.get_by_test_id("waterfall")
        expect(waterfall.locator(".wf-row", has_text="get_weather")).to_have_count(1)
        expect(waterfall.locator(".wf-row", has_text="generation")).to_have_count(2)
        transcript = page.get_by_test_id("transcript")
        expect(transcript).to_contain_text(QUESTION)
        expect(transcript).to_contain_text("Tool call · get_weather")
        expect(transcript).to_contain_text("4 degrees and windy in Oslo")
        expect(transcript).to_contain_text(ANSWER)
    finally:
        server.stop()
