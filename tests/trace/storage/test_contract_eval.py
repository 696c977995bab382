"""The evaluation half of the storage contract (scores, datasets, experiments), over the
same real backends as test_contract: memory, a SQLite file, PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from myagent.trace import TraceFilter, TraceStorage
from myagent.trace.scores import ScoreCondition, ScoreConfig, make_score, parse_score_condition
from myagent.trace.storage.eval_rows import DatasetItem, ExperimentInfo
from tests.trace.storage.test_contract import make_trace, storage

__all__ = ["storage"]


async def _scored(storage: TraceStorage) -> list[str]:
    """Five traces; helpfulness 0.1 .. 0.9 on the first four, a label on trace 2."""
    traces = [make_trace(i) for i in range(1, 6)]
    await storage.store_traces(traces)
    ids = [t.trace_id for t in traces]
    scores = [make_score(ids[i], "helpfulness", 0.1 + 0.25 * i) for i in range(4)]
    scores.append(make_score(ids[1], "verdict", "good", source="human", comment="fine"))
    scores.append(make_score(ids[2], "correct", True, source="eval"))
    scores.append(make_score(ids[3], "correct", False, source="eval", run_id="r1"))
    await storage.store_scores(scores)
    return ids


async def test_scores_round_trip(storage: TraceStorage) -> None:
    ids = await _scored(storage)
    found = await storage.query_scores(trace_ids=[ids[1]])
    assert sorted((s.name, s.display) for s in found) == [
        ("helpfulness", 0.35),
        ("verdict", "good"),
    ]
    verdict = next(s for s in found if s.name == "verdict")
    assert (verdict.source, verdict.comment, verdict.data_type) == ("human", "fine", "categorical")
    record = await storage.query_scores(names=["correct"], sources=["eval"])
    assert [(s.display, s.run_id) for s in record] == [(True, None), (False, "r1")]
    assert await storage.count_scores() == 7
    assert await storage.count_scores(trace_ids=[ids[3]]) == 2
    assert await storage.score_names() == ["correct", "helpfulness", "verdict"]
    again = found[0]
    again.comment = "edited"
    await storage.store_scores([again])  # same id: replaces, never duplicates
    assert await storage.count_scores() == 7
    assert await storage.delete_scores([again.score_id, "missing"]) == 1
    assert await storage.count_scores() == 6


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("score.helpfulness >= 0.6", [2, 3]),
        ("score.helpfulness < 0.3", [0]),
        ("score.helpfulness != 0.35", [0, 2, 3]),
        ("score.verdict == good", [1]),
        ("score.correct == true", [2]),
        ("has score verdict", [1]),
        ("no score helpfulness", [4]),
        ("no human score", [0, 2, 3, 4]),
        ("has eval score", [2, 3]),
    ],
)
async def test_filter_by_scores(storage: TraceStorage, condition: str, expected: list[int]) -> None:
    ids = await _scored(storage)
    f = TraceFilter(scores=[parse_score_condition(condition)])
    found = await storage.query_traces(f, order_by="start_time")
    assert [t.trace_id for t in found] == [ids[i] for i in expected]
    assert await storage.count_traces(f) == len(expected)
    summaries = await storage.query_summaries(f, order_by="start_time")
    assert [s.trace_id for s in summaries] == [ids[i] for i in expected]


async def test_score_conditions_combine_with_other_filters(storage: TraceStorage) -> None:
    ids = await _scored(storage)
    f = TraceFilter(
        scores=[ScoreCondition("helpfulness", ">", 0.2), ScoreCondition("correct", "has")],
        session_ids=["s1"],
    )
    assert [t.trace_id for t in await storage.query_traces(f)] == [ids[2]]


async def test_score_series_averages_per_interval(storage: TraceStorage) -> None:
    ids = await _scored(storage)
    # traces start BASE + i minutes: buckets of 2 minutes hold (1), (2, 3), (4, 5)
    series = await storage.score_series("helpfulness", None, interval_us=120_000_000)
    assert [(b.count, round(b.mean, 6)) for b in series] == [(1, 0.1), (2, 0.475), (1, 0.85)]
    only = await storage.score_series(
        "helpfulness", TraceFilter(trace_ids=ids[:2]), interval_us=3_600_000_000
    )
    assert [(b.count, round(b.mean, 6)) for b in only] == [(2, 0.225)]


async def test_deleting_a_trace_deletes_its_scores(storage: TraceStorage) -> None:
    ids = await _scored(storage)
    await storage.delete_traces([ids[1]])
    assert await storage.count_scores(trace_ids=[ids[1]]) == 0
    assert await storage.count_scores() == 5


async def test_ten_thousand_scores_on_one_trace(storage: TraceStorage) -> None:
    trace = make_trace(1)
    await storage.store_traces([trace])
    scores = [make_score(trace.trace_id, f"s{i % 10}", i / 10_000) for i in range(10_000)]
    await storage.store_scores(scores)
    assert await storage.count_scores(trace_ids=[trace.trace_id]) == 10_000
    page = await storage.query_scores(trace_ids=[trace.trace_id], limit=100, offset=9_950)
    assert len(page) == 50
    f = TraceFilter(scores=[parse_score_condition("score.s3 >= 0.9")])
    assert await storage.count_traces(f) == 1


async def test_score_configs(storage: TraceStorage) -> None:
    await storage.store_score_config(
        ScoreConfig(name="verdict", data_type="categorical", categories=["good", "bad"])
    )
    await storage.store_score_config(ScoreConfig(name="helpfulness", min_value=0, max_value=1))
    configs = await storage.score_configs()
    assert [(c.name, c.categories) for c in configs] == [
        ("helpfulness", None),
        ("verdict", ["good", "bad"]),
    ]


async def test_dataset_versions_keep_history(storage: TraceStorage) -> None:
    a = DatasetItem(dataset="qa", input="2+2?", expected_output="4", created_us=1)
    b = DatasetItem(dataset="qa", input={"q": "capital of France"}, created_us=2)
    other = DatasetItem(dataset="other", input="x", created_us=3)
    await storage.store_dataset_items([a, b, other])
    edit = DatasetItem.from_dict({**a.to_dict(), "version": 2, "expected_output": "four"})
    edit.created_us = 4
    gone = DatasetItem.from_dict({**b.to_dict(), "version": 2, "deleted": True, "created_us": 5})
    await storage.store_dataset_items([edit, gone])
    live = await storage.dataset_items("qa")
    assert [(i.item_id, i.version, i.expected_output) for i in live] == [(a.item_id, 2, "four")]
    history = await storage.dataset_items("qa", item_id=a.item_id, history=True)
    assert [i.expected_output for i in history] == ["4", "four"]
    assert len(await storage.dataset_items("qa", history=True)) == 4
    names = {d["name"]: (d["items"], d["versions"]) for d in await storage.datasets()}
    assert names == {"other": (1, 1), "qa": (1, 4)}


async def test_experiments_and_runs(storage: TraceStorage) -> None:
    traces = [make_trace(i) for i in range(1, 4)]
    await storage.store_traces(traces[:2])
    old = ExperimentInfo(experiment_id="e1", name="first", dataset="qa", created_us=1)
    new = ExperimentInfo(experiment_id="e2", name="second", dataset="qa", created_us=2)
    await storage.store_experiment(old)
    await storage.store_experiment(new)
    old.status = "finished"
    await storage.store_experiment(old)
    assert [(e.experiment_id, e.status) for e in await storage.experiments()] == [
        ("e2", "running"),
        ("e1", "finished"),
    ]
    assert await storage.experiments(dataset="none") == []
    await storage.store_experiment_runs(
        "e1", [("i1", traces[0].trace_id), ("i2", traces[1].trace_id), ("i3", traces[2].trace_id)]
    )
    await storage.store_scores([make_score(traces[0].trace_id, "ok", True, source="eval")])
    runs = {r["item_id"]: r for r in await storage.experiment_runs("e1")}
    assert runs["i1"]["status"] == "success" and runs["i1"]["output_preview"] == "answer 1"
    assert runs["i1"]["duration"] == pytest.approx(3.0)
    assert runs["i3"]["status"] is None  # its trace is not stored (yet)
    scores = await storage.query_scores(experiment_id="e1")
    assert [s.name for s in scores] == ["ok"]
    assert await storage.query_scores(experiment_id="e2") == []


async def test_odd_text_is_stored_faithfully(storage: TraceStorage) -> None:
    trace = make_trace(1)
    await storage.store_traces([trace])
    long = "x" * 20_000
    score = make_score(
        trace.trace_id, "odd", "a\x00b", comment=f"nul \x00 and ünïcode ✓ {long}", author="a\x00"
    )
    await storage.store_scores([score])
    [stored] = await storage.query_scores(trace_ids=[trace.trace_id])
    assert stored.label == "a\ufffdb" and stored.author == "a\ufffd"
    assert stored.comment is not None and stored.comment.startswith("nul \ufffd and ünïcode ✓ x")
    assert stored.comment.endswith("characters cut]") and len(stored.comment) < 10_100


async def test_annotation_queues(storage: TraceStorage) -> None:
    await storage.store_queue({"name": "errors", "filter": "status=error", "author": "ann"})
    await storage.store_queue({"name": "all", "filter": ""})
    await storage.store_queue({"name": "errors", "filter": "status=error&start=-7d"})
    assert [(q["name"], q["filter"]) for q in await storage.queues()] == [
        ("all", ""),
        ("errors", "status=error&start=-7d"),
    ]
    assert await storage.delete_queue("all") == 1
    assert await storage.delete_queue("all") == 0
    assert [q["name"] for q in await storage.queues()] == ["errors"]


async def test_experiments_end_to_end_on_every_backend(storage: TraceStorage) -> None:
    from myagent.eval import Dataset, ExactMatch, compare_experiments, run_experiment
    from myagent.trace import TraceManager

    class Echo:
        async def run(self, text: str) -> str:
            return text

    class Wrong:
        async def run(self, text: str) -> str:
            return "wrong" if text == "b" else text

    manager = TraceManager(storage)
    dataset = Dataset("letters", manager=manager)
    await dataset.add_many([{"input": x, "expected_output": x} for x in "abc"])
    base = await run_experiment(dataset, Echo, [ExactMatch()], manager=manager)
    other = await run_experiment(dataset, Wrong, [ExactMatch()], manager=manager)
    assert base.mean("exact_match") == 1.0 and other.summary["pass_rate"] == 2 / 3
    rows = (await compare_experiments(storage, base.experiment_id, other.experiment_id))["items"]
    assert [r["deltas"]["exact_match"] for r in rows] == [-1.0, 0.0, 0.0]
    assert rows[0]["base"]["input_preview"] == "b"
    await asyncio.to_thread(manager.close)
