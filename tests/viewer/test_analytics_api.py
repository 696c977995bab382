"""Dashboard figures, tool runs, errors, sessions, compare, export and import over HTTP."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
from fastapi.testclient import TestClient

from myagent.trace import SQLiteTraceStorage, TraceManager
from myagent.trace.viewer import create_app
from tests.support.viewer import WRITE_HEADERS, write_planned_run
from tests.viewer.conftest import Api


def test_overall_and_per_agent_stats(api: Api) -> None:
    overall = api.client.get("/api/stats").json()
    assert overall["trace_count"] == len(api.seeded.all)
    assert overall["success_count"] == len(api.seeded.all) - 1
    assert overall["tool_usage"]["get_weather"] == 3
    agents = api.client.get("/api/stats/agents").json()["agents"]
    by_name = {a["agent_name"]: a for a in agents}
    assert set(by_name) == {"weather_agent", "math_agent", "web_agent", "file_agent"}
    assert by_name["weather_agent"]["trace_count"] == 3
    assert by_name["math_agent"]["success_rate"] == 0.0
    assert by_name["weather_agent"]["total_tokens"] == 450
    only = api.client.get("/api/stats/agents", params={"agent": "math_agent"}).json()
    assert [a["agent_name"] for a in only["agents"]] == ["math_agent"]


def test_tool_stats_count_calls_and_failures(api: Api) -> None:
    tools = {t["tool_name"]: t for t in api.client.get("/api/stats/tools").json()["tools"]}
    assert tools["get_weather"]["call_count"] == 3
    assert tools["calculator"]["error_count"] == 1
    assert tools["calculator"]["success_rate"] == 0.0
    weather = api.client.get("/api/stats/tools", params={"agent": "weather_agent"}).json()
    assert [t["tool_name"] for t in weather["tools"]] == ["get_weather"]


def test_time_series_buckets_every_finished_trace(api: Api) -> None:
    body = api.client.get("/api/stats/timeseries", params={"interval": 86400}).json()
    assert body["interval"] == 86400
    assert sum(b["trace_count"] for b in body["buckets"]) == len(api.seeded.all)
    assert api.client.get("/api/stats/timeseries", params={"interval": 0}).status_code == 422


def test_error_groups_point_at_example_traces(api: Api) -> None:
    groups = api.client.get("/api/errors").json()["groups"]
    by_type = {g["error_type"]: g for g in groups}
    assert by_type["RuntimeError"]["message"] == "division by zero"
    assert by_type["RuntimeError"]["agents"] == ["math_agent"]
    assert by_type["RuntimeError"]["example_trace_ids"] == [api.seeded.failing]
    assert "ValueError" in by_type
    assert api.client.get("/api/errors", params={"agent": "weather_agent"}).json()["groups"] == []


def test_tool_runs_follow_every_run_filter(api: Api) -> None:
    runs = api.client.get("/api/runs", params={"run_type": "tool"}).json()["items"]
    assert len(runs) == len(api.seeded.all)
    assert all(r["run_type"] == "tool" for r in runs)
    failed = api.client.get("/api/runs", params={"errors_only": "true"}).json()["items"]
    assert [r["tool_name"] for r in failed] == ["calculator"]
    weather = api.client.get("/api/runs", params={"tool": "get_weather"}).json()["items"]
    assert len(weather) == 3 and weather[0]["previews"]["input_params"]["text"]
    one = api.client.get("/api/runs", params={"trace_id": api.seeded.xss}).json()["items"]
    assert len(one) == 3
    agent = api.client.get("/api/runs", params={"agent": "math_agent", "run_type": "think"})
    assert len(agent.json()["items"]) == 2
    page = api.client.get("/api/runs", params={"limit": 2, "offset": 1}).json()
    assert len(page["items"]) == 2
    slow = api.client.get("/api/runs", params={"min_duration": 3600}).json()["items"]
    assert slow == []
    ok = api.client.get("/api/runs", params={"success_only": "true", "run_type": "tool"})
    assert len(ok.json()["items"]) == len(api.seeded.all) - 1
    window = api.client.get("/api/runs", params={"end": "2000-01-01T00:00:00Z"})
    assert window.json()["items"] == []


def test_sessions_and_facets(api: Api) -> None:
    sessions = api.client.get("/api/sessions").json()["sessions"]
    assert sessions == [
        {
            "session_id": "session-1",
            "trace_count": 3,
            "first_us": sessions[0]["first_us"],
            "last_us": sessions[0]["last_us"],
            "error_traces": 0,
            "tokens_used": 450,
            "cost_usd": sessions[0]["cost_usd"],
        }
    ]
    one = api.client.get("/api/sessions/session-1").json()
    assert [t["trace_id"] for t in one["items"]] == api.seeded.weather
    facets = api.client.get("/api/facets").json()
    assert facets["agents"] == ["file_agent", "math_agent", "weather_agent", "web_agent"]


def test_compare_aligns_records_and_reports_deltas(api: Api) -> None:
    paris, tokyo, _ = api.seeded.weather
    body = api.client.get("/api/compare", params={"a": paris, "b": tokyo}).json()
    keys = ["think:think→get_weather", "tool:get_weather", "think:think→answer"]
    assert [p["key"] for p in body["pairs"]] == keys
    tool_pair = body["pairs"][1]
    assert tool_pair["changed"] == ["input_params", "output"]
    assert body["deltas"]["tokens"] == 50
    assert body["deltas"]["records"] == 0
    other = api.client.get("/api/compare", params={"a": paris, "b": api.seeded.failing}).json()
    swapped = other["pairs"][1]  # a different tool at the same step is paired, and differs
    assert swapped["a"] and swapped["b"] and "input_params" in swapped["changed"]
    assert "success" in swapped["changed"]
    assert api.client.get("/api/compare", params={"a": paris, "b": "00ff"}).status_code == 404


def test_export_json_jsonl_and_csv_follow_the_filter(api: Api) -> None:
    jsonl = api.client.get("/api/export", params={"format": "jsonl", "agent": "weather_agent"})
    assert "attachment" in jsonl.headers["content-disposition"]
    lines = [orjson.loads(line) for line in jsonl.text.splitlines()]
    assert [t["trace_id"] for t in lines] == api.seeded.weather
    assert len(lines[0]["runs"]) == 3
    whole = api.client.get("/api/export", params={"format": "json"}).json()
    assert [t["trace_id"] for t in whole["traces"]] == api.seeded.all
    rows = list(csv.DictReader(io.StringIO(api.client.get("/api/export?format=csv").text)))
    assert [r["trace_id"] for r in rows] == api.seeded.all
    assert rows[0]["tools"] == "get_weather"
    limited = api.client.get("/api/export", params={"format": "jsonl", "limit": 2})
    assert len(limited.text.splitlines()) == 2


def test_import_round_trips_an_export(api: Api) -> None:
    exported = api.client.get("/api/export", params={"format": "json", "agent": "web_agent"})
    traces = exported.json()["traces"]
    for trace in traces:
        trace["trace_id"] = "imported" + trace["trace_id"][8:]
        trace["agent_name"] = "imported_agent"
        for run in trace["runs"]:
            run["trace_id"] = trace["trace_id"]
    body = b"\n".join(orjson.dumps(t) for t in traces)
    result = api.client.post("/api/import", content=body, headers=WRITE_HEADERS).json()
    assert result["imported"] == 1
    try:
        found = api.client.get("/api/traces", params={"agent": "imported_agent"}).json()
        assert [t["trace_id"] for t in found["items"]] == result["trace_ids"]
        detail = api.client.get(f"/api/traces/{result['trace_ids'][0]}").json()
        assert len(detail["records"]) == 3
        again = api.client.post(
            "/api/import", content=orjson.dumps({"traces": traces}), headers=WRITE_HEADERS
        ).json()
        assert again["imported"] == 0 and again["skipped"] == result["trace_ids"]  # not replaced
        assert api.client.get("/api/traces/count?agent=imported_agent").json()["count"] == 1
    finally:
        from myagent.trace import SQLiteTraceStorage

        cleanup = SQLiteTraceStorage(api.db)
        cleanup.delete_traces_sync(result["trace_ids"])
        cleanup.close_sync()


def test_import_rejects_what_is_not_a_trace_file(api: Api) -> None:
    assert (
        api.client.post("/api/import", content=b"not json", headers=WRITE_HEADERS).status_code
        == 422
    )
    assert (
        api.client.post("/api/import", content=b'[{"no": "id"}]', headers=WRITE_HEADERS).status_code
        == 422
    )
    bad_id = orjson.dumps([{"trace_id": "../etc/passwd"}])
    assert api.client.post("/api/import", content=bad_id, headers=WRITE_HEADERS).status_code == 422
    assert (
        api.client.post("/api/import", content=b"", headers=WRITE_HEADERS).json()["imported"] == 0
    )


def test_facets_offer_values_with_counts(api: Api) -> None:
    body = api.client.get("/api/facets").json()
    assert "weather_agent" in body["agents"]
    assert {"value": "weather_agent", "count": 3} in body["facets"]["agent"]
    assert {"value": "prod", "count": 2} in body["facets"]["tag"]
    found = api.client.get("/api/facets/agent", params={"q": "weather"}).json()
    assert found == {"field": "agent", "values": [{"value": "weather_agent", "count": 3}]}
    tools = api.client.get("/api/facets/tool", params={"q": "CALC"}).json()["values"]
    assert tools == [{"value": "calculator", "count": 1}]
    assert api.client.get("/api/facets/colour").status_code == 422


def test_compare_ignores_call_ids_and_aligns_an_extra_step(tmp_path: Any) -> None:
    manager = TraceManager(SQLiteTraceStorage(tmp_path / "c.db"))
    a = write_planned_run(manager, ["Paris"], "call_a")
    same = write_planned_run(manager, ["Paris"], "call_zz")
    extra = write_planned_run(manager, ["Paris", "Lyon"], "call_q")
    manager.flush()
    manager.close()
    client = TestClient(
        create_app(SQLiteTraceStorage(tmp_path / "c.db")), base_url="http://127.0.0.1"
    )
    body = client.get("/api/compare", params={"a": a, "b": same}).json()
    # Only the generated call ids differ: every step is the same step, unchanged.
    assert [p["changed"] for p in body["pairs"]] == [[], [], []]
    body = client.get("/api/compare", params={"a": a, "b": extra}).json()
    steps = [(p["key"], p["a"] is not None, p["b"] is not None) for p in body["pairs"]]
    assert steps == [
        ("think:think→get_weather", True, True),
        ("tool:get_weather", True, True),
        ("think:think→get_weather", False, True),  # Lyon's round: only in B, in its place
        ("tool:get_weather", False, True),
        ("think:think→answer", True, True),  # the answers side by side
    ]
    assert body["pairs"][4]["changed"] == ["messages"]
