"""Manual tracing written with the earlier API: `manager.trace(name, request=, metadata=)`
and `manager.run(name, run_type, inputs=, parent_run_id=)` blocks, `run.outputs[...]`,
`run.token_usage`, `run.cost`, the module-level `trace`/`run` and the old decorators."""

from typing import Any

from myagent.trace import (
    RunType,
    TraceManager,
    TraceMetadata,
    run,
    trace,
    trace_agent,
    trace_agent_step,
    trace_run,
    trace_tool_call,
)


class Planner:
    name = "planner"
    current_step = 1

    @trace_agent_step(name="plan_step")
    async def step(self, goal: str) -> str:
        return f"plan for {goal}"


@trace_tool_call(name="fetch")
async def fetch(url: str) -> str:
    return f"<html>{url}</html>"


@trace_run(name="retrieve_docs", run_type=RunType.RETRIEVAL)
async def retrieve(query: str, k: int = 2) -> list[str]:
    return [f"doc-{i}:{query}" for i in range(k)]


@trace_agent(name="research_agent")
async def research(topic: str) -> str:
    return f"report on {topic}"


async def main(manager: TraceManager) -> dict[str, Any]:
    metadata = TraceMetadata(user_id="u1", session_id="manual-1", tags=["manual"], version="2")
    async with manager.trace(
        "manual pipeline", request="summarise the docs", metadata=metadata
    ) as t:
        async with manager.run("agent", RunType.AGENT, inputs={"goal": "summary"}) as agent_run:
            async with manager.run(
                "call_llm", RunType.LLM, inputs={"prompt": "hi"}, parent_run_id=agent_run.id
            ) as llm_run:
                llm_run.outputs["response"] = "hello"
                llm_run.token_usage = {
                    "prompt_tokens": 7,
                    "completion_tokens": 3,
                    "total_tokens": 10,
                }
                llm_run.cost = 0.002
            async with manager.run(
                "chain", RunType.CHAIN, {"step": 1}, None, note="extra"
            ) as chain:
                chain.outputs["done"] = True
            await retrieve("agents")
            await Planner().step("write")
            await fetch("https://example.org")
        agent_run.outputs["answer"] = "summary"
        t.output = "summary"
    old_dict = {
        "session_id": "manual-2",
        "user_id": "u2",
        "tags": ["dict"],
        "custom_fields": {"k": 1},
    }
    async with manager.trace("dict metadata", request="q", metadata=old_dict) as dict_trace:
        pass
    async with trace("module-level", request="q") as module_trace:
        async with await run("custom", RunType.CUSTOM, inputs={"a": 1}) as custom:
            custom.outputs["b"] = 2
    await research("tracing")
    return {"trace_id": t.id, "module_trace_id": module_trace.id, "dict_trace_id": dict_trace.id}
