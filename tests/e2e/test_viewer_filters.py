"""The trace list's filters as a new user meets them: comboboxes fed by facets (counts,
contains matching, several values), applied at once; chips; quick time ranges; a bad
value explained; an empty database explained."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Page, expect

from myagent.trace import SQLiteTraceStorage
from tests.e2e.conftest import Site, rows


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def test_agent_combobox_suggests_real_values_with_counts_and_multi_selects(
    page: Page, site: Site
) -> None:
    page.goto(site.url)
    expect(page.locator("tr[data-trace-id]")).to_have_count(len(site.seeded.all))
    page.get_by_role("button", name="+ Add filter").click()
    page.get_by_role("menuitem", name="Agent").click()
    box = page.get_by_role("combobox", name="Agent values")
    box.fill("weather")  # part of the name: contains matching, no exact value needed
    options = page.get_by_role("listbox").get_by_role("option")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("weather_agent")
    expect(options.first).to_contain_text("3")  # traces carrying it
    options.first.click()  # applies at once: no Apply button
    expect(page.locator("tr[data-trace-id]")).to_have_count(3)
    assert query_of(page)["agent"] == ["weather_agent"]
    box.fill("ma")
    expect(options.first).to_contain_text("math_agent")  # prefix first
    box.press("Enter")  # the highlighted option, from the keyboard
    expect(page.locator("tr[data-trace-id]")).to_have_count(4)
    assert query_of(page)["agent"] == ["weather_agent,math_agent"]
    box.press("Escape")
    chip = page.locator(".chip[data-filter='agent']")
    expect(chip).to_contain_text("weather_agent or math_agent")
    chip.get_by_role("button", name="remove Agent filter").click()
    expect(page.locator("tr[data-trace-id]")).to_have_count(len(site.seeded.all))


def test_tool_model_and_tag_pickers_and_status_apply_at_once(page: Page, site: Site) -> None:
    page.goto(site.url)
    for field, typed, value, count in [
        ("Tool", "weath", "get_weather", 3),
        ("Model", "gpt-4o", "gpt-4o", 1),
        ("Tag", "pro", "prod", 2),
    ]:
        page.get_by_role("button", name="+ Add filter").click()
        page.get_by_role("menuitem", name=field).click()
        page.get_by_role("combobox", name=f"{field} values").fill(typed)
        option = page.get_by_role("listbox").locator(
            f"li[role=option]:has(.opt-value:text-is('{value}'))"
        )
        option.click()
        chip = page.locator(f".chip[data-filter='{field.lower()}']")
        expect(chip).to_contain_text(value)  # applied at once
        page.keyboard.press("Escape")
        expect(page.locator("tr[data-trace-id]")).to_have_count(count)
        chip.locator(".chip-x").click()
        expect(chip).to_have_count(0)
    page.get_by_label("status").select_option("error")  # a dropdown applies at once
    expect(page.locator("tr[data-trace-id]")).to_have_count(1)
    assert rows(page) == [site.seeded.failing]


def test_quick_time_ranges_and_a_custom_range_with_time_of_day(page: Page, site: Site) -> None:
    page.goto(site.url)
    group = page.get_by_role("group", name="time range")
    for label in ["15 min", "1 h", "24 h", "7 d"]:
        expect(group.get_by_role("button", name=label)).to_be_visible()
    group.get_by_role("button", name="15 min").click()
    assert query_of(page)["range"] == ["15m"]
    expect(page.locator("tr[data-trace-id]")).to_have_count(len(site.seeded.all))  # just seeded
    group.get_by_role("button", name="Custom").click()
    start = page.get_by_label("from")
    expect(start).to_have_attribute("type", "datetime-local")
    start.fill("2001-01-01T09:30")
    page.get_by_label("to").fill("2001-01-01T17:45")
    expect(page.get_by_text("No traces match.")).to_be_visible()
    assert query_of(page)["end"] == ["2001-01-01T17:45"]
    group.get_by_role("button", name="Any time").click()
    expect(page.locator("tr[data-trace-id]")).to_have_count(len(site.seeded.all))


def test_a_bad_filter_value_gets_a_clear_message(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/?min_tokens=lots")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Filter not applied")
    expect(alert).to_contain_text("min_tokens")
    expect(alert).not_to_contain_text("[{")  # no raw validation JSON


def test_an_empty_database_gets_setup_guidance(
    page: Page, viewer_factory: Any, tmp_path: Any
) -> None:
    server = viewer_factory(SQLiteTraceStorage(tmp_path / "empty.db"))
    page.goto(server.url)
    expect(page.get_by_test_id("empty-setup")).to_contain_text("No traces yet")
    expect(page.get_by_test_id("trace-count")).to_have_text("0 traces")


def test_moving_between_pages_never_aborts_the_live_feed(page: Page, site: Site) -> None:
    aborted: list[str] = []
    page.on("requestfailed", lambda request: aborted.append(request.url))
    page.goto(site.url)
    page.locator("tr[data-trace-id]").first.click()
    expect(page.get_by_test_id("tree")).to_be_visible()
    page.go_back()
    expect(page.locator("tr[data-trace-id]").first).to_be_visible()
    page.get_by_label("status").select_option("error")  # a filtered list: same feed
    expect(page.locator("tr[data-trace-id]")).to_have_count(1)
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_test_id("stat-cards")).to_be_visible()
    assert [url for url in aborted if "/api/live" in url] == []
