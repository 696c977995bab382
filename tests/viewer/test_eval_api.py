"""The viewer's score, dataset and experiment routes over a real server and SQLite file."""

from __future__ import annotations

import asyncio
from typing import Any

from myagent.trace import SQLiteTraceStorage
from myagent.trace.scores import make_score
from myagent.trace.storage.eval_rows import ExperimentInfo
from tests.viewer.conftest import Api

WRITE = {"X-Myagent-Request": "1"}
OPENAI_KEY = "sk-proj-CANARYabcdefghijklmnopqrstuvwxyz0123"


def _post(api: Api, path: str, body: dict[str, Any]) -> Any:
    return api.client.post(path, json=body, headers=WRITE)


def test_score_a_trace_then_filter_and_show_columns(api: Api) -> None:
    first, second = api.seeded.weather[:2]
    r = _post(api, f"/api/traces/{first}/scores", {"name": "helpfulness", "value": 0.9})
    assert r.status_code == 201, r.text
    assert r.json()["source"] == "human" and r.json()["display"] == 0.9
    _post(api, f"/api/traces/{second}/scores", {"name": "helpfulness", "value": 0.2})
    thumbs = {"name": "thumbs", "value": True, "comment": f"ok {OPENAI_KEY}"}
    assert _post(api, f"/api/traces/{second}/scores", thumbs).status_code == 201
    listed = api.client.get(f"/api/traces/{second}/scores").json()
    assert listed["total"] == 2
    comment = next(s["comment"] for s in listed["items"] if s["name"] == "thumbs")
    assert OPENAI_KEY not in comment and "[REDACTED]" in comment

    page = api.client.get("/api/traces", params={"score": "score.helpfulness >= 0.8"}).json()
    assert [t["trace_id"] for t in page["items"]] == [first]
    count = api.client.get("/api/traces/count", params={"score": "has score thumbs"}).json()
    assert count["count"] == 1
    bad = api.client.get("/api/traces", params={"score": "helpfulness is great"})
    assert bad.status_code == 422

    columns = api.client.get(
        "/api/scores/columns",
        params={"trace_id": [first, second], "name": ["helpfulness", "thumbs"]},
    ).json()
    assert columns == {first: {"helpfulness": 0.9}, second: {"helpfulness": 0.2, "thumbs": True}}
    names = api.client.get("/api/scores/names").json()["names"]
    assert {"helpfulness", "thumbs"} <= set(names)
    series = api.client.get(
        "/api/scores/series", params={"name": "helpfulness", "interval": 86400 * 365}
    ).json()
    assert sum(b["count"] for b in series["buckets"]) == 2


def test_score_bad_input(api: Api) -> None:
    trace_id = api.seeded.big
    unknown = _post(api, f"/api/traces/{'f' * 32}/scores", {"name": "x", "value": 1})
    assert unknown.status_code == 404
    nan = api.client.post(
        f"/api/traces/{trace_id}/scores",
        content=b'{"name": "x", "value": NaN}',
        headers={**WRITE, "content-type": "application/json"},
    )
    assert nan.status_code == 422
    config = {"name": "verdict", "data_type": "categorical", "categories": ["good", "bad"]}
    assert api.client.put("/api/scores/configs", json=config, headers=WRITE).status_code == 200
    assert (
        _post(
            api, f"/api/traces/{trace_id}/scores", {"name": "verdict", "value": "good"}
        ).status_code
        == 201
    )
    outside = _post(api, f"/api/traces/{trace_id}/scores", {"name": "verdict", "value": "meh"})
    assert outside.status_code == 422 and "not one of" in outside.text
    record = _post(
        api, f"/api/traces/{trace_id}/scores", {"name": "x", "value": 1, "record_id": "nope"}
    )
    assert record.status_code == 404
    run_id = api.client.get(f"/api/traces/{trace_id}").json()["records"][0]["run_id"]
    on_record = {"name": "step_ok", "value": False, "record_id": run_id}
    stored = _post(api, f"/api/traces/{trace_id}/scores", on_record)
    assert stored.status_code == 201 and stored.json()["run_id"] == run_id


def test_many_scores_on_one_trace_page(api: Api) -> None:
    trace_id = api.seeded.failing
    storage = SQLiteTraceStorage(api.db)
    scores = [make_score(trace_id, "bulk", i / 10_000) for i in range(10_000)]
    asyncio.run(storage.store_scores(scores))
    page = api.client.get(f"/api/traces/{trace_id}/scores", params={"limit": 1000}).json()
    assert page["total"] == 10_000 and len(page["items"]) == 1000
    assert api.client.get(f"/api/traces/{trace_id}").status_code == 200
    storage.close_sync()


