"""The trace list, count, detail, records and payloads over HTTP, against a SQLite file."""

from __future__ import annotations

from typing import Any

import pytest

from myagent.trace import SQLiteTraceStorage, TraceManager
from tests.support.viewer import XSS_OUTPUT, write_agent_trace
from tests.viewer.conftest import Api


def ids(api: Api, **params: Any) -> list[str]:
    response = api.client.get("/api/traces", params=params)
    assert response.status_code == 200, response.text
    return [item["trace_id"] for item in response.json()["items"]]


def test_list_returns_summaries_newest_first_without_records(api: Api) -> None:
    body = api.client.get("/api/traces").json()
    items = body["items"]
    assert [i["trace_id"] for i in items] == api.seeded.all[::-1]
    first = items[-1]
    assert first["agent_name"] == "weather_agent"
    assert first["think_count"] == 2 and first["tool_count"] == 1
    assert first["input_preview"] == "What is the weather in Paris?"
    assert first["tokens_used"] == 100
    assert "records" not in first and "runs" not in first
    assert body["next_cursor"] is None


def test_keyset_pages_cover_every_trace_once(api: Api) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = api.client.get("/api/traces", params=params).json()
        seen += [i["trace_id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == api.seeded.all[::-1]


def test_a_page_is_stable_while_new_traces_arrive(api: Api) -> None:
    body = api.client.get("/api/traces", params={"limit": 2}).json()
    second_before = ids(api, limit=2, cursor=body["next_cursor"])
    manager = TraceManager(SQLiteTraceStorage(api.db))
    try:
        new = write_agent_trace(
            manager,
            agent="late_agent",
            question="arrives between two pages",
            tool="noop",
            params={},
            output="ok",
            answer="done",
        )
        manager.flush()
    finally:
        manager.close()
    try:
        assert ids(api, limit=2, cursor=body["next_cursor"]) == second_before
        assert ids(api, limit=1) == [new]
    finally:
        cleanup = SQLiteTraceStorage(api.db)
        cleanup.delete_traces_sync([new])
        cleanup.close_sync()


def test_count_is_a_separate_call_and_follows_the_filter(api: Api) -> None:
    assert api.client.get("/api/traces/count").json() == {"count": len(api.seeded.all)}
    assert api.client.get("/api/traces/count", params={"agent": "weather_agent"}).json() == {
        "count": 3
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"agent": "weather_agent"}, "weather"),
        ({"agent": ["math_agent", "web_agent"]}, "math+web"),
        ({"session": "session-1"}, "weather"),
        ({"status": "error"}, "failing"),
        ({"has_errors": "true"}, "failing"),
        ({"has_errors": "false", "agent": "math_agent"}, "none"),
        ({"tool": "get_weather"}, "weather"),
        ({"tool": ["get_weather", "calculator"], "tools_match": "any"}, "weather+math"),
        ({"tool": ["get_weather", "calculator"]}, "none"),
        ({"model": "gpt-4o"}, "failing"),
        ({"min_tokens": 200}, "tokens>=200"),
        ({"max_tokens": 100}, "tokens<=100"),
        ({"min_cost": 0.005}, "failing"),
        ({"q": "Tokyo"}, "tokyo"),
        ({"q": "division zero"}, "failing"),
        ({"tag": "prod"}, "prod"),
        ({"meta": "user=u1"}, "tokyo"),
        ({"meta": "attempt:=2"}, "lima"),
        ({"meta": "attempt=2"}, "none"),
        ({"min_duration": 3600}, "none"),
        ({"max_duration": 3600}, "all"),
        ({"start": "2000-01-01T00:00:00Z", "end": "2999-01-01T00:00:00Z"}, "all"),
        ({"end": "2000-01-01T00:00:00Z"}, "none"),
    ],
)
def test_every_filter_narrows_the_list_and_the_count(
    api: Api, params: dict[str, Any], expected: str
) -> None:
    s = api.seeded
    paris, tokyo, lima = s.weather
    math_and_web = {s.failing, s.xss}
    wanted = {
        "weather": set(s.weather),
        "math+web": math_and_web,
        "failing": {s.failing},
        "none": set(),
        "weather+math": {*s.weather, s.failing},
        "tokens>=200": {lima, s.failing},
        "tokens<=100": {paris, s.xss},
        "tokyo": {tokyo},
        "lima": {lima},
        "prod": {paris, lima},
        "all": set(s.all),
    }[expected]
    assert set(ids(api, **params)) == wanted
    assert api.client.get("/api/traces/count", params=params).json()["count"] == len(wanted)


@pytest.mark.parametrize(
    ("order", "key"),
    [("-tokens", "tokens_used"), ("tokens", "tokens_used"), ("-duration", "duration")],
)
def test_list_orders_and_pages_by_other_columns(api: Api, order: str, key: str) -> None:
    everything = api.client.get("/api/traces", params={"order": order}).json()["items"]
    values = [i[key] for i in everything]
    assert values == sorted(values, reverse=order.startswith("-"))
    first = api.client.get("/api/traces", params={"order": order, "limit": 3}).json()
    rest = ids(api, order=order, cursor=first["next_cursor"])
    assert [i["trace_id"] for i in first["items"]] + rest == [i["trace_id"] for i in everything]


