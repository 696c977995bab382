"""Datasets, evaluators and `run_experiment` over a real SQLite file and the offline model."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from myagent.eval import (
    Contains,
    CostBudget,
    Dataset,
    DatasetFileError,
    EvalResult,
    ExactMatch,
    JsonSchemaValid,
    LatencyBudget,
    Regex,
    ToolCalled,
    compare_experiments,
    evaluator,
    read_items_file,
    run_experiment,
    trace_attributes,
)
from myagent.trace import Trace, TraceFilter, TraceManager
from myagent.trace.records import ToolRecord
from myagent.trace.storage.eval_rows import DatasetItem
from tests.eval.agents import create_agent, create_echo

OPENAI_KEY = "sk-proj-CANARYabcdefghijklmnopqrstuvwxyz0123"


def _item(expected: str = "5", **kw: object) -> DatasetItem:
    return DatasetItem(dataset="d", input="what is 2+3?", expected_output=expected, **kw)  # type: ignore[arg-type]


def _trace(output: object, *, tool_input: dict[str, object] | None = None) -> Trace:
    trace = Trace(input="q", output=output)
    trace.end_us = trace.start_us + 1_500_000
    if tool_input is not None:
        trace.runs.append(
            ToolRecord(
                name="t", trace_id=trace.trace_id, tool_name="calculator", input_params=tool_input
            )
        )
    return trace


def test_builtin_evaluators() -> None:
    item = _item("The answer is 5")
    assert ExactMatch()(item, _trace(" The answer is 5 ")) is True
    assert ExactMatch()(item, _trace("the answer is 5")) is False
    assert ExactMatch(ignore_case=True)(item, _trace("the answer is 5")) is True
    assert Contains("answer IS")(item, _trace("The answer is 5")) is True
    assert Contains()(_item("5"), _trace("it is 5.")) is True
    assert Regex(r"\b5\b")(item, _trace("x 5 y")) is True
    assert Regex(r"^\d+$")(item, _trace("x 5 y")) is False
    schema = {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}}
    assert JsonSchemaValid(schema)(item, _trace('{"a": 1}')).value is True
    bad = JsonSchemaValid(schema)(item, _trace('{"a": "x"}'))
    assert bad.value is False and "integer" in (bad.comment or "")
    assert JsonSchemaValid(schema)(item, _trace("not json")).value is False
    called = _trace("5", tool_input={"expression": "2+3"})
    assert ToolCalled("calculator")(item, called) is True
    assert ToolCalled("calculator", {"expression": "2+3"})(item, called) is True
    assert ToolCalled("calculator", {"expression": "9"})(item, called) is False
    assert ToolCalled("search")(item, called) is False
    assert LatencyBudget(2.0)(item, called).value is True
    assert LatencyBudget(1.0)(item, called).value is False
    assert CostBudget(0.01)(item, called).value is True


async def test_dataset_from_code_with_versions(sqlite_manager: TraceManager) -> None:
    dataset = Dataset("qa", manager=sqlite_manager)
    first = await dataset.add("2+2?", "4", metadata={"level": 1})
    await dataset.add(f"my key is {OPENAI_KEY}", "ok")
    edited = await dataset.edit(first.item_id, expected_output="four")
    assert edited.version == 2
    items = await dataset.items()
    assert [i.expected_output for i in items] == ["four", "ok"]
    assert OPENAI_KEY not in str(items[1].input)  # items are redacted like traces
    assert [v.expected_output for v in await dataset.history(first.item_id)] == ["4", "four"]
    await dataset.delete(first.item_id)
    assert len(await dataset.items()) == 1
    with pytest.raises(KeyError):
        await dataset.edit("missing", expected_output="x")


async def test_dataset_from_a_trace(sqlite_manager: TraceManager) -> None:
    agent = create_agent()
    await agent.run("what is 6*7?")
    sqlite_manager.flush()
    dataset = Dataset("from-prod", manager=sqlite_manager)
    item = await dataset.add_trace(agent.last_trace_id, expected_output="42")
    assert (item.input, item.expected_output, item.source_trace_id) == (
        "what is 6*7?",
        "42",
        agent.last_trace_id,
    )


def test_read_items_files(tmp_path: Path) -> None:
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(
        '{"input": "hi", "expected_output": "hello", "topic": "greet"}\n\n{"input": {"q": 1}}\n'
    )
    rows = read_items_file(jsonl)
    assert rows[0] == {
        "input": "hi",
        "expected_output": "hello",
        "metadata": {"topic": "greet"},
        "source_trace_id": None,
    }
    assert rows[1]["input"] == {"q": 1}
    csv_file = tmp_path / "b.csv"
    csv_file.write_text('input,expected,metadata\n"2+2?",4,"{""level"": 2}"\n')
    assert read_items_file(csv_file) == [
        {"input": "2+2?", "expected_output": "4", "metadata": {"level": 2}, "source_trace_id": None}
    ]
    broken = tmp_path / "c.jsonl"
    broken.write_text('{"input": "ok"}\n{"expected_output": "x"}\n')
    with pytest.raises(DatasetFileError, match="line 2: no 'input'"):
        read_items_file(broken)
    broken.write_text("{nope\n")
    with pytest.raises(DatasetFileError, match="line 1: not JSON"):
        read_items_file(broken)


async def test_run_experiment_tags_traces_and_scores(sqlite_manager: TraceManager) -> None:
    dataset = Dataset("math", manager=sqlite_manager)
    await dataset.add_many(
        [{"input": f"what is {a}+{a}?", "expected_output": str(2 * a)} for a in range(1, 6)]
    )
    seen: list[int] = []
    result = await run_experiment(
        dataset,
        create_agent,
        [Contains(), ToolCalled("calculator"), evaluator(lambda item, trace: 0.5, name="half")],
        name="first",
        concurrency=3,
        progress=lambda done, total: seen.append(done),
    )
    assert result.status == "finished" and seen[-1] == 5
    assert result.mean("contains") == 1.0 and result.mean("half") == 0.5
    assert result.summary["pass_rate"] == 1.0 and result.summary["latency_p95"] is not None
    storage = sqlite_manager.storage
    tagged = await storage.query_traces(TraceFilter(tags=[f"experiment:{result.experiment_id}"]))
    assert len(tagged) == 5
    items = {i.item_id for i in await dataset.items()}
    assert {t.metadata["item_id"] for t in tagged} == items
    assert all(t.metadata["experiment_id"] == result.experiment_id for t in tagged)
    scores = await storage.query_scores(experiment_id=result.experiment_id, limit=None)
    assert len(scores) == 15 and {s.source for s in scores} == {"eval"}
    # traces outside the experiment are untouched by its tags
    outside = create_agent()
    await outside.run("what is 1+1?")
    sqlite_manager.flush()
    assert await storage.count_traces(TraceFilter(tags=[f"experiment:{result.experiment_id}"])) == 5


async def test_raising_and_hanging_evaluators_record_errors(sqlite_manager: TraceManager) -> None:
    items = [DatasetItem(dataset="e", input=f"q{i}") for i in range(3)]

    def boom(item: DatasetItem, trace: Trace) -> float:
        raise RuntimeError("evaluator broke")

    def hang(item: DatasetItem, trace: Trace) -> float:
        time.sleep(30)  # a sync function that never returns in time
        return 1.0

    async def ahang(item: DatasetItem, trace: Trace) -> float:
        await asyncio.sleep(30)
        return 1.0

    result = await run_experiment(
        items,
        create_echo,
        [
            evaluator(boom),
            evaluator(hang, timeout=0.2),
            evaluator(ahang, timeout=0.2),
            evaluator(lambda i, t: EvalResult(True, "fine"), name="ok"),
        ],
    )
    assert result.status == "finished" and result.summary["finished"] == 3
    scores = result.summary["scores"]
    assert scores["boom"]["errors"] == 3 and scores["hang"]["errors"] == 3
    assert scores["ahang"]["errors"] == 3 and scores["ok"]["mean"] == 1.0
    assert result.summary["pass_rate"] == 0.0  # an error score fails its item
    stored = await sqlite_manager.storage.query_scores(names=["boom", "hang"], limit=None)
    assert {s.error for s in stored} == {"RuntimeError: evaluator broke", "timed out after 0.2 s"}


async def test_a_failing_agent_is_a_result(sqlite_manager: TraceManager) -> None:
    class Broken:
        async def run(self, text: str) -> str:
            raise ValueError("no answer")

    result = await run_experiment([DatasetItem(dataset="b", input="x")], Broken, [ExactMatch()])
    assert result.summary["failed_runs"] == 1 and result.items[0]["status"] == "error"


async def test_interrupted_experiment_resumes(sqlite_manager: TraceManager) -> None:
    items = [DatasetItem(dataset="r", input=f"q{i}") for i in range(6)]
    calls: list[str] = []

    class Slow:
        async def run(self, text: str) -> str:
            calls.append(text)
            if len(calls) > 2:
                await asyncio.sleep(30)
            return text

    task = asyncio.create_task(
        run_experiment(items, Slow, [ExactMatch()], experiment_id="exp-r", concurrency=1)
    )
    while len(calls) < 3:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [info] = await sqlite_manager.storage.experiments(dataset="r")
    assert info.status == "interrupted"
    assert len(await sqlite_manager.storage.experiment_runs("exp-r")) == 2
    calls.clear()
    result = await run_experiment(items, create_echo, [ExactMatch()], experiment_id="exp-r")
    assert result.status == "finished" and result.summary["finished"] == 6
    assert len(await sqlite_manager.storage.experiment_runs("exp-r")) == 6


async def test_compare_two_experiments(sqlite_manager: TraceManager) -> None:
    items = [DatasetItem(dataset="c", input=f"q{i}", expected_output=f"q{i}") for i in range(4)]

    class Worse:
        async def run(self, text: str) -> str:
            return "wrong" if text in ("q1", "q3") else text

    base = await run_experiment(items, create_echo, [ExactMatch()], experiment_id="base")
    other = await run_experiment(items, Worse, [ExactMatch()], experiment_id="other")
    compared = await compare_experiments(
        sqlite_manager.storage, base.experiment_id, other.experiment_id
    )
    rows = compared["items"]
    assert [r["regression"] for r in rows] == [True, True, False, False]
    by_input = {r["base"]["output_preview"]: r["deltas"]["exact_match"] for r in rows}
    assert by_input == {"q0": 0.0, "q1": -1.0, "q2": 0.0, "q3": -1.0}
    assert compared["base"]["summary"]["pass_rate"] == 1.0
    assert compared["other"]["summary"]["pass_rate"] == 0.5


def test_trace_attributes_travel_with_tasks(tmp_path: Path) -> None:
    manager = TraceManager(enabled=True)

    async def one(tag: str) -> list[Trace]:
        with trace_attributes(tags=[tag], metadata={"k": tag}) as opened:
            async with manager.trace("t"):
                await asyncio.sleep(0.01)
            return opened

    async def both() -> tuple[list[Trace], list[Trace]]:
        return await asyncio.gather(one("a"), one("b"))  # type: ignore[return-value]

    a, b = asyncio.run(both())
    assert [t.tags for t in a] == [["a"]] and [t.metadata for t in b] == [{"k": "b"}]
    manager.close()
