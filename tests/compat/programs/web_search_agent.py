"""A web-search agent written the way the earlier myagent's Serper example was: trace
metadata on the agent, a ToolResult with `system`, then the traces exported to JSON, the
statistics printed and a summary report written, all with the old async API."""

import json
import os
from typing import Any, ClassVar

from myagent import create_react_agent
from myagent.tool.base_tool import BaseTool, ToolResult
from myagent.trace import TraceExporter, TraceMetadata, TraceQueryEngine, get_trace_manager

RESULTS = [
    {"title": "OpenAI announces o5", "link": "https://openai.example/o5"},
    {"title": "OpenAI DevDay recap", "link": "https://openai.example/devday"},
]


class SerperSearchTool(BaseTool):
    name: str = "serper_search"
    description: str = "Search the web with Serper and return the top results."
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "Search query"},
            "num_results": {"type": "integer", "default": 5},
        },
        "required": ["query"],
    }

    async def execute(self, query: str, num_results: int = 5) -> ToolResult:
        snippets = [f"{r['title']} - {r['link']}" for r in RESULTS[:num_results]]
        return ToolResult(
            output="\n".join(snippets),
            system=f"Found {len(snippets)} search results for query: '{query}'",
        )


def build_agent(session_id: str):
    metadata = TraceMetadata(
        user_id="demo_user",
        session_id=session_id,
        tags=["web_search", "serper", "demo"],
        environment="development",
        version="1.0.0",
        custom_fields={"search_engine": "serper", "language": "zh-CN"},
    )
    return create_react_agent(
        name="serper-search",
        tools=[SerperSearchTool()],
        system_prompt="You are a research assistant.",
        max_steps=5,
        enable_tracing=True,
        trace_metadata=metadata,
    )


async def save_traces_to_json(filename: str) -> dict[str, Any]:
    trace_manager = get_trace_manager()
    query_engine = TraceQueryEngine(trace_manager.storage)
    exporter = TraceExporter(query_engine)

    json_data = await exporter.export_traces_to_json()
    os.makedirs("./workdir/traces", exist_ok=True)
    with open(f"./workdir/traces/{filename}", "w", encoding="utf-8") as f:
        f.write(json_data)

    stats = await query_engine.get_trace_statistics()
    print(f"  - Total traces: {stats['total_traces']}")
    print(f"  - Average duration: {stats['avg_duration_ms']:.2f}ms")
    print(f"  - Error rate: {stats['error_rate']:.2%}")

    summary = await exporter.export_trace_summary()
    with open("./workdir/traces/summary.md", "w", encoding="utf-8") as f:
        f.write(summary)
    return {"stats": dict(stats), "export": json.loads(json_data), "summary": summary}


async def main(question: str, session_id: str = "search-session-1") -> dict[str, Any]:
    agent = build_agent(session_id)
    summary = await agent.run(question)
    print(summary)
    saved = await save_traces_to_json("web_search_traces.json")
    return {"answer": summary, **saved}