def test_bad_parameters_are_rejected(api: Api) -> None:
    assert api.client.get("/api/traces", params={"cursor": "garbage!"}).status_code == 422
    assert api.client.get("/api/traces", params={"order": "name"}).status_code == 422
    assert api.client.get("/api/traces", params={"meta": "novalue"}).status_code == 422
    assert api.client.get("/api/traces", params={"limit": 100_000}).status_code == 422
    assert api.client.get("/api/traces/not%20an%20id").status_code == 422
    assert api.client.get("/api/traces/" + "a" * 200).status_code == 422
    assert api.client.get("/api/traces/0123abcd").status_code == 404
    assert api.client.get("/api/no-such-route").status_code == 404


def test_detail_is_a_record_tree_with_previews_only(api: Api) -> None:
    body = api.client.get(f"/api/traces/{api.seeded.big}").json()
    think, tool, final = body["records"]
    assert tool["parent_id"] == think["run_id"] and final["parent_id"] is None
    assert tool["tool_name"] == "read_file" and tool["tool_call_id"] == "call_1"
    assert think["tool_calls"] == [{"id": "call_1", "name": "read_file"}]
    assert think["model"] == "gpt-4o-mini" and think["tokens_used"] == 90
    output = tool["previews"]["output"]
    assert output["size"] == 400_000 and output["clipped"] is True
    assert len(output["text"]) < 1000
    assert body["input"]["text"] == "Read the big file"


def test_a_failed_record_carries_its_error_and_stack_trace(api: Api) -> None:
    body = api.client.get(f"/api/traces/{api.seeded.failing}").json()
    assert body["status"] == "error" and body["error"] == "ValueError: agent gave up"
    tool = next(r for r in body["records"] if r["run_type"] == "tool")
    assert tool["success"] is False and tool["error_type"] == "RuntimeError"
    assert tool["has_stacktrace"] is True
    full = api.client.get(f"/api/traces/{api.seeded.failing}/records/{tool['run_id']}").json()
    assert "RuntimeError: division by zero" in full["stacktrace"]
    assert "Traceback" in full["stacktrace"]


def test_record_payload_comes_whole_or_as_a_stated_download(api: Api) -> None:
    trace_id = api.seeded.big
    tool = api.client.get(f"/api/traces/{trace_id}").json()["records"][1]
    record = api.client.get(f"/api/traces/{trace_id}/records/{tool['run_id']}").json()
    assert record["input_params"] == {"path": "/data/big.txt"}
    large = record["output"]
    assert large["$large"] is True and large["size"] == 400_000
    assert "400,000 characters" in large["note"]
    assert len(large["preview"]) <= 16_384
    whole = api.client.get(large["download"])
    assert whole.text == "x" * 400_000
    assert whole.headers["content-type"].startswith("text/plain")
    download = api.client.get(large["download"], params={"download": "true"})
    assert "attachment" in download.headers["content-disposition"]
    assert api.client.get(f"{large['download'][:-6]}nonsense").status_code == 404


def test_trace_level_payload_and_unknown_record(api: Api) -> None:
    trace_id = api.seeded.xss
    assert api.client.get(f"/api/traces/{trace_id}/payload/input").text == "Fetch the page"
    assert api.client.get(f"/api/traces/{trace_id}/payload/bogus").status_code == 404
    assert api.client.get(f"/api/traces/{trace_id}/records/00aa").status_code == 404


def test_find_in_trace_searches_whole_payloads(api: Api) -> None:
    trace_id = api.seeded.xss
    hits = api.client.get(f"/api/traces/{trace_id}/search", params={"q": "ONERROR"}).json()
    tool = api.client.get(f"/api/traces/{trace_id}").json()["records"][1]
    found = {h["run_id"]: h for h in hits["hits"]}
    assert found[tool["run_id"]]["fields"] == ["output"]
    assert found[tool["run_id"]]["own"] is True
    place = found[tool["run_id"]]["places"][0]
    assert (place["field"], place["path"], place["match"]) == ("output", "output", "onerror")
    assert place["before"].endswith("<img src=x ")
    none = api.client.get(f"/api/traces/{trace_id}/search", params={"q": "zebra"}).json()
    assert none["hits"] == []


def test_trace_content_is_served_as_json_or_plain_text_never_html(api: Api) -> None:
    trace_id = api.seeded.xss
    tool = api.client.get(f"/api/traces/{trace_id}").json()["records"][1]
    raw = api.client.get(f"/api/traces/{trace_id}/records/{tool['run_id']}/payload/output")
    assert raw.text == XSS_OUTPUT
    assert raw.headers["content-type"] == "text/plain; charset=utf-8"
    assert raw.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self'" in raw.headers["content-security-policy"]


def test_find_in_trace_tells_own_content_from_repeated_prompt_history(api: Api) -> None:
    trace_id = api.seeded.weather[0]
    records = api.client.get(f"/api/traces/{trace_id}").json()["records"]
    first, tool, second = records
    body = api.client.get(f"/api/traces/{trace_id}/search", params={"q": "weather in paris"})
    hits = {h["run_id"]: h for h in body.json()["hits"]}
    assert set(hits) == {first["run_id"], second["run_id"]}
    assert hits[first["run_id"]]["own"] is True  # the question, sent for the first time
    later = hits[second["run_id"]]
    assert later["own"] is False  # the same question, resent as history
    assert [(p["path"], p["history"]) for p in later["places"]] == [("messages[0].content", True)]
    answer = api.client.get(f"/api/traces/{trace_id}/search", params={"q": "20 degrees"}).json()
    assert [(h["run_id"], h["own"]) for h in answer["hits"]] == [(second["run_id"], True)]
    assert tool["run_type"] == "tool"
