"""The evaluation UI in a real browser: score a trace by keyboard, walk an annotation queue,
open an experiment comparison (and its runs in the compare view)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from myagent.eval import Contains, run_experiment
from myagent.trace import SQLiteTraceStorage, TraceManager
from myagent.trace.storage.eval_rows import DatasetItem
from myagent.trace.sync_bridge import run_sync
from tests.e2e.conftest import screenshot
from tests.support.viewer import Seeded, ViewerTestServer, seed_traces


@dataclass
class Site:
    url: str
    seeded: Seeded
    db: Path


class _Echo:
    async def run(self, text: str) -> str:
        return f"The answer to {text!r} is 42."


class _Worse:
    async def run(self, text: str) -> str:
        return "I do not know." if text.endswith(("1?", "3?")) else f"The answer to {text!r} is 42."


async def _experiments(db: Path) -> None:
    manager = TraceManager(SQLiteTraceStorage(db))
    items = [
        DatasetItem(dataset="faq", input=f"question {i}?", expected_output="42") for i in range(6)
    ]
    for experiment, agent in (("baseline", _Echo), ("new-prompt", _Worse)):
        await run_experiment(
            items,
            agent,
            [Contains(), Contains("answer", name="answered")],
            experiment_id=experiment,
            name=experiment,
            manager=manager,
        )
    await asyncio.to_thread(manager.close)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    db = tmp_path_factory.mktemp("eval-ui") / "traces.db"
    seeded = seed_traces(db)
    run_sync(_experiments(db), 120)  # Playwright's loop runs in this thread
    server = ViewerTestServer(SQLiteTraceStorage(db)).start()
    yield Site(server.url, seeded, db)
    server.stop()


def _scores(site: Site, trace_id: str) -> list[dict[str, object]]:
    found: list[dict[str, object]] = httpx.get(f"{site.url}/api/traces/{trace_id}/scores").json()[
        "items"
    ]
    return found


def test_score_a_trace_by_keyboard(page: Page, site: Site) -> None:
    trace_id = site.seeded.weather[0]
    page.goto(f"{site.url}/traces/{trace_id}")
    panel = page.get_by_test_id("score-panel")
    expect(panel).to_be_visible()
    page.keyboard.press("+")
    expect(panel.get_by_test_id("score-list")).to_contain_text("thumbs ✓ yes")
    page.keyboard.press("4")
    expect(panel.get_by_test_id("score-list")).to_contain_text("rating 4")
    page.keyboard.press("c")
    expect(page.get_by_label("score comment")).to_be_focused()
    page.keyboard.type("wrong city in the answer")
    page.keyboard.press("Escape")
    page.keyboard.press("-")
    expect(panel.get_by_test_id("score-list")).to_contain_text("wrong city in the answer")
    stored = {(s["name"], s["display"], s["source"]) for s in _scores(site, trace_id)}
    assert stored == {("thumbs", True, "human"), ("rating", 4, "human"), ("thumbs", False, "human")}


def test_walk_an_annotation_queue(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/queue")
    page.get_by_label("queue name").fill("weather runs")
    page.get_by_label("queue filter").fill("agent=weather_agent&start=-7d&score=no eval score")
    page.get_by_role("button", name="Save and start").click()
    progress = page.get_by_test_id("queue-progress")
    expect(progress).to_contain_text("1 / 3")
    first = page.get_by_test_id("queue-item").get_attribute("data-trace-id")
    page.keyboard.press("+")  # scoring moves on to the next trace
    expect(progress).to_contain_text("2 / 3")
    expect(progress).to_contain_text("1 scored · 0 skipped · 2 left")
    page.keyboard.press("s")
    expect(progress).to_contain_text("3 / 3")
    expect(progress).to_contain_text("1 scored · 1 skipped · 1 left")
    page.keyboard.press("3")
    expect(progress).to_contain_text("2 scored · 1 skipped · 0 left")
    screenshot(page, "annotation-queue")
    page.keyboard.press("[")
    expect(progress).to_contain_text("2 / 3")
    assert first is not None
    assert [s["display"] for s in _scores(site, first) if s["name"] == "thumbs"] == [True]
    page.goto(f"{site.url}/queue")  # the queue is saved on the server
    page.get_by_role("link", name="weather runs").click()
    expect(progress).to_contain_text("1 / 3")


def test_open_the_experiment_comparison(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/experiments")
    table = page.get_by_test_id("experiments")
    expect(table.locator("tr[data-experiment-id]")).to_have_count(2)
    expect(table.locator("tr[data-experiment-id='baseline']")).to_contain_text("100.0%")
    expect(table.locator("tr[data-experiment-id='new-prompt']")).to_contain_text("66.7%")
    page.get_by_label("pick baseline").check()
    page.get_by_label("pick new-prompt").check()
    page.get_by_role("button", name="Compare the 2 picked").click()
    page.wait_for_url("**/experiments/compare?base=baseline&other=new-prompt")
    rows = page.get_by_test_id("experiment-items").locator("tbody tr")
    expect(rows).to_have_count(6)
    expect(rows.nth(0)).to_have_class("regression")
    expect(rows.nth(1)).to_have_class("regression")
    expect(rows.nth(2)).not_to_have_class("regression")
    expect(rows.nth(0)).to_contain_text("-1")
    screenshot(page, "experiment-comparison")
    rows.nth(0).locator("td").nth(1).click()
    page.wait_for_url("**/compare?a=*&b=*")
    expect(page.get_by_text("I do not know.").first).to_be_visible()


def test_score_columns_filter_and_dashboard_chart(page: Page, site: Site) -> None:
    trace_id = site.seeded.weather[2]
    r = httpx.post(
        f"{site.url}/api/traces/{trace_id}/scores",
        json={"name": "helpfulness", "value": 0.9},
        headers={"X-Myagent-Request": "1"},
    )
    assert r.status_code == 201
    page.goto(f"{site.url}/?score=score.helpfulness%20%3E%3D%200.8")
    expect(page.locator("tr[data-trace-id]")).to_have_count(1)
    page.get_by_label("score column").select_option("helpfulness")
    expect(page.locator(f"tr[data-trace-id='{trace_id}'] td.col-score-helpfulness")).to_have_text(
        "0.90"
    )
    page.goto(f"{site.url}/dashboard")
    page.get_by_label("score to chart").select_option("helpfulness")
    expect(page.get_by_test_id("chart-scores")).to_be_visible()
