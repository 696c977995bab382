"""End to end: 20 items, an agent and a changed agent (another system prompt) against a real
OpenAI-wire HTTP server on 127.0.0.1, three evaluators including the LLM judge; both
experiments stored; the comparison shows the expected per-item deltas."""

from __future__ import annotations

import re
from typing import Any

from myagent import create_toolcall_agent
from myagent.eval import (
    Contains,
    Dataset,
    LatencyBudget,
    LLMJudge,
    compare_experiments,
    run_experiment,
)
from myagent.llm import OpenAICompatibleLLM
from myagent.trace import TraceFilter, TraceManager
from tests.support.openai_server import OpenAITestServer, Reply

CAREFUL = "You are a careful calculator. Always give the exact sum."
SLOPPY = "You are a fast calculator. Round odd sums down."


def _question(messages: list[dict[str, Any]]) -> tuple[int, int] | None:
    for message in messages:
        if message.get("role") == "user":
            found = re.search(r"(\d+) \+ (\d+)", str(message.get("content")))
            if found:
                return int(found[1]), int(found[2])
    return None


def respond(body: dict[str, Any]) -> Reply:
    """The model: agent requests answer from their system prompt; judge requests grade."""
    messages = body["messages"]
    first = str(messages[0].get("content"))
    if first.startswith("You grade"):
        expected = re.search(r"Expected answer \(may be empty\):\n(.*)\n", first)
        answer = re.search(r"Assistant's answer:\n(.*)\n", first)
        good = bool(expected and answer and expected[1].strip() in answer[1])
        return Reply(content=f'{{"score": {1 if good else 0}, "reason": "checked the sum"}}')
    pair = _question(messages)
    assert pair is not None
    total = sum(pair)
    if first == SLOPPY and total % 2 == 1:
        total -= 1
    return Reply(content=f"The sum is {total}.", usage=(30, 8))


async def test_two_agents_compared_item_by_item(
    sqlite_manager: TraceManager, openai_server: OpenAITestServer
) -> None:
    openai_server.responder = respond
    base_url = openai_server.base_url

    def agent_with(prompt: str) -> Any:
        def factory() -> Any:
            llm = OpenAICompatibleLLM(model="loopback", base_url=base_url, api_key="k")
            return create_toolcall_agent(name="adder", tools=[], llm=llm, system_prompt=prompt)

        return factory

    dataset = Dataset("sums", manager=sqlite_manager)
    await dataset.add_many(
        [{"input": f"What is {i} + {i + 1}?", "expected_output": str(2 * i + 1)} for i in range(10)]
        + [{"input": f"What is {i} + {i}?", "expected_output": str(2 * i)} for i in range(10, 20)]
    )
    judge = LLMJudge("Is the sum right?", model="loopback-judge", base_url=base_url, api_key="k")
    evaluators = [Contains(), LatencyBudget(30.0), judge]
    base = await run_experiment(dataset, agent_with(CAREFUL), evaluators, name="careful")
    other = await run_experiment(dataset, agent_with(SLOPPY), evaluators, name="sloppy")

    assert base.summary["finished"] == other.summary["finished"] == 20
    assert base.mean("contains") == 1.0 and base.mean("judge") == 1.0
    assert other.mean("contains") == 0.5 and other.mean("judge") == 0.5
    assert base.summary["pass_rate"] == 1.0 and other.summary["pass_rate"] == 0.5
    assert base.summary["tokens"] == 20 * 38

    storage = sqlite_manager.storage
    assert {e.name for e in await storage.experiments(dataset="sums")} == {"careful", "sloppy"}
    for result in (base, other):
        tagged = TraceFilter(tags=[f"experiment:{result.experiment_id}"])
        assert await storage.count_traces(tagged) == 20
    judged = await storage.query_traces(TraceFilter(tags=["evaluator"]), limit=100)
    assert len(judged) == 40  # the judge's calls are traces of their own...
    assert all(not any(t.startswith("experiment:") for t in j.tags) for j in judged)
    run_ids = {r["trace_id"] for r in base.items} | {r["trace_id"] for r in other.items}
    assert {j.metadata["evaluates_trace_id"] for j in judged} == run_ids  # ...naming their run

    compared = await compare_experiments(storage, base.experiment_id, other.experiment_id)
    rows = compared["items"]
    items = {i.item_id: i for i in await dataset.items()}
    regressions = [r for r in rows if r["regression"]]
    assert len(regressions) == 10 and rows[:10] == regressions  # regressions first
    for row in rows:
        odd = int(items[row["item_id"]].expected_output) % 2 == 1
        expected = -1.0 if odd else 0.0
        assert row["deltas"]["contains"] == expected
        assert row["deltas"]["judge"] == expected
        assert row["base"]["passed"] is True and row["other"]["passed"] is not odd
