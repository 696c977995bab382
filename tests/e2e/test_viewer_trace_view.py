"""The trace view as a new user reads it: names, a long run (300 records) in a
virtualized waterfall and tree with zoom and collapsible subtrees, LLM calls as a chat
with Markdown tables, copy buttons, find-in-trace that tells new content from prompt
history, unknown addresses, and a 400 px wide window."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from playwright.sync_api import Browser, Page, expect

from myagent.trace import SQLiteTraceStorage
from tests.e2e.conftest import Site, screenshot
from tests.support.viewer import ViewerTestServer, failing_trace, seed_long_run


class LongRun:
    def __init__(self, url: str, trace_id: str, records: list[dict[str, object]]) -> None:
        self.url, self.trace_id, self.records = url, trace_id, records

    def record(self, kind: str, name_or_index: str | int) -> str:
        found = [r for r in self.records if r["run_type"] == kind]
        if isinstance(name_or_index, int):
            return str(found[name_or_index]["run_id"])
        return next(str(r["run_id"]) for r in found if r["name"] == name_or_index)


@pytest.fixture(scope="module")
def long_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LongRun]:
    """A viewer over one 301-record run named apart from its agent."""
    db = tmp_path_factory.mktemp("long") / "traces.db"
    trace_id = seed_long_run(db)
    storage = SQLiteTraceStorage(db)
    trace = storage.get_trace_sync(trace_id)
    assert trace is not None
    records = [orjson.loads(orjson.dumps(r.to_dict())) for r in trace.runs]
    server = ViewerTestServer(storage).start()
    yield LongRun(server.url, trace_id, records)
    server.stop()


def test_trace_names_in_the_list_and_the_header(page: Page, long_run: LongRun) -> None:
    page.goto(long_run.url)
    row = page.locator(f"tr[data-trace-id='{long_run.trace_id}']")
    expect(row.locator(".trace-name b")).to_have_text("nightly-report")
    expect(row.locator(".agent-tag")).to_have_text("report_agent")  # differs from the name
    expect(row.locator(".col-tokens_used")).to_have_text("106,950")  # digits grouped
    header = page.locator("th.col-duration")
    assert header.evaluate("el => el.scrollWidth <= el.clientWidth")  # "Duration" not cut off
    row.click()
    expect(page.get_by_test_id("trace-title")).to_have_text("nightly-report")
    expect(page.get_by_test_id("trace-agent")).to_have_text("report_agent")


def test_a_long_run_reads_row_by_row(page: Page, long_run: LongRun) -> None:
    page.goto(f"{long_run.url}/traces/{long_run.trace_id}")
    waterfall = page.get_by_test_id("waterfall")
    rows = waterfall.locator(".wf-row")
    expect(rows.first).to_be_visible()
    heights = rows.evaluate_all("els => els.map(e => e.getBoundingClientRect().height)")
    assert set(heights) == {22}  # fixed height, labels never overlap
    assert len(heights) < 80  # virtualized: 301 records, a screenful of rows in the page
    last = long_run.record("think", -1)
    page.locator(f".tree-row[data-run-id='{last}']").wait_for(state="detached")
    waterfall.locator(".wf-scroll").evaluate("el => el.scrollTop = el.scrollHeight")
    expect(waterfall.locator(f".wf-row[data-run-id='{last}']")).to_be_visible()
    # Tree rows say which model, how many tokens, how long, and where in time.
    first_think = long_run.record("think", 0)
    tree_row = page.locator(f".tree-row[data-run-id='{first_think}']")
    expect(tree_row).to_contain_text("gpt-4o")
    expect(tree_row).to_contain_text("1,020 tok")
    expect(tree_row.locator(".tree-bar span")).to_have_count(1)
    # Collapse one iteration's subtree, then all of them.
    step = long_run.record("step", "iteration 0")
    page.locator(f".tree-row[data-run-id='{step}'] .twisty").click()
    expect(tree_row).to_have_count(0)
    expect(page.locator(f".tree-row[data-run-id='{step}']")).to_contain_text("iteration 0")
    page.locator(f".tree-row[data-run-id='{step}'] .twisty").click()
    expect(tree_row).to_have_count(1)
    page.get_by_role("button", name="Collapse all").click()
    expect(page.locator(".tree-row.kind-tool")).to_have_count(0)  # every tool is in a step
    expect(page.locator(".tree-row.kind-step").first).to_contain_text("+2")
    page.get_by_role("button", name="Expand all").click()
    # Zoom to one record (one that took time): its bar fills the waterfall's width.
    timed = [r for r in long_run.records if r["run_type"] == "tool" and (r["duration"] or 0) > 0]
    tool = str(timed[len(timed) // 2]["run_id"])
    index = [r["run_id"] for r in long_run.records].index(tool)  # about its tree position
    page.get_by_test_id("tree").evaluate(f"el => el.scrollTop = {max(index - 5, 0)} * 26")
    page.locator(f".tree-row[data-run-id='{tool}']").click()
    expect(page.locator(f".tree-row.selected[data-run-id='{tool}']")).to_have_count(1)
    page.keyboard.press("z")
    expect(page.get_by_test_id("zoom-window")).to_be_visible()
    bar = waterfall.locator(f".wf-row[data-run-id='{tool}'] .wf-bar")
    track = waterfall.locator(f".wf-row[data-run-id='{tool}'] .wf-track")
    assert bar.bounding_box()["width"] > 0.8 * track.bounding_box()["width"]  # type: ignore[index]
    screenshot(page, "long-run")
    page.get_by_role("button", name="Reset zoom").click()
    expect(page.get_by_test_id("zoom-window")).to_have_count(0)


def test_waterfall_tooltip_is_text_not_markup(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/traces/{site.seeded.weather[0]}")
    page.get_by_test_id("waterfall").locator(".wf-row", has_text="get_weather").locator(
        ".wf-bar"
    ).hover()
    tip = page.get_by_role("tooltip")
    expect(tip).to_contain_text("tool: get_weather")
    expect(tip).not_to_contain_text("<br")
    expect(tip.locator("div")).to_have_count(2)  # two lines: what, how long


def test_llm_calls_as_a_chat_with_markdown_tables(page: Page, long_run: LongRun) -> None:
    page.goto(f"{long_run.url}/traces/{long_run.trace_id}")
    expect(page.get_by_test_id("trace-input")).to_contain_text("Write the nightly report")
    expect(page.get_by_test_id("trace-input").locator("strong")).to_have_text("nightly")
    expect(page.get_by_test_id("trace-output").locator("table td")).to_have_count(4)
    final = long_run.record("think", -1)
    page.get_by_test_id("tree").evaluate("el => el.scrollTop = el.scrollHeight")
    page.locator(f".tree-row[data-run-id='{final}']").click()
    detail = page.get_by_test_id("detail")
    chat = detail.get_by_test_id("chat")
    expect(chat.locator(".chat-msg").first).to_have_attribute("data-role", "system")
    expect(chat.locator(".chat-msg[data-role='user']")).to_contain_text("Write the nightly report")
    call = chat.locator(".chat-msg[data-role='assistant']").first
    expect(call.locator(".chat-call")).to_contain_text("lookup")
    expect(chat.locator(".chat-msg[data-role='tool']").first).to_contain_text("value-0")
    expect(chat.locator(".chat-msg[data-role='tool']").first).to_contain_text("result of call_0")
    expect(detail.get_by_test_id("markdown").locator("table th")).to_have_text(["city", "temp"])
    transcript = page.get_by_test_id("transcript")
    expect(transcript.locator(".msg.selected table")).to_have_count(1)  # Markdown there too
    screenshot(page, "trace-chat")


def test_copy_buttons_put_ids_urls_and_payloads_on_the_clipboard(
    browser: Browser, site: Site
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    page = context.new_page()
    try:
        paris = site.seeded.weather[0]
        page.goto(f"{site.url}/traces/{paris}")

        def clipboard() -> str:
            return str(page.evaluate("navigator.clipboard.readText()"))

        page.get_by_role("button", name="copy trace id").first.click()
        assert clipboard() == paris
        page.get_by_role("button", name="copy trace URL").click()
        assert clipboard() == f"{site.url}/traces/{paris}"
        page.locator(".tree-row.kind-tool").click()
        detail = page.get_by_test_id("detail")
        detail.get_by_role("button", name="copy parameters").click()
        assert orjson.loads(clipboard()) == {"city": "Paris"}
        detail.get_by_role("button", name="copy output").click()
        assert orjson.loads(clipboard()) == {"city": "Paris", "temp_c": 20}
        run_id = detail.locator(".record-detail").get_attribute("data-run-id")
        detail.get_by_role("button", name="copy record id").click()
        assert clipboard() == run_id
        detail.get_by_role("button", name="copy JSON value").first.click()
        assert orjson.loads(clipboard())["city"] == "Paris"
        page.locator(".tree-row.kind-think").first.click()
        expect(detail).to_contain_text("I will call get_weather.")
        detail.get_by_role("button", name="copy response").click()
        assert clipboard() == "I will call get_weather."
        detail.get_by_role("button", name="copy prompt (messages sent)").click()
        assert orjson.loads(clipboard())[0]["role"] == "user"
    finally:
        context.close()


def test_find_puts_new_content_first_and_shows_where(page: Page, long_run: LongRun) -> None:
    page.goto(f"{long_run.url}/traces/{long_run.trace_id}")
    box = page.get_by_label("find in trace")
    box.fill("value-7")
    box.press("Enter")
    # Own content: the outputs of tools 1, 10, 11 and the calls that first saw them; the
    # ~90 later calls that only resend them in their prompt are grouped apart.
    expect(page.get_by_test_id("find-count")).to_have_text("1 of 6")
    history = page.locator(".history-toggle")
    expect(history).to_contain_text("in prompt history")
    expect(page.locator(".tree-row.selected")).to_contain_text("lookup")
    found = page.get_by_test_id("found-places")
    expect(found.locator("mark").first).to_have_text("value-7")
    expect(found).to_contain_text("output")
    box.press("Enter")
    expect(page.get_by_test_id("find-count")).to_have_text("2 of 6")
    expect(found.locator(".path").first).to_have_text("messages[5].content")  # new this call
    history.locator("input").check()
    expect(page.get_by_test_id("find-count")).not_to_contain_text("of 6")


def test_unknown_trace_and_session_pages_lead_back(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/traces/0123456789abcdef")
    missing = page.get_by_test_id("not-found")
    expect(missing).to_contain_text("No such trace")
    expect(missing).to_contain_text("0123456789abcdef")
    missing.get_by_role("link", name="← Back to traces").click()
    expect(page.locator("tr[data-trace-id]").first).to_be_visible()
    page.goto(f"{site.url}/sessions/no-such-session")
    expect(page.get_by_test_id("not-found")).to_contain_text("No such session")
    page.goto(f"{site.url}/nowhere")
    expect(page.get_by_test_id("not-found")).to_contain_text("No such page")


def no_sideways_scroll(page: Page) -> None:
    wide = page.evaluate(
        "() => [document.documentElement, document.body, document.querySelector('main')]"
        ".map(e => e.scrollWidth - e.clientWidth)"
    )
    assert max(wide) <= 0, wide


def test_a_400_px_window(browser: Browser, site: Site, long_run: LongRun) -> None:
    context = browser.new_context(viewport={"width": 400, "height": 800})
    page = context.new_page()
    try:
        page.goto(site.url)
        expect(page.locator("tr[data-trace-id]").first).to_be_visible()
        no_sideways_scroll(page)
        nav = page.locator(".topbar nav")
        expect(nav).to_be_hidden()  # the top bar collapses into a menu
        page.get_by_role("button", name="menu").click()
        expect(nav.get_by_role("link", name="Dashboard")).to_be_visible()
        expect(nav.get_by_role("link", name="Health")).to_be_visible()
        nav.get_by_role("link", name="Errors").click()
        expect(nav).to_be_hidden()
        no_sideways_scroll(page)
        page.goto(f"{long_run.url}/traces/{long_run.trace_id}")
        transcript = page.get_by_test_id("transcript")
        expect(transcript.locator(".msg").first).to_be_visible()
        no_sideways_scroll(page)
        overflow = transcript.evaluate("el => el.scrollWidth - el.clientWidth")
        assert overflow <= 0  # the transcript wraps
        screenshot(page, "narrow")
    finally:
        context.close()


def test_errors_page_counts_once_lists_agents_and_groups_by_fingerprint(
    page: Page, viewer_factory: Any, tmp_path: Path
) -> None:
    storage = SQLiteTraceStorage(tmp_path / "errors.db")
    cities = ["Atlantis", "El Dorado", "Shangri-La", "Avalon"]
    storage.write_traces(
        [
            failing_trace(i + 1, "weather_agent", c, propagate=i % 2 == 0)
            for i, c in enumerate(cities)
        ]
    )
    server = viewer_factory(storage)
    page.goto(f"{server.url}/errors")
    groups = page.get_by_test_id("error-group")
    expect(groups).to_have_count(2)  # one per error, not one per city or attempt
    value = groups.filter(has_text="ValueError")
    # 4 failed LLM calls; the steps and traces they failed are not counted again.
    expect(value.locator(".eg-count")).to_have_text("4× in 4 traces")
    expect(value.locator(".eg-message")).to_have_text("unknown city <str> (attempt <num>)")
    expect(value).to_contain_text("weather_agent")
    expect(value).not_to_contain_text("trace ·")  # record kinds are not agents
    expect(value).not_to_contain_text("ValueError: ValueError")
    value.get_by_text("Raw messages").click()
    expect(value.locator(".variants li")).to_have_count(4)
    expect(value.locator(".variants")).to_contain_text("unknown city 'Avalon' (attempt 4)")
    agents = page.get_by_label("agent")
    expect(agents.locator("option", has_text="weather_agent (4)")).to_have_count(1)  # counts
    agents.select_option("weather_agent")
    expect(groups).to_have_count(2)
    screenshot(page, "errors")
    value.locator(".examples a").first.click()  # an example opens at its first match
    expect(page.get_by_test_id("find-count")).to_have_text("1 of 1")
    expect(page.locator(".tree-row.selected")).to_contain_text("think")
