"""The viewer UI in a real browser: list, filters, search, detail views, compare, pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from playwright.sync_api import Page, expect

from myagent.trace import SQLiteTraceStorage
from tests.e2e.conftest import Site, rows, screenshot
from tests.support.viewer import seed_traces


def test_list_filter_and_search(page: Page, site: Site) -> None:
    page.goto(site.url)
    expect(page.get_by_test_id("trace-count")).to_have_text(f"{len(site.seeded.all)} traces")
    expect(page.locator("tr[data-trace-id]")).to_have_count(len(site.seeded.all))
    screenshot(page, "trace-list")
    page.get_by_role("button", name="+ Add filter").click()
    page.get_by_role("menuitem", name="Agent").click()
    page.get_by_label("Agent values").fill("weather")
    page.get_by_role("listbox").get_by_role("option", name="weather_agent").click()
    page.keyboard.press("Escape")
    expect(page.locator("tr[data-trace-id]")).to_have_count(3)
    assert "agent=weather_agent" in page.url  # the view state is in the address
    page.keyboard.press("/")
    expect(page.get_by_label("search")).to_be_focused()
    page.keyboard.type("Tokyo")
    page.keyboard.press("Enter")
    expect(page.locator("tr[data-trace-id]")).to_have_count(1)
    assert rows(page) == [site.seeded.weather[1]]
    page.goto(f"{site.url}/?status=error")
    expect(page.locator("tr[data-trace-id]")).to_have_count(1)
    expect(page.get_by_test_id("trace-count")).to_have_text("1 trace")


def test_open_a_trace_and_see_waterfall_transcript_and_details(page: Page, site: Site) -> None:
    paris = site.seeded.weather[0]
    page.goto(site.url)
    page.locator(f"tr[data-trace-id='{paris}']").click()
    page.wait_for_url(f"**/traces/{paris}")
    waterfall = page.get_by_test_id("waterfall")
    expect(waterfall.locator(".wf-row", has_text="get_weather")).to_have_count(1)
    expect(waterfall.locator(".wf-row", has_text="think")).to_have_count(2)
    transcript = page.get_by_test_id("transcript")
    expect(transcript).to_contain_text("What is the weather in Paris?")
    expect(transcript).to_contain_text("Tool call · get_weather")
    expect(transcript).to_contain_text('"temp_c":20')
    expect(transcript).to_contain_text("It is 20 degrees in Paris.")
    page.locator(".tree-row.kind-tool").click()
    detail = page.get_by_test_id("detail")
    expect(detail).to_contain_text("Parameters")
    expect(detail).to_contain_text("Paris")
    expect(transcript.locator(".msg.selected")).to_contain_text("get_weather")
    assert "r=" in page.url
    screenshot(page, "trace-detail")
    page.keyboard.press("k")
    expect(detail).to_contain_text("Response")
    expect(detail).to_contain_text("I will call get_weather.")


def test_errors_stack_traces_and_next_error_key(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/traces/{site.seeded.failing}")
    expect(page.locator(".trace-error")).to_contain_text("ValueError: agent gave up")
    page.keyboard.press("e")
    detail = page.get_by_test_id("detail")
    expect(detail).to_contain_text("RuntimeError: division by zero")
    expect(detail.locator("summary", has_text="Stack trace")).to_be_visible()
    expect(detail).to_contain_text("Traceback")


def test_find_in_trace_reaches_into_whole_payloads(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/traces/{site.seeded.big}")
    page.get_by_label("find in trace").fill("big.txt")
    page.get_by_label("find in trace").press("Enter")
    expect(page.get_by_test_id("find-count")).to_have_text("1 of 2")  # Enter jumps to the first
    expect(page.locator(".tree-row.selected.match")).to_have_count(1)
    page.get_by_label("find in trace").press("Enter")  # and Enter again to the next
    expect(page.get_by_test_id("find-count")).to_have_text("2 of 2")
    page.keyboard.press("Escape")  # leave the field; n steps on from the page
    page.keyboard.press("n")
    expect(page.get_by_test_id("find-count")).to_have_text("1 of 2")


def test_large_payload_is_previewed_then_loaded_on_demand(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/traces/{site.seeded.big}")
    page.locator(".tree-row.kind-tool").click()
    large = page.get_by_test_id("large-payload")
    expect(large).to_contain_text("300,000 characters")
    expect(large.get_by_role("link", name="Download")).to_be_visible()
    large.get_by_role("button", name="Load full value").click()
    expect(large.get_by_test_id("bigtext")).to_be_visible()


def test_compare_two_runs(page: Page, site: Site) -> None:
    paris, tokyo, _ = site.seeded.weather
    page.goto(site.url)
    page.locator(f"tr[data-trace-id='{paris}'] input[type=checkbox]").check()
    page.locator(f"tr[data-trace-id='{tokyo}'] input[type=checkbox]").check()
    page.get_by_role("button", name="Compare 2 runs").click()
    totals = page.get_by_test_id("compare-totals")
    expect(totals).to_contain_text("Tokens")
    expect(totals).to_contain_text("+50")
    pairs = page.get_by_test_id("compare-pairs")
    expect(pairs).to_contain_text("input_params, output")
    pairs.locator("tr[data-pair='1']").click()
    diff = page.get_by_test_id("pair-diff")
    expect(diff.locator(".removed", has_text="Paris").first).to_be_visible()
    expect(diff.locator(".added", has_text="Tokyo").first).to_be_visible()
    screenshot(page, "compare")


def test_dashboard_errors_and_sessions_pages(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/dashboard")
    expect(page.get_by_test_id("stat-cards")).to_contain_text(f"{len(site.seeded.all)}traces")
    expect(page.get_by_test_id("tool-table")).to_contain_text("get_weather")
    expect(page.get_by_test_id("agent-table")).to_contain_text("math_agent")
    tool_chart = page.get_by_test_id("chart-tools")
    expect(tool_chart.locator("text", has_text="calculator")).to_have_count(1)
    screenshot(page, "dashboard")
    page.get_by_role("link", name="Errors").click()
    groups = page.get_by_test_id("error-groups")
    expect(groups).to_contain_text("RuntimeError")
    expect(groups).to_contain_text("division by zero")
    screenshot(page, "errors")
    groups.get_by_role("link").first.click()
    page.wait_for_url("**/traces/**")
    page.goto(f"{site.url}/sessions")
    page.get_by_test_id("sessions").get_by_text("session-1").click()
    session = page.get_by_test_id("session-traces")
    expect(session.locator("li")).to_have_count(3)
    expect(session.locator("li").first).to_contain_text("Paris")
    screenshot(page, "sessions")


def test_keyboard_help_and_list_navigation(page: Page, site: Site) -> None:
    page.goto(site.url)
    expect(page.locator("tr[data-trace-id]")).to_have_count(len(site.seeded.all))
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/traces/{site.seeded.all[-2]}")


def test_import_a_trace_file_from_the_list(page: Page, tmp_path: Path, viewer_factory: Any) -> None:
    source = seed_traces(tmp_path / "source.db")
    exported = SQLiteTraceStorage(tmp_path / "source.db").get_trace_sync(source.weather[0])
    assert exported is not None
    file = tmp_path / "one.jsonl"
    file.write_bytes(orjson.dumps(exported.to_dict()) + b"\n")
    server = viewer_factory(SQLiteTraceStorage(tmp_path / "empty.db"))
    page.goto(server.url)
    expect(page.get_by_test_id("empty-setup")).to_be_visible()
    page.get_by_label("import traces").set_input_files(str(file))
    expect(page.get_by_text("Imported 1 traces")).to_be_visible()
    expect(page.locator(f"tr[data-trace-id='{exported.trace_id}']")).to_contain_text("Paris")
