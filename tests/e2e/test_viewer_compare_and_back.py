"""Compare shows how values differ (side by side, text and JSON diffs), aligns steps
when one run has extra ones and ignores generated call ids; Back returns to the list
where you were (scroll, selected row, compare ticks)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from myagent.trace import SQLiteTraceStorage, TraceManager
from tests.e2e.conftest import Site, screenshot
from tests.support.viewer import ViewerTestServer, write_agent_trace, write_planned_run


@dataclass
class Runs:
    url: str
    one: str
    same: str
    extra: str
    many: list[str]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    db = tmp_path_factory.mktemp("compare") / "traces.db"
    manager = TraceManager(SQLiteTraceStorage(db))
    many = []
    for i in range(150):
        kwargs = {"params": {"i": i}, "output": i, "answer": f"answer {i}"}
        many.append(
            write_agent_trace(
                manager, agent="bulk_agent", question=f"question {i}", tool="echo", **kwargs
            )
        )
    one = write_planned_run(manager, ["Paris"], "call_a")
    same = write_planned_run(manager, ["Paris"], "call_zz")
    extra = write_planned_run(manager, ["Paris", "Lyon"], "call_q")
    manager.flush()
    manager.close()
    server = ViewerTestServer(SQLiteTraceStorage(db)).start()
    yield Runs(server.url, one, same, extra, many)
    server.stop()


def test_differing_values_side_by_side(page: Page, site: Site) -> None:
    paris, tokyo, _ = site.seeded.weather
    page.goto(f"{site.url}/compare?a={paris}&b={tokyo}")
    pairs = page.get_by_test_id("compare-pairs")
    pairs.locator("tr[data-pair='1']").click()  # the tool call
    params = page.locator(".field-diff[data-field='input_params']")
    expect(params.get_by_test_id("side-a").locator(".removed")).to_have_text(["Paris"])
    expect(params.get_by_test_id("side-b").locator(".added")).to_have_text(["Tokyo"])
    expect(params.get_by_test_id("side-a")).not_to_contain_text("Tokyo")
    output = page.locator(".field-diff[data-field='output']")
    expect(output.get_by_test_id("side-b").locator(".added")).to_contain_text(["Tokyo"])
    screenshot(page, "compare")


def test_extra_steps_align_and_call_ids_are_ignored(page: Page, runs: Runs) -> None:
    page.goto(f"{runs.url}/compare?a={runs.one}&b={runs.same}")
    pairs = page.get_by_test_id("compare-pairs")
    expect(pairs.locator("tr.pair-row")).to_have_count(3)
    expect(pairs.locator("tr.pair-row td.changed")).to_have_count(0)  # only ids differ
    page.goto(f"{runs.url}/compare?a={runs.one}&b={runs.extra}")
    rows = pairs.locator("tr.pair-row")
    expect(rows).to_have_count(5)
    expect(rows.nth(2)).to_contain_text("only in B")
    expect(rows.nth(3)).to_contain_text("only in B")
    expect(rows.nth(4).locator("td").nth(0)).to_contain_text("think")  # answer beside answer
    expect(rows.nth(4).locator("td").nth(1)).to_contain_text("think")
    page.get_by_role("button", name="Show every difference").click()
    messages = page.locator(".field-diff[data-field='messages']")
    expect(
        messages.get_by_test_id("side-b").locator(".added", has_text="Lyon").first
    ).to_be_visible()
    expect(messages.first).not_to_contain_text("call_q")  # ids are not part of the diff


def test_back_keeps_scroll_selection_and_compare_ticks(page: Page, runs: Runs) -> None:
    page.goto(runs.url)
    rows = page.locator("tr[data-trace-id]")
    expect(rows.first).to_be_visible()
    first, second = runs.extra, runs.same  # the two newest rows
    page.locator(f"tr[data-trace-id='{first}'] input[type=checkbox]").check()
    page.locator(f"tr[data-trace-id='{second}'] input[type=checkbox]").check()
    scroller = page.locator(".table-scroll")
    scroller.evaluate("el => el.scrollTop = 2000")
    page.wait_for_timeout(300)  # rows of the scrolled window render (and more load)
    target_id = page.locator("tr[data-trace-id]").nth(8).get_attribute("data-trace-id")
    target = page.locator(f"tr[data-trace-id='{target_id}']")
    target.hover()
    expect(page.locator(f"tr.selected[data-trace-id='{target_id}']")).to_have_count(1)
    before = scroller.evaluate("el => el.scrollTop")
    target.click()
    page.wait_for_url(f"**/traces/{target_id}")
    page.go_back()
    expect(page.locator(f"tr.selected[data-trace-id='{target_id}']")).to_have_count(1)
    assert abs(scroller.evaluate("el => el.scrollTop") - before) < 40
    scroller.evaluate("el => el.scrollTop = 0")
    expect(page.locator(f"tr[data-trace-id='{first}'] input[type=checkbox]")).to_be_checked()
    expect(page.locator(f"tr[data-trace-id='{second}'] input[type=checkbox]")).to_be_checked()
    expect(page.get_by_role("button", name="Compare 2 runs")).to_be_visible()