def test_datasets_from_traces_and_edits(api: Api) -> None:
    trace_id = api.seeded.weather[0]
    r = _post(api, "/api/datasets/support/items", {"trace_ids": [trace_id]})
    assert r.status_code == 201, r.text
    [item] = r.json()["items"]
    assert item["source_trace_id"] == trace_id and item["version"] == 1
    _post(
        api,
        "/api/datasets/support/items",
        {"items": [{"input": "hi", "expected_output": "hello", "metadata": {"token": "t0p"}}]},
    )
    edit = api.client.put(
        f"/api/datasets/support/items/{item['item_id']}",
        json={"expected_output": "Sunny, 22C"},
        headers=WRITE,
    )
    assert edit.json()["version"] == 2
    items = api.client.get("/api/datasets/support/items").json()["items"]
    assert [i["expected_output"] for i in items] == ["Sunny, 22C", "hello"]
    assert items[1]["metadata"] == {"token": "[REDACTED]"}  # items pass the redactor
    history = api.client.get(f"/api/datasets/support/items/{item['item_id']}/history").json()
    assert [i["version"] for i in history["items"]] == [1, 2]
    api.client.delete(f"/api/datasets/support/items/{item['item_id']}", headers=WRITE)
    assert len(api.client.get("/api/datasets/support/items").json()["items"]) == 1
    listed = {d["name"]: d for d in api.client.get("/api/datasets").json()["items"]}
    assert listed["support"]["items"] == 1 and listed["support"]["versions"] == 4
    assert _post(api, "/api/datasets/support/items", {"trace_ids": ["f" * 32]}).status_code == 404


def test_experiments_and_comparison(api: Api) -> None:
    storage = SQLiteTraceStorage(api.db)
    ids = api.seeded.weather[:2]

    async def seed() -> None:
        for exp, order in (("base", ids), ("next", ids[::-1])):
            info = ExperimentInfo(experiment_id=exp, name=exp, dataset="support")
            await storage.store_experiment(info)
            await storage.store_experiment_runs(exp, [("item0", order[0]), ("item1", order[1])])
        correct = [
            make_score(ids[0], "correct", 1.0, source="eval"),
            make_score(ids[1], "correct", 0.0, source="eval"),
        ]
        await storage.store_scores(correct)

    asyncio.run(seed())
    listed = api.client.get("/api/experiments").json()["items"]
    assert {e["experiment_id"] for e in listed} == {"base", "next"}
    one = api.client.get("/api/experiments/base").json()
    assert one["summary"]["items"] == 2 and one["summary"]["scores"]["correct"]["mean"] == 0.5
    compared = api.client.get(
        "/api/experiments/compare", params={"base": "base", "other": "next"}
    ).json()
    first = compared["items"][0]
    assert (
        first["item_id"] == "item0" and first["regression"] and first["deltas"]["correct"] == -1.0
    )
    assert compared["items"][1]["deltas"]["correct"] == 1.0
    assert api.client.get("/api/experiments/none").status_code == 404
    storage.close_sync()


def test_scores_travel_with_exported_traces(api: Api, tmp_path: Any) -> None:
    trace_id = api.seeded.weather[1]
    _post(api, f"/api/traces/{trace_id}/scores", {"name": "exported", "value": "yes"})
    body = api.client.get("/api/export", params={"trace_id": trace_id, "format": "jsonl"}).content
    assert b'"scores":[' in body and b'"exported"' in body
    from fastapi.testclient import TestClient

    from myagent.trace.viewer import create_app

    other = SQLiteTraceStorage(tmp_path / "other.db")
    with TestClient(create_app(other), base_url="http://127.0.0.1") as client:
        r = client.post(
            "/api/import", content=body, headers={**WRITE, "content-type": "application/json"}
        )
        assert r.status_code == 200, r.text
    scores = asyncio.run(other.query_scores(trace_ids=[trace_id]))
    assert "exported" in {s.name for s in scores}
    other.close_sync()


def test_annotation_queues_are_saved_on_the_server(api: Api) -> None:
    queue = {"name": "failed this week", "filter": "status=error&start=-7d&score=no human score"}
    saved = api.client.put("/api/queues", json=queue, headers=WRITE)
    assert saved.status_code == 200, saved.text
    assert [q["name"] for q in api.client.get("/api/queues").json()["items"]] == [
        "failed this week"
    ]
    bad = api.client.put("/api/queues", json={"name": "a/b", "filter": ""}, headers=WRITE)
    assert bad.status_code == 422
    gone = api.client.delete("/api/queues/failed this week", headers=WRITE)
    assert gone.json() == {"deleted": 1}
    assert api.client.get("/api/queues").json()["items"] == []
