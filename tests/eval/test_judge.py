"""The LLM judge's verdict parsing and its own trace, against the loopback OpenAI server."""

from __future__ import annotations

import pytest

from myagent.eval import LLMJudge, parse_verdict
from myagent.eval.judge import JudgeError
from myagent.trace import Trace, TraceFilter, TraceManager
from myagent.trace.storage.eval_rows import DatasetItem
from tests.support.openai_server import OpenAITestServer


def test_parse_verdict() -> None:
    assert parse_verdict('{"score": 0.7, "reason": "ok"}').value == 0.7
    assert parse_verdict('Sure! {"score": 1, "reason": "right"} Hope it helps').comment == "right"
    assert parse_verdict("I would give it 4 out of 5").value == 4.0
    assert parse_verdict('{"score": "good"}', ["good", "bad"]).value == "good"
    assert parse_verdict("The answer is BAD.", ["good", "bad"]).value == "bad"
    with pytest.raises(JudgeError, match="no score"):
        parse_verdict("no idea")


async def test_judge_call_is_its_own_trace(
    sqlite_manager: TraceManager, openai_server: OpenAITestServer
) -> None:
    openai_server.enqueue('{"score": 3, "reason": "over the top"}')
    judge = LLMJudge("Is it right?", model="judge-model", base_url=openai_server.base_url)
    run = Trace(input="2+2?", output="4", metadata={"experiment_id": "e", "item_id": "i"})
    result = await judge(DatasetItem(dataset="d", input="2+2?", expected_output="4"), run)
    assert result.value == 1.0  # clamped to [0, 1]
    prompt = openai_server.requests[0]["messages"][0]["content"]
    assert "Is it right?" in prompt and "2+2?" in prompt and "Assistant's answer:\n4" in prompt
    sqlite_manager.flush()
    [judged] = await sqlite_manager.storage.query_traces(TraceFilter(tags=["evaluator"]))
    assert judged.trace_id == result.metadata["judge_trace_id"]
    assert judged.metadata["evaluates_trace_id"] == run.trace_id
    assert judged.think_records[0].model == "judge-model" and judged.tokens_used == 15
